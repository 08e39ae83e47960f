//! The gRPC endpoint (`rmqd::grpc`) of an in-process broker on ephemeral ports, driven with rmq-proto's
//! tonic client: the calls a 5.x producer makes (Telemetry settings, QueryRoute, Heartbeat, SendMessage,
//! NotifyClientTermination), and the sent message read back from the store.

mod common;

use std::time::Duration;

use rmq_codec::message::properties as prop;
use rmq_codec::message::StoredMessage;
use rmq_proto::v2::messaging_service_client::MessagingServiceClient;
use rmq_proto::v2::settings::PubSub;
use rmq_proto::v2::telemetry_command::Command;
use rmq_proto::v2::*;
use rmqd::config::NamesrvConfig;
use rmqd::launch::Running;
use tonic::transport::Channel;

const TOPIC: &str = "GrpcTopic";
const CLIENT_ID: &str = "test-host@1@1";

async fn start(dir: &tempfile::TempDir) -> Running {
    let config = common::in_process_broker_config(dir);
    let namesrv = NamesrvConfig {
        listen_port: 0,
        kv_config_path: dir.path().join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    let running = Running::standalone(config, namesrv).await.unwrap();
    let broker = running.broker.clone().unwrap();
    broker
        .topics
        .upsert(rmqd::broker::topics::topic_config(TOPIC, 2, 2, 6));
    running
}

async fn connect(running: &Running) -> MessagingServiceClient<Channel> {
    let port = running.grpc_port.expect("the gRPC endpoint is on");
    MessagingServiceClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// A request as the clients send it: with `x-mq-client-id` and `x-mq-language`.
fn req<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-mq-client-id", CLIENT_ID.parse().unwrap());
    request
        .metadata_mut()
        .insert("x-mq-language", "JAVA".parse().unwrap());
    request
}

fn resource(name: &str) -> Resource {
    Resource {
        resource_namespace: String::new(),
        name: name.into(),
    }
}

fn endpoints(port: u16) -> Endpoints {
    Endpoints {
        scheme: AddressScheme::IPv4 as i32,
        addresses: vec![Address {
            host: "127.0.0.1".into(),
            port: i32::from(port),
        }],
    }
}

fn code(status: Option<Status>) -> Code {
    Code::try_from(status.unwrap().code).unwrap()
}

fn message(id: &str, sys: SystemProperties) -> Message {
    Message {
        topic: Some(resource(TOPIC)),
        user_properties: [("color".to_string(), "red".to_string())].into(),
        system_properties: Some(SystemProperties {
            message_id: id.into(),
            tag: Some("TagA".into()),
            message_type: MessageType::Normal as i32,
            ..sys
        }),
        body: format!("body of {id}").into_bytes(),
    }
}

/// Opens Telemetry, reports producer settings, and returns the server's answer (keeping the stream open).
async fn report_producer_settings(
    client: &mut MessagingServiceClient<Channel>,
    port: u16,
) -> (
    TelemetryCommand,
    tokio::sync::mpsc::Sender<TelemetryCommand>,
    tonic::Streaming<TelemetryCommand>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        access_point: Some(endpoints(port)),
        pub_sub: Some(PubSub::Publishing(Publishing {
            topics: vec![resource(TOPIC)],
            ..Default::default()
        })),
        ..Default::default()
    };
    tx.send(TelemetryCommand {
        status: None,
        command: Some(Command::Settings(settings)),
    })
    .await
    .unwrap();
    let outbound = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut inbound = client.telemetry(req(outbound)).await.unwrap().into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("settings answered")
        .unwrap()
        .unwrap();
    (answer, tx, inbound)
}

fn stored_messages(running: &Running) -> Vec<StoredMessage> {
    let broker = running.broker.clone().unwrap();
    (0..2)
        .flat_map(|queue| {
            broker
                .store
                .get_messages(TOPIC, queue, 0, 32, 1 << 20, &|_| true)
                .messages
        })
        .map(|record| StoredMessage::decode(&record).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_routes_registers_and_sends_a_message_the_store_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(&dir).await;
    let port = running.grpc_port.unwrap();
    let mut client = connect(&running).await;

    let (answer, _keep_open, _inbound) = report_producer_settings(&mut client, port).await;
    assert_eq!(code(answer.status), Code::Ok);
    let Some(Command::Settings(server)) = answer.command else {
        panic!("the answer to settings is settings");
    };
    let Some(PubSub::Publishing(publishing)) = server.pub_sub else {
        panic!("publishing settings come back");
    };
    assert_eq!(publishing.max_body_size, 4 << 20);
    assert!(publishing.validate_message_type);
    assert_eq!(server.backoff_policy.unwrap().max_attempts, 3);

    let route = client
        .query_route(req(QueryRouteRequest {
            topic: Some(resource(TOPIC)),
            endpoints: Some(endpoints(port)),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(route.status), Code::Ok);
    assert_eq!(route.message_queues.len(), 2);
    for (i, queue) in route.message_queues.iter().enumerate() {
        assert_eq!(queue.id, i as i32);
        assert_eq!(queue.permission, Permission::ReadWrite as i32);
        assert_eq!(queue.accept_message_types, vec![MessageType::Normal as i32]);
        let broker = queue.broker.clone().unwrap();
        assert_eq!(broker.endpoints, Some(endpoints(port)));
    }

    let heartbeat = client
        .heartbeat(req(HeartbeatRequest {
            group: None,
            client_type: ClientType::Producer as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(heartbeat.status), Code::Ok);

    let sent = client
        .send_message(req(SendMessageRequest {
            messages: vec![message("MSG-1", SystemProperties::default())],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(sent.status), Code::Ok);
    assert_eq!(sent.entries.len(), 1);
    assert_eq!(sent.entries[0].message_id, "MSG-1");
    assert_eq!(sent.entries[0].offset, 0);

    let stored = stored_messages(&running);
    assert_eq!(stored.len(), 1);
    let kept = &stored[0];
    assert_eq!(&kept.body[..], b"body of MSG-1");
    assert_eq!(prop::get(&kept.properties, prop::UNIQ_KEY), Some("MSG-1"));
    assert_eq!(prop::get(&kept.properties, prop::TAGS), Some("TagA"));
    assert_eq!(prop::get(&kept.properties, "color"), Some("red"));
    assert_eq!(
        prop::get(&kept.properties, prop::PRODUCER_GROUP),
        Some(TOPIC)
    );

    let done = client
        .notify_client_termination(req(NotifyClientTerminationRequest { group: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(done.status), Code::Ok);
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_the_proxys_codes() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(&dir).await;
    let mut client = connect(&running).await;

    let missing = client
        .query_route(req(QueryRouteRequest {
            topic: Some(resource("NoSuchTopic")),
            endpoints: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(missing.status), Code::TopicNotFound);

    let anonymous = client
        .query_route(tonic::Request::new(QueryRouteRequest {
            topic: Some(resource(TOPIC)),
            endpoints: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(anonymous.status), Code::ClientIdRequired);

    let fifo_on_normal = client
        .send_message(req(SendMessageRequest {
            messages: vec![message(
                "MSG-F",
                SystemProperties {
                    message_group: Some("g".into()),
                    ..Default::default()
                },
            )],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        code(fifo_on_normal.status),
        Code::MessagePropertyConflictWithType
    );

    let mut too_big = message("MSG-B", SystemProperties::default());
    too_big.body = vec![b'x'; (4 << 20) + 1];
    let refused = client
        .send_message(req(SendMessageRequest {
            messages: vec![too_big],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(refused.status), Code::MessageBodyTooLarge);

    let heartbeat_without_settings = client
        .heartbeat(req(HeartbeatRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        code(heartbeat_without_settings.status),
        Code::UnrecognizedClientType
    );
    assert!(
        stored_messages(&running).is_empty(),
        "nothing refused was stored"
    );
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_transaction_message_reaches_its_topic() {
    const TX_TOPIC: &str = "GrpcTxTopic";
    let dir = tempfile::tempdir().unwrap();
    let running = start(&dir).await;
    let broker = running.broker.clone().unwrap();
    let mut config = rmqd::broker::topics::topic_config(TX_TOPIC, 1, 1, 6);
    config
        .attributes
        .insert("message.type".into(), "TRANSACTION".into());
    broker.topics.upsert(config);
    let mut client = connect(&running).await;

    let route = client
        .query_route(req(QueryRouteRequest {
            topic: Some(resource(TX_TOPIC)),
            endpoints: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        route.message_queues[0].accept_message_types,
        vec![MessageType::Transaction as i32]
    );

    let mut half = message(
        "TX-1",
        SystemProperties {
            message_type: MessageType::Transaction as i32,
            ..Default::default()
        },
    );
    half.topic = Some(resource(TX_TOPIC));
    half.system_properties.as_mut().unwrap().message_type = MessageType::Transaction as i32;
    let sent = client
        .send_message(req(SendMessageRequest {
            messages: vec![half],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(sent.status), Code::Ok);
    let transaction_id = sent.entries[0].transaction_id.clone();
    assert!(!transaction_id.is_empty());
    let in_topic = || {
        broker
            .store
            .get_messages(TX_TOPIC, 0, 0, 32, 1 << 20, &|_| true)
            .messages
            .len()
    };
    assert_eq!(in_topic(), 0, "a half message is not in its topic");

    let ended = client
        .end_transaction(req(EndTransactionRequest {
            topic: Some(resource(TX_TOPIC)),
            message_id: "TX-1".into(),
            transaction_id: transaction_id.clone(),
            resolution: TransactionResolution::Commit as i32,
            source: TransactionSource::SourceClient as i32,
            trace_context: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(ended.status), Code::Ok);
    assert_eq!(in_topic(), 1, "the commit put the message into its topic");

    let again = client
        .end_transaction(req(EndTransactionRequest {
            topic: Some(resource(TX_TOPIC)),
            message_id: "TX-1".into(),
            transaction_id,
            resolution: TransactionResolution::Commit as i32,
            source: TransactionSource::SourceClient as i32,
            trace_context: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(again.status.clone()), Code::InternalServerError);
    assert_eq!(
        again.status.unwrap().message,
        "cannot found transaction data"
    );
    running.stop(Duration::from_secs(5)).await;
}
