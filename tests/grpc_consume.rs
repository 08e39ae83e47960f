//! The gRPC consumer calls (ReceiveMessage, AckMessage, ChangeInvisibleDuration,
//! ForwardMessageToDeadLetterQueue, QueryAssignment) against a broker started in this process, over its
//! gRPC port with rmq-proto's tonic client; messages are sent as remoting SEND_MESSAGE requests (through
//! a bridge of the test's own), so what a remoting producer stores is what a gRPC consumer gets.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, CreateTopicRequestHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    SendMessageRequestHeader,
};
use rmq_codec::message::properties;
use rmq_proto::v2::messaging_service_client::MessagingServiceClient;
use rmq_proto::v2::{self, receive_message_response::Content, Code};
use rmqd::broker::Broker;
use rmqd::grpc::bridge::Bridge;
use rmqd::grpc::consumer::Caller;
use rmqd::launch::Running;
use tonic::transport::Channel;

const GROUP: &str = "GrpcConsumeGroup";
const STOP_WAIT: Duration = Duration::from_secs(5);

struct Fixture {
    running: Running,
    broker: Arc<Broker>,
    bridge: Arc<Bridge>,
    grpc: MessagingServiceClient<Channel>,
    _dir: tempfile::TempDir,
}

/// A request as the clients send it: with `x-mq-client-id` and a deadline.
fn req<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("x-mq-client-id", "grpc-consume-test@1".parse().expect("id"));
    metadata.insert("x-mq-language", "JAVA".parse().expect("language"));
    metadata.insert("x-mq-client-version", "5.2.0".parse().expect("version"));
    request.set_timeout(Duration::from_secs(30));
    request
}

impl Fixture {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let running = Running::broker(common::in_process_broker_config(&dir))
            .await
            .expect("starts");
        let broker = running.broker.clone().expect("a broker");
        let bridge = Bridge::new(broker.clone());
        let port = running.grpc_port.expect("the gRPC endpoint is on");
        let grpc = MessagingServiceClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .expect("connects");
        Fixture {
            running,
            broker,
            bridge,
            grpc,
            _dir: dir,
        }
    }

    fn caller(&self) -> Caller<'_> {
        Caller {
            broker: &self.broker,
            bridge: &self.bridge,
            client_id: "grpc-consume-test",
            peer: SocketAddr::from(([127, 0, 0, 1], 45_000)),
            broker_name: &self.broker.config.broker_name,
            client_version: "",
        }
    }

    async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
        self.caller()
            .call(cmd)
            .await
            .expect("the broker answers")
            .cmd
    }

    async fn create_topic(&self, topic: &str) {
        let header = CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            ..CreateTopicRequestHeader::default()
        };
        let cmd =
            RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, header.to_ext_fields());
        assert_eq!(self.call(cmd).await.code, 0);
    }

    /// A SEND_MESSAGE (V1 header) of `body` with `tag` and the UNIQ_KEY `id`.
    async fn send(&self, topic: &str, body: &str, tag: &str, id: &str) {
        let props = properties::encode(&[
            ("TAGS".to_string(), tag.to_string()),
            ("UNIQ_KEY".to_string(), id.to_string()),
            ("color".to_string(), "red".to_string()),
        ]);
        let header = SendMessageRequestHeader {
            producer_group: "P".into(),
            topic: topic.into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            properties: Some(props),
            ..SendMessageRequestHeader::default()
        };
        let cmd = RemotingCommand::new_request(RequestCode::SendMessage, header.to_ext_fields())
            .with_body(body.to_string());
        let resp = self.call(cmd).await;
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
    }

    async fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        let header = GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id,
            committed: None,
        };
        let resp = self
            .call(RemotingCommand::new_request(
                RequestCode::GetMaxOffset,
                header.to_ext_fields(),
            ))
            .await;
        OffsetResponseHeader::decode(&resp.ext_fields)
            .expect("offset")
            .offset
    }
}

fn resource(name: &str) -> Option<v2::Resource> {
    Some(v2::Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

fn secs(s: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: s,
        nanos: 0,
    })
}

fn receive_request(topic: &str, filter: Option<v2::FilterExpression>) -> v2::ReceiveMessageRequest {
    v2::ReceiveMessageRequest {
        group: resource(GROUP),
        message_queue: Some(v2::MessageQueue {
            topic: resource(topic),
            id: -1,
            ..Default::default()
        }),
        filter_expression: filter,
        batch_size: 32,
        invisible_duration: secs(10),
        auto_renew: false,
        long_polling_timeout: secs(5),
        attempt_id: None,
    }
}

/// One ReceiveMessage: the stream's status, its messages, and whether it ended with a delivery time.
async fn receive(f: &Fixture, req: v2::ReceiveMessageRequest) -> (v2::Status, Vec<v2::Message>) {
    let mut stream = f
        .grpc
        .clone()
        .receive_message(self::req(req))
        .await
        .expect("a stream")
        .into_inner();
    let mut items = Vec::new();
    while let Some(item) = stream.message().await.expect("a stream item") {
        items.push(item);
    }
    let mut status = None;
    let mut messages = Vec::new();
    let mut delivery_last = false;
    for item in items {
        delivery_last = false;
        match item.content {
            Some(Content::Status(s)) => status = Some(s),
            Some(Content::Message(m)) => messages.push(m),
            Some(Content::DeliveryTimestamp(_)) => delivery_last = true,
            None => panic!("an empty stream item"),
        }
    }
    assert!(delivery_last, "the stream ends with the delivery timestamp");
    (status.expect("a status"), messages)
}

fn sys(m: &v2::Message) -> &v2::SystemProperties {
    m.system_properties.as_ref().expect("system properties")
}

fn handle(m: &v2::Message) -> String {
    sys(m).receipt_handle.clone().expect("a receipt handle")
}

fn body(m: &v2::Message) -> &str {
    std::str::from_utf8(&m.body).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_ack_change_invisible_duration_and_forward_to_dlq() {
    let f = Fixture::start().await;
    f.create_topic("GrpcT").await;
    for (i, id) in ["M1", "M2", "M3"].iter().enumerate() {
        f.send("GrpcT", &format!("body-{i}"), "a", id).await;
    }

    let t0 = Instant::now();
    let (status, mut got) = receive(&f, receive_request("GrpcT", None)).await;
    assert_eq!(status.code, Code::Ok as i32, "{}", status.message);
    got.sort_by(|a, b| sys(a).message_id.cmp(&sys(b).message_id));
    let ids: Vec<&str> = got.iter().map(|m| sys(m).message_id.as_str()).collect();
    assert_eq!(ids, ["M1", "M2", "M3"]);
    assert_eq!(body(&got[0]), "body-0");
    assert_eq!(sys(&got[0]).tag.as_deref(), Some("a"));
    assert_eq!(sys(&got[0]).delivery_attempt, Some(1));
    assert_eq!(
        got[0].user_properties.get("color").map(String::as_str),
        Some("red")
    );
    assert_eq!(
        got[0].topic.as_ref().map(|t| t.name.as_str()),
        Some("GrpcT")
    );

    // Ack M1.
    let ack = |m: &v2::Message| v2::AckMessageRequest {
        group: resource(GROUP),
        topic: resource("GrpcT"),
        entries: vec![v2::AckMessageEntry {
            message_id: sys(m).message_id.clone(),
            receipt_handle: handle(m),
            lite_topic: None,
        }],
    };
    let acked = f
        .grpc
        .clone()
        .ack_message(req(ack(&got[0])))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(acked.status.map(|s| s.code), Some(Code::Ok as i32));
    assert_eq!(acked.entries.len(), 1);

    // M3 to the DLQ.
    let forwarded = f
        .grpc
        .clone()
        .forward_message_to_dead_letter_queue(req(v2::ForwardMessageToDeadLetterQueueRequest {
            group: resource(GROUP),
            topic: resource("GrpcT"),
            receipt_handle: handle(&got[2]),
            message_id: "M3".into(),
            delivery_attempt: 1,
            max_delivery_attempts: 1,
            lite_topic: None,
        }))
        .await
        .expect("answer")
        .into_inner();
    let status = forwarded.status.expect("status");
    assert_eq!(status.code, Code::Ok as i32, "{}", status.message);
    assert_eq!(f.max_offset(&format!("%DLQ%{GROUP}"), 0).await, 1);

    // M2 visible again at once: it comes back with a second delivery attempt.
    let changed = f
        .grpc
        .clone()
        .change_invisible_duration(req(v2::ChangeInvisibleDurationRequest {
            group: resource(GROUP),
            topic: resource("GrpcT"),
            receipt_handle: handle(&got[1]),
            invisible_duration: secs(0),
            message_id: "M2".into(),
        }))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(changed.status.map(|s| s.code), Some(Code::Ok as i32));
    assert_ne!(changed.receipt_handle, handle(&got[1]));
    let mut again = Vec::new();
    for _ in 0..6 {
        let (_, messages) = receive(&f, receive_request("GrpcT", None)).await;
        again.extend(messages);
        if !again.is_empty() {
            break;
        }
    }
    let ids: Vec<&str> = again.iter().map(|m| sys(m).message_id.as_str()).collect();
    assert_eq!(ids, ["M2"]);
    assert_eq!(sys(&again[0]).delivery_attempt, Some(2));
    assert_eq!(body(&again[0]), "body-1");
    let acked = f
        .grpc
        .clone()
        .ack_message(req(ack(&again[0])))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(acked.status.map(|s| s.code), Some(Code::Ok as i32));

    // Past the first receive's 10 s invisible time nothing comes back: all three were settled.
    while t0.elapsed() < Duration::from_secs(12) {
        let (status, messages) = receive(&f, receive_request("GrpcT", None)).await;
        assert!(messages.is_empty(), "redelivered: {messages:?}");
        assert_eq!(status.code, Code::MessageNotFound as i32);
    }
    f.running.stop(STOP_WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_filters_and_assignments() {
    let f = Fixture::start().await;
    f.create_topic("GrpcTags").await;
    f.send("GrpcTags", "x", "a", "A1").await;
    f.send("GrpcTags", "y", "b", "B1").await;
    let only_a = v2::FilterExpression {
        r#type: v2::FilterType::Tag as i32,
        expression: "a".into(),
    };
    let (status, got) = receive(&f, receive_request("GrpcTags", Some(only_a))).await;
    assert_eq!(status.code, Code::Ok as i32);
    let ids: Vec<&str> = got.iter().map(|m| sys(m).message_id.as_str()).collect();
    assert_eq!(ids, ["A1"]);

    let assigned = assignment(&f, "GrpcTags").await;
    assert_eq!(assigned.status.map(|s| s.code), Some(Code::Ok as i32));
    let queues: Vec<(i32, String)> = assigned
        .assignments
        .iter()
        .filter_map(|a| a.message_queue.as_ref())
        .map(|q| (q.id, q.broker.clone().unwrap_or_default().name))
        .collect();
    assert_eq!(queues, [(-1, f.broker.config.broker_name.clone())]);

    let missing = assignment(&f, "NoSuchTopic").await;
    assert_eq!(
        missing.status.map(|s| s.code),
        Some(Code::TopicNotFound as i32)
    );
    let (status, got) = receive(&f, receive_request("NoSuchTopic", None)).await;
    assert_eq!(
        status.code,
        Code::TopicNotFound as i32,
        "{}",
        status.message
    );
    assert!(got.is_empty());
    f.running.stop(STOP_WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_the_proxys_codes() {
    let f = Fixture::start().await;
    f.create_topic("GrpcRefused").await;

    let mut no_group = receive_request("GrpcRefused", None);
    no_group.group = None;
    let (status, _) = receive(&f, no_group).await;
    assert_eq!(status.code, Code::IllegalConsumerGroup as i32);

    let mut short = receive_request("GrpcRefused", None);
    short.invisible_duration = secs(1);
    let (status, _) = receive(&f, short).await;
    assert_eq!(status.code, Code::IllegalInvisibleTime as i32);

    let garbled = f
        .grpc
        .clone()
        .ack_message(req(v2::AckMessageRequest {
            group: resource(GROUP),
            topic: resource("GrpcRefused"),
            entries: vec![v2::AckMessageEntry {
                message_id: "X".into(),
                receipt_handle: "not a handle".into(),
                lite_topic: None,
            }],
        }))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(
        garbled.status.map(|s| s.code),
        Some(Code::InvalidReceiptHandle as i32)
    );
    assert_eq!(
        garbled.entries[0].status.as_ref().map(|s| s.code),
        Some(Code::InvalidReceiptHandle as i32)
    );

    let empty = f
        .grpc
        .clone()
        .ack_message(req(v2::AckMessageRequest {
            group: resource(GROUP),
            topic: resource("GrpcRefused"),
            entries: Vec::new(),
        }))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(
        empty.status.map(|s| s.code),
        Some(Code::InternalServerError as i32)
    );

    let expired = f
        .grpc
        .clone()
        .change_invisible_duration(req(v2::ChangeInvisibleDurationRequest {
            group: resource(GROUP),
            topic: resource("GrpcRefused"),
            receipt_handle: "0 1000 1000 0 0 b 0 0 0".into(),
            invisible_duration: secs(10),
            message_id: "X".into(),
        }))
        .await
        .expect("answer")
        .into_inner();
    let status = expired.status.expect("status");
    assert_eq!(
        (status.code, status.message.as_str()),
        (
            Code::InvalidReceiptHandle as i32,
            "receipt handle is expired"
        )
    );

    let no_offset = f
        .grpc
        .clone()
        .forward_message_to_dead_letter_queue(req(v2::ForwardMessageToDeadLetterQueueRequest {
            group: resource(GROUP),
            topic: resource("GrpcRefused"),
            receipt_handle: "0 1000 1000 0 0 b 0 0".into(),
            message_id: "X".into(),
            delivery_attempt: 1,
            max_delivery_attempts: 1,
            lite_topic: None,
        }))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(
        no_offset.status.map(|s| s.code),
        Some(Code::InvalidReceiptHandle as i32)
    );
    f.running.stop(STOP_WAIT).await;
}

/// QueryAssignment of `topic` for the test group.
async fn assignment(f: &Fixture, topic: &str) -> v2::QueryAssignmentResponse {
    f.grpc
        .clone()
        .query_assignment(req(v2::QueryAssignmentRequest {
            topic: resource(topic),
            group: resource(GROUP),
            endpoints: None,
        }))
        .await
        .expect("answer")
        .into_inner()
}
