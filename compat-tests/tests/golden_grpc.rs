//! Golden vectors of the gRPC protocol: `golden/grpc/*.bin` were written by the official Java protobuf
//! classes of rocketmq-apis (org.apache.rocketmq:rocketmq-proto 2.1.1, generator in
//! `golden-gen/grpc/`), one fully populated instance of every message of apache.rocketmq.v2 and one per
//! oneof arm.
//!
//! Each file is decoded with the hand-written type of `rmq_proto::v2` and re-encoded; the bytes must be
//! identical. prost drops fields it does not know, so a missing field, a wrong tag, a wrong wire type or a
//! wrong packing changes the bytes. The generator sets every field by a rule (manifest `rules`): strings are
//! their path from the top message, int32 = 100 + field number, int64 = 10000000000 + field number,
//! float = field number + 0.25, enums their last value, two entries in every repeated field and map.

use std::collections::BTreeSet;
use std::path::PathBuf;

use compat_tests::sha256_hex;
use prost::Message as _;
use prost_types::{Duration, Timestamp};
use rmq_proto::v2::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    library: String,
    /// MessagingService as grpc-java's generated stub (`MessagingServiceGrpc`) sees it.
    rpcs: Vec<JavaRpc>,
    files: Vec<Vector>,
}

#[derive(Deserialize)]
struct JavaRpc {
    path: String,
    /// `io.grpc.MethodDescriptor.MethodType`.
    r#type: String,
    input: String,
    output: String,
}

#[derive(Deserialize)]
struct Vector {
    file: String,
    message: String,
    size: usize,
    sha256: String,
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/grpc")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(golden_dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("parsing manifest.json")
}

/// The bytes of one vector, checked against its manifest entry.
fn read(file: &str) -> Vec<u8> {
    let data = std::fs::read(golden_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let manifest = manifest();
    let entry = manifest
        .files
        .iter()
        .find(|v| v.file == file)
        .unwrap_or_else(|| panic!("{file} is not in the manifest"));
    assert_eq!(data.len(), entry.size, "{file}: size");
    assert_eq!(sha256_hex(&data), entry.sha256, "{file}: sha256");
    data
}

/// Decodes `file` as `T`, requires the re-encoding to be the Java bytes, and returns the value.
fn round_trip<T: prost::Message + Default>(file: &str) -> T {
    let java = read(file);
    let value = T::decode(java.as_slice()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let ours = value.encode_to_vec();
    assert!(
        ours == java,
        "{file}: re-encoded bytes differ\n java: {}\n ours: {}",
        hex(&java),
        hex(&ours)
    );
    value
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every message type of definition.proto and service.proto, by its protobuf name.
macro_rules! message_types {
    ($($name:ident),* $(,)?) => {
        const MESSAGE_TYPES: &[&str] = &[$(stringify!($name)),*];

        /// Round-trips `file` through the Rust type named `message`.
        fn round_trip_by_name(message: &str, file: &str) {
            match message {
                $(stringify!($name) => {
                    round_trip::<$name>(file);
                })*
                "UA" => {
                    round_trip::<Ua>(file);
                }
                other => panic!("{file}: no Rust type for {other}"),
            }
        }
    };
}

message_types!(
    // definition.proto
    FilterExpression,
    RetryPolicy,
    ExponentialBackoff,
    CustomizedBackoff,
    Resource,
    SubscriptionEntry,
    Address,
    Endpoints,
    Broker,
    MessageQueue,
    Digest,
    SystemProperties,
    DeadLetterQueue,
    Message,
    Assignment,
    Status,
    Settings,
    Publishing,
    Subscription,
    Metric,
    OffsetOption,
    // service.proto
    QueryRouteRequest,
    QueryRouteResponse,
    SendMessageRequest,
    SendResultEntry,
    SendMessageResponse,
    QueryAssignmentRequest,
    QueryAssignmentResponse,
    ReceiveMessageRequest,
    ReceiveMessageResponse,
    AckMessageEntry,
    AckMessageRequest,
    AckMessageResultEntry,
    AckMessageResponse,
    ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    EndTransactionRequest,
    EndTransactionResponse,
    PrintThreadStackTraceCommand,
    ReconnectEndpointsCommand,
    ThreadStackTrace,
    VerifyMessageCommand,
    VerifyMessageResult,
    RecoverOrphanedTransactionCommand,
    NotifyUnsubscribeLiteCommand,
    TelemetryCommand,
    NotifyClientTerminationRequest,
    NotifyClientTerminationResponse,
    ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse,
    PullMessageRequest,
    PullMessageResponse,
    UpdateOffsetRequest,
    UpdateOffsetResponse,
    GetOffsetRequest,
    GetOffsetResponse,
    QueryOffsetRequest,
    QueryOffsetResponse,
    RecallMessageRequest,
    RecallMessageResponse,
    SyncLiteSubscriptionRequest,
    SyncLiteSubscriptionResponse,
);

#[test]
fn every_java_vector_re_encodes_to_the_same_bytes() {
    let manifest = manifest();
    assert_eq!(manifest.library, "org.apache.rocketmq:rocketmq-proto:2.1.1");
    for vector in &manifest.files {
        round_trip_by_name(&vector.message, &vector.file);
    }
    // Every Rust type has a vector (`UA` is prost's `Ua`), and every .bin file is in the manifest.
    let covered: BTreeSet<&str> = manifest.files.iter().map(|v| v.message.as_str()).collect();
    let expected: BTreeSet<&str> = MESSAGE_TYPES.iter().copied().chain(["UA"]).collect();
    assert_eq!(covered, expected);
    let listed: BTreeSet<String> = manifest.files.iter().map(|v| v.file.clone()).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(golden_dir())
        .expect("golden/grpc")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .filter(|name| name.ends_with(".bin"))
        .collect();
    assert_eq!(listed, on_disk);
}

#[test]
fn every_oneof_arm_has_a_vector() {
    let files: BTreeSet<String> = manifest().files.into_iter().map(|v| v.file).collect();
    let arms: &[(&str, &[&str])] = &[
        (
            "RetryPolicy",
            &["exponential_backoff", "customized_backoff"],
        ),
        ("Settings", &["publishing", "subscription"]),
        ("OffsetOption", &["policy", "offset", "tail_n", "timestamp"]),
        (
            "ReceiveMessageResponse",
            &["status", "message", "delivery_timestamp"],
        ),
        ("PullMessageResponse", &["status", "message", "next_offset"]),
        (
            "TelemetryCommand",
            &[
                "settings",
                "thread_stack_trace",
                "verify_message_result",
                "recover_orphaned_transaction_command",
                "print_thread_stack_trace_command",
                "verify_message_command",
                "reconnect_endpoints_command",
                "notify_unsubscribe_lite_command",
            ],
        ),
    ];
    for (message, names) in arms {
        for arm in *names {
            let file = format!("{message}-{arm}.bin");
            assert!(files.contains(&file), "no vector {file}");
        }
    }
}

/// The tonic client and server of rmq-proto are generated from `MESSAGING_SERVICE_RPCS`: same paths, same
/// order, same message types and streaming as the Java stub.
#[test]
fn messaging_service_rpcs_match_the_java_stub() {
    let java: Vec<[String; 4]> = manifest()
        .rpcs
        .into_iter()
        .map(|r| [r.path, r.r#type, r.input, r.output])
        .collect();
    let ours: Vec<[String; 4]> = MESSAGING_SERVICE_RPCS
        .iter()
        .map(|rpc| {
            let kind = match rpc.streaming {
                Streaming::Unary => "UNARY",
                Streaming::ServerStream => "SERVER_STREAMING",
                Streaming::Bidi => "BIDI_STREAMING",
            };
            let path = format!("/{MESSAGING_SERVICE}/{}", rpc.route);
            [path, kind.into(), rpc.input.into(), rpc.output.into()]
        })
        .collect();
    assert_eq!(ours, java);
}

fn timestamp() -> Timestamp {
    Timestamp {
        seconds: 10_000_000_001,
        nanos: 102,
    }
}

fn duration() -> Duration {
    Duration {
        seconds: 10_000_000_001,
        nanos: 102,
    }
}

#[test]
fn decoded_values_follow_the_generator_rules() {
    let status: Status = round_trip("Status.bin");
    assert_eq!(status.code(), Code::FailedToConsumeMessage);
    assert_eq!(status.message, "Status.message");

    let route: QueryRouteResponse = round_trip("QueryRouteResponse.bin");
    assert_eq!(route.message_queues.len(), 2);
    let queue = &route.message_queues[1];
    assert_eq!(queue.id, 102);
    assert_eq!(queue.permission(), Permission::ReadWrite);
    assert_eq!(
        queue.accept_message_types,
        [MessageType::Normal as i32, MessageType::Priority as i32]
    );
    let endpoints = queue.broker.as_ref().and_then(|b| b.endpoints.as_ref());
    let endpoints = endpoints.expect("broker endpoints");
    assert_eq!(endpoints.scheme(), AddressScheme::DomainName);
    assert_eq!(
        endpoints.addresses[0].host,
        "QueryRouteResponse.message_queues[1].broker.endpoints.addresses[0].host"
    );
    assert_eq!(endpoints.addresses[0].port, 102);

    let message: Message = round_trip("Message.bin");
    assert_eq!(
        message
            .user_properties
            .get("Message.user_properties.k2")
            .map(String::as_str),
        Some("Message.user_properties.v2 \u{fc}")
    );
    assert_eq!(message.body, b"Message.body\x00\xff");
    let system = message.system_properties.expect("system properties");
    assert_eq!(system.tag.as_deref(), Some("Message.system_properties.tag"));
    assert_eq!(system.keys[1], "Message.system_properties.keys[1]");
    assert_eq!(system.body_encoding(), Encoding::Gzip);
    assert_eq!(system.message_type(), MessageType::Priority);
    assert_eq!(system.born_timestamp, Some(timestamp()));
    assert_eq!(system.queue_offset, Some(10_000_000_014));
    assert_eq!(system.delivery_attempt, Some(116));
    assert_eq!(system.priority, Some(122));
    let dlq = system.dead_letter_queue.expect("dead letter queue");
    assert_eq!(
        dlq.message_id,
        "Message.system_properties.dead_letter_queue.message_id"
    );

    let pulled: PullMessageResponse = round_trip("PullMessageResponse-next_offset.bin");
    assert_eq!(
        pulled.content,
        Some(pull_message_response::Content::NextOffset(10_000_000_003))
    );
    let option: OffsetOption = round_trip("OffsetOption-policy.bin");
    assert_eq!(
        option.offset_type,
        Some(offset_option::OffsetType::Policy(
            offset_option::Policy::Max as i32
        ))
    );
    let sync: SyncLiteSubscriptionRequest = round_trip("SyncLiteSubscriptionRequest.bin");
    assert_eq!(sync.action(), LiteSubscriptionAction::CompleteRemove);
    assert_eq!(sync.version, Some(10_000_000_005));
}

#[test]
fn telemetry_and_settings_decode_to_the_java_values() {
    let telemetry: TelemetryCommand = round_trip("TelemetryCommand-settings.bin");
    assert_eq!(
        telemetry.status.as_ref().map(Status::code),
        Some(Code::FailedToConsumeMessage)
    );
    let Some(telemetry_command::Command::Settings(settings)) = telemetry.command else {
        panic!("not settings: {:?}", telemetry.command);
    };
    assert_eq!(settings.client_type(), ClientType::LiteSimpleConsumer);
    let Some(settings::PubSub::Publishing(publishing)) = &settings.pub_sub else {
        panic!("nested oneof takes its first arm: {:?}", settings.pub_sub);
    };
    assert_eq!(publishing.max_body_size, 102);
    assert!(publishing.validate_message_type);
    let backoff = settings.backoff_policy.as_ref().expect("backoff policy");
    assert_eq!(backoff.max_attempts, 101);
    let Some(retry_policy::Strategy::ExponentialBackoff(exponential)) = &backoff.strategy else {
        panic!("not exponential: {:?}", backoff.strategy);
    };
    assert_eq!(exponential.multiplier, 3.25);
    assert_eq!(exponential.max, Some(duration()));
    assert_eq!(
        settings.user_agent.as_ref().map(Ua::language),
        Some(Language::Kotlin)
    );

    let subscribed: Settings = round_trip("Settings-subscription.bin");
    let Some(settings::PubSub::Subscription(subscription)) = subscribed.pub_sub else {
        panic!("not subscription: {:?}", subscribed.pub_sub);
    };
    assert_eq!(subscription.fifo, Some(true));
    assert_eq!(subscription.receive_batch_size, Some(104));
    assert_eq!(subscription.long_polling_timeout, Some(duration()));
    assert_eq!(subscription.max_lite_topic_size, Some(107));
    let entry = &subscription.subscriptions[0];
    let filter = entry.expression.as_ref().expect("filter expression");
    assert_eq!(filter.r#type(), FilterType::Sql);
    assert_eq!(
        filter.expression,
        "Settings.subscription.subscriptions[0].expression.expression"
    );

    let check: TelemetryCommand =
        round_trip("TelemetryCommand-recover_orphaned_transaction_command.bin");
    let Some(telemetry_command::Command::RecoverOrphanedTransactionCommand(recover)) =
        check.command
    else {
        panic!("not a transaction check: {:?}", check.command);
    };
    assert_eq!(
        recover.transaction_id,
        "TelemetryCommand.recover_orphaned_transaction_command.transaction_id"
    );
}

fn resource(path: &str) -> Resource {
    Resource {
        resource_namespace: format!("{path}.resource_namespace"),
        name: format!("{path}.name"),
    }
}

/// A `Message` as the generator fills it, built from the rules alone.
fn rule_message(path: &str) -> Message {
    let sys = format!("{path}.system_properties");
    let user = format!("{path}.user_properties");
    Message {
        topic: Some(resource(&format!("{path}.topic"))),
        user_properties: (1..=2)
            .map(|i| (format!("{user}.k{i}"), format!("{user}.v{i} \u{fc}")))
            .collect(),
        system_properties: Some(SystemProperties {
            tag: Some(format!("{sys}.tag")),
            keys: vec![format!("{sys}.keys[0]"), format!("{sys}.keys[1]")],
            message_id: format!("{sys}.message_id"),
            body_digest: Some(Digest {
                r#type: DigestType::Sha1 as i32,
                checksum: format!("{sys}.body_digest.checksum"),
            }),
            body_encoding: Encoding::Gzip as i32,
            message_type: MessageType::Priority as i32,
            born_timestamp: Some(timestamp()),
            born_host: format!("{sys}.born_host"),
            store_timestamp: Some(timestamp()),
            store_host: format!("{sys}.store_host"),
            delivery_timestamp: Some(timestamp()),
            receipt_handle: Some(format!("{sys}.receipt_handle")),
            queue_id: 113,
            queue_offset: Some(10_000_000_014),
            invisible_duration: Some(duration()),
            delivery_attempt: Some(116),
            message_group: Some(format!("{sys}.message_group")),
            trace_context: Some(format!("{sys}.trace_context")),
            orphaned_transaction_recovery_duration: Some(duration()),
            dead_letter_queue: Some(DeadLetterQueue {
                topic: format!("{sys}.dead_letter_queue.topic"),
                message_id: format!("{sys}.dead_letter_queue.message_id"),
            }),
            lite_topic: Some(format!("{sys}.lite_topic")),
            priority: Some(122),
        }),
        body: [format!("{path}.body").as_bytes(), &[0x00, 0xff]].concat(),
    }
}

#[test]
fn values_built_in_rust_encode_to_the_java_bytes() {
    let send = SendMessageRequest {
        messages: vec![
            rule_message("SendMessageRequest.messages[0]"),
            rule_message("SendMessageRequest.messages[1]"),
        ],
    };
    assert_eq!(
        hex(&send.encode_to_vec()),
        hex(&read("SendMessageRequest.bin"))
    );

    let end = EndTransactionRequest {
        topic: Some(resource("EndTransactionRequest.topic")),
        message_id: "EndTransactionRequest.message_id".into(),
        transaction_id: "EndTransactionRequest.transaction_id".into(),
        resolution: TransactionResolution::Rollback as i32,
        source: TransactionSource::SourceServerCheck as i32,
        trace_context: "EndTransactionRequest.trace_context".into(),
    };
    assert_eq!(
        hex(&end.encode_to_vec()),
        hex(&read("EndTransactionRequest.bin"))
    );

    let receive = ReceiveMessageResponse {
        content: Some(receive_message_response::Content::DeliveryTimestamp(
            timestamp(),
        )),
    };
    assert_eq!(
        hex(&receive.encode_to_vec()),
        hex(&read("ReceiveMessageResponse-delivery_timestamp.bin"))
    );

    let heartbeat = HeartbeatRequest {
        group: Some(resource("HeartbeatRequest.group")),
        client_type: ClientType::LiteSimpleConsumer as i32,
    };
    assert_eq!(
        hex(&heartbeat.encode_to_vec()),
        hex(&read("HeartbeatRequest.bin"))
    );
}
