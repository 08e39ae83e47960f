//! `rmqd bench produce|consume --grpc HOST:PORT`: the load of the 5.x gRPC clients (rocketmq-clients) against
//! any `apache.rocketmq.v2.MessagingService` endpoint, rmqd's or Java's proxy.
//!
//! Each worker opens one HTTP/2 channel and, as the official clients do before their first request, a
//! Telemetry stream carrying its `Settings` (Java's proxy refuses ReceiveMessage from a client whose settings
//! it has not seen). Sends are SendMessage of `--batch` NORMAL messages; receives are ReceiveMessage of up
//! to 32 messages followed by one AckMessage for all of them, the SimpleConsumer's loop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context};
use rmq_proto::v2::messaging_service_client::MessagingServiceClient;
use rmq_proto::v2::{
    receive_message_response, settings, telemetry_command, AckMessageEntry, AckMessageRequest,
    ClientType, Code, Encoding, FilterExpression, FilterType, Message, MessageQueue, MessageType,
    Publishing, QueryRouteRequest, ReceiveMessageRequest, Resource, SendMessageRequest, Settings,
    Subscription, SubscriptionEntry, SystemProperties, TelemetryCommand,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::report::{Recorder, Stats};

/// Messages asked for per ReceiveMessage (the SimpleConsumer's usual `maxMessageNum`).
const RECEIVE_BATCH: i32 = 32;
/// How long a received message stays invisible before it is delivered again unacknowledged.
const INVISIBLE: Duration = Duration::from_secs(30);
/// Long-polling time of a ReceiveMessage that finds nothing.
const LONG_POLL: Duration = Duration::from_secs(5);

/// One gRPC client identity: a channel plus the metadata every request of the official clients carries.
#[derive(Clone)]
pub struct GrpcClient {
    service: MessagingServiceClient<Channel>,
    client_id: Arc<str>,
}

impl GrpcClient {
    pub async fn connect(endpoint: &str, worker: usize) -> anyhow::Result<Self> {
        let channel = Channel::from_shared(format!("http://{endpoint}"))
            .context("bad --grpc endpoint")?
            .connect()
            .await
            .with_context(|| format!("cannot connect to gRPC endpoint {endpoint}"))?;
        let client_id = format!("rmqd-bench@{}#{worker}", std::process::id());
        Ok(GrpcClient {
            service: MessagingServiceClient::new(channel),
            client_id: client_id.into(),
        })
    }

    /// `message` with the headers of rocketmq-clients' Java client (x-mq-client-id is what the server keys
    /// settings and consumers by).
    fn request<T>(&self, message: T, timeout: Duration) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(timeout);
        let headers = request.metadata_mut();
        if let Ok(id) = self.client_id.parse() {
            headers.insert("x-mq-client-id", id);
        }
        headers.insert(
            "x-mq-language",
            tonic::metadata::MetadataValue::from_static("RUST"),
        );
        headers.insert(
            "x-mq-protocol",
            tonic::metadata::MetadataValue::from_static("v2"),
        );
        headers.insert(
            "x-mq-client-version",
            tonic::metadata::MetadataValue::from_static("5.0.0"),
        );
        request
    }

    /// Opens the Telemetry stream with `settings` and waits for the server's answer. The stream stays open
    /// as long as the returned sender lives.
    async fn announce(&self, settings: Settings) -> anyhow::Result<mpsc::Sender<TelemetryCommand>> {
        let (tx, rx) = mpsc::channel(4);
        let first = TelemetryCommand {
            status: None,
            command: Some(telemetry_command::Command::Settings(settings)),
        };
        tx.send(first)
            .await
            .map_err(|_| anyhow!("telemetry stream closed"))?;
        let request = self.request(ReceiverStream::new(rx), Duration::from_secs(3600));
        let mut replies = self.service.clone().telemetry(request).await?.into_inner();
        match replies.message().await? {
            Some(_) => {}
            None => bail!("the server closed the telemetry stream without answering the settings"),
        }
        // Later commands from the server (thread-stack requests and the like) are read and ignored.
        tokio::spawn(async move { while let Ok(Some(_)) = replies.message().await {} });
        Ok(tx)
    }

    async fn readable_queues(&self, topic: &str) -> anyhow::Result<Vec<MessageQueue>> {
        let query = QueryRouteRequest {
            topic: Some(resource(topic)),
            endpoints: None,
        };
        let answer = self
            .service
            .clone()
            .query_route(self.request(query, Duration::from_secs(10)))
            .await?
            .into_inner();
        check(answer.status.as_ref())?;
        let queues: Vec<MessageQueue> = answer
            .message_queues
            .into_iter()
            .filter(|q| readable(q.permission))
            .collect();
        if queues.is_empty() {
            bail!("topic {topic} has no readable queue");
        }
        Ok(queues)
    }
}

fn resource(name: &str) -> Resource {
    Resource {
        resource_namespace: String::new(),
        name: name.to_string(),
    }
}

fn readable(permission: i32) -> bool {
    use rmq_proto::v2::Permission;
    permission == Permission::Read as i32 || permission == Permission::ReadWrite as i32
}

/// An error unless `status` says OK (absent counts as OK, as proto3 default values are not sent).
fn check(status: Option<&rmq_proto::v2::Status>) -> anyhow::Result<()> {
    match status {
        Some(s) if s.code != Code::Ok as i32 => bail!("status {}: {}", s.code, s.message),
        _ => Ok(()),
    }
}

fn now_timestamp() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

/// What one sending worker does.
pub struct SendPlan {
    pub endpoint: String,
    pub worker: usize,
    pub topic: String,
    pub body: Vec<u8>,
    pub batch: usize,
    /// Requests in flight on the worker's channel.
    pub inflight: usize,
    pub deadline: Instant,
}

/// Sends until the deadline; every request's round trip goes into the send histogram.
pub async fn produce(plan: SendPlan, stats: Arc<Stats>) -> anyhow::Result<()> {
    let client = GrpcClient::connect(&plan.endpoint, plan.worker).await?;
    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(settings::PubSub::Publishing(Publishing {
            topics: vec![resource(&plan.topic)],
            max_body_size: 4 << 20,
            validate_message_type: true,
        })),
        ..Settings::default()
    };
    let _telemetry = client.announce(settings).await?;
    let plan = Arc::new(plan);
    let sequence = Arc::new(AtomicU64::new(0));
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..plan.inflight.max(1) {
        let lane = SendLane {
            client: client.clone(),
            plan: plan.clone(),
            sequence: sequence.clone(),
            recorder: stats.send.recorder(),
        };
        lanes.spawn(lane.run(stats.clone()));
    }
    while lanes.join_next().await.is_some() {}
    Ok(())
}

/// One request at a time on a shared channel.
struct SendLane {
    client: GrpcClient,
    plan: Arc<SendPlan>,
    sequence: Arc<AtomicU64>,
    recorder: Recorder,
}

impl SendLane {
    async fn run(self, stats: Arc<Stats>) {
        let bytes = (self.plan.body.len() * self.plan.batch) as u64;
        while Instant::now() < self.plan.deadline {
            let messages = (0..self.plan.batch).map(|_| self.message()).collect();
            let request = self
                .client
                .request(SendMessageRequest { messages }, Duration::from_secs(10));
            let started = Instant::now();
            let outcome = self.client.service.clone().send_message(request).await;
            let took = started.elapsed();
            match outcome.map(|r| r.into_inner()) {
                Ok(answer) => match check(answer.status.as_ref()) {
                    Ok(()) => {
                        self.recorder
                            .lock()
                            .saturating_record((took.as_micros() as u64).max(1));
                        stats.send.success(self.plan.batch as u64, bytes);
                    }
                    Err(error) => stats.send.failure(&error.to_string(), 1),
                },
                Err(status) => stats.send.failure(&format!("grpc {:?}", status.code()), 1),
            }
        }
    }

    fn message(&self) -> Message {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        Message {
            topic: Some(resource(&self.plan.topic)),
            user_properties: Default::default(),
            system_properties: Some(SystemProperties {
                message_id: message_id(self.plan.worker, n),
                body_encoding: Encoding::Identity as i32,
                message_type: MessageType::Normal as i32,
                born_timestamp: Some(now_timestamp()),
                born_host: "127.0.0.1".to_string(),
                ..SystemProperties::default()
            }),
            body: self.plan.body.clone(),
        }
    }
}

/// A 34-hex-digit id shaped as rocketmq-clients' MessageIdCodec makes them (version 01, host, process, time,
/// sequence), unique per process, worker and message.
fn message_id(worker: usize, sequence: u64) -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "01{:012X}{:04X}{:08X}{:08X}",
        0x7f00_0001_0000_u64 | worker as u64 & 0xFFFF,
        std::process::id() & 0xFFFF,
        secs & 0xFFFF_FFFF,
        sequence & 0xFFFF_FFFF
    )
}

/// What one receiving worker does.
pub struct ReceivePlan {
    pub endpoint: String,
    pub worker: usize,
    pub topic: String,
    pub group: String,
    pub deadline: Instant,
}

/// Receives and acknowledges until the deadline; each ReceiveMessage round trip goes into the receive
/// histogram, each acknowledged message into the receive counters.
pub async fn consume(plan: ReceivePlan, stats: Arc<Stats>) -> anyhow::Result<()> {
    let client = GrpcClient::connect(&plan.endpoint, plan.worker).await?;
    let subscription = Subscription {
        group: Some(resource(&plan.group)),
        subscriptions: vec![SubscriptionEntry {
            topic: Some(resource(&plan.topic)),
            expression: Some(every_tag()),
        }],
        fifo: Some(false),
        receive_batch_size: Some(RECEIVE_BATCH),
        long_polling_timeout: prost_types::Duration::try_from(LONG_POLL).ok(),
        ..Subscription::default()
    };
    let settings = Settings {
        client_type: Some(ClientType::SimpleConsumer as i32),
        pub_sub: Some(settings::PubSub::Subscription(subscription)),
        ..Settings::default()
    };
    let _telemetry = client.announce(settings).await?;
    let queues = client.readable_queues(&plan.topic).await?;
    let recorder = stats.recv.recorder();
    let mut turn = plan.worker;
    while Instant::now() < plan.deadline {
        let queue = queues[turn % queues.len()].clone();
        turn += 1;
        let started = Instant::now();
        match receive(&client, &plan, queue).await {
            Ok(received) => {
                recorder
                    .lock()
                    .saturating_record((started.elapsed().as_micros() as u64).max(1));
                if received.is_empty() {
                    continue;
                }
                let bytes = received.iter().map(|m| m.body.len() as u64).sum();
                let count = received.len() as u64;
                match ack(&client, &plan, received).await {
                    Ok(()) => stats.recv.success(count, bytes),
                    Err(error) => stats.recv.failure(&format!("ack: {error}"), 1),
                }
            }
            Err(error) => stats.recv.failure(&format!("receive: {error}"), 1),
        }
    }
    Ok(())
}

fn every_tag() -> FilterExpression {
    FilterExpression {
        r#type: FilterType::Tag as i32,
        expression: "*".to_string(),
    }
}

/// One ReceiveMessage: the messages of the stream (an empty list when the long poll found none).
async fn receive(
    client: &GrpcClient,
    plan: &ReceivePlan,
    queue: MessageQueue,
) -> anyhow::Result<Vec<Message>> {
    let request = ReceiveMessageRequest {
        group: Some(resource(&plan.group)),
        message_queue: Some(queue),
        filter_expression: Some(every_tag()),
        batch_size: RECEIVE_BATCH,
        invisible_duration: prost_types::Duration::try_from(INVISIBLE).ok(),
        auto_renew: false,
        long_polling_timeout: prost_types::Duration::try_from(LONG_POLL).ok(),
        attempt_id: None,
    };
    let request = client.request(request, LONG_POLL + Duration::from_secs(10));
    let mut stream = client
        .service
        .clone()
        .receive_message(request)
        .await?
        .into_inner();
    let mut messages = Vec::new();
    while let Some(item) = stream.message().await? {
        match item.content {
            Some(receive_message_response::Content::Message(message)) => messages.push(message),
            // MESSAGE_NOT_FOUND ends an empty long poll; any other failure is the receive's.
            Some(receive_message_response::Content::Status(status))
                if status.code != Code::MessageNotFound as i32 =>
            {
                check(Some(&status))?
            }
            _ => {}
        }
    }
    Ok(messages)
}

async fn ack(
    client: &GrpcClient,
    plan: &ReceivePlan,
    messages: Vec<Message>,
) -> anyhow::Result<()> {
    let entries = messages
        .into_iter()
        .filter_map(|m| {
            let props = m.system_properties?;
            Some(AckMessageEntry {
                message_id: props.message_id,
                receipt_handle: props.receipt_handle?,
                lite_topic: None,
            })
        })
        .collect();
    let request = AckMessageRequest {
        group: Some(resource(&plan.group)),
        topic: Some(resource(&plan.topic)),
        entries,
    };
    let answer = client
        .service
        .clone()
        .ack_message(client.request(request, Duration::from_secs(10)))
        .await?
        .into_inner();
    check(answer.status.as_ref())
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn message_ids_have_the_clients_shape_and_differ() {
        let a = message_id(3, 1);
        let b = message_id(3, 2);
        assert_eq!(a.len(), 34);
        assert!(a.starts_with("01"));
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
