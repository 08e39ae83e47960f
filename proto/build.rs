//! Generates the tonic client and server of `apache.rocketmq.v2.MessagingService` (rocketmq-apis v2.1.1)
//! from the method list below: `tonic_build::manual` needs no .proto file and no protoc. The message types
//! it refers to (`super::QueryRouteRequest`, ...) are the hand-written ones in `src/v2/`.

use tonic_build::manual::{Builder, Method, Service};

/// How a method streams: `Unary`, server-streaming, or bidirectional.
#[derive(Clone, Copy)]
enum Streaming {
    Unary,
    ServerStream,
    Bidi,
}

/// (rust name, RPC name, request type, response type, streaming), in service.proto order.
const METHODS: &[(&str, &str, &str, &str, Streaming)] = &[
    (
        "query_route",
        "QueryRoute",
        "QueryRouteRequest",
        "QueryRouteResponse",
        Streaming::Unary,
    ),
    (
        "heartbeat",
        "Heartbeat",
        "HeartbeatRequest",
        "HeartbeatResponse",
        Streaming::Unary,
    ),
    (
        "send_message",
        "SendMessage",
        "SendMessageRequest",
        "SendMessageResponse",
        Streaming::Unary,
    ),
    (
        "query_assignment",
        "QueryAssignment",
        "QueryAssignmentRequest",
        "QueryAssignmentResponse",
        Streaming::Unary,
    ),
    (
        "receive_message",
        "ReceiveMessage",
        "ReceiveMessageRequest",
        "ReceiveMessageResponse",
        Streaming::ServerStream,
    ),
    (
        "ack_message",
        "AckMessage",
        "AckMessageRequest",
        "AckMessageResponse",
        Streaming::Unary,
    ),
    (
        "forward_message_to_dead_letter_queue",
        "ForwardMessageToDeadLetterQueue",
        "ForwardMessageToDeadLetterQueueRequest",
        "ForwardMessageToDeadLetterQueueResponse",
        Streaming::Unary,
    ),
    (
        "pull_message",
        "PullMessage",
        "PullMessageRequest",
        "PullMessageResponse",
        Streaming::ServerStream,
    ),
    (
        "update_offset",
        "UpdateOffset",
        "UpdateOffsetRequest",
        "UpdateOffsetResponse",
        Streaming::Unary,
    ),
    (
        "get_offset",
        "GetOffset",
        "GetOffsetRequest",
        "GetOffsetResponse",
        Streaming::Unary,
    ),
    (
        "query_offset",
        "QueryOffset",
        "QueryOffsetRequest",
        "QueryOffsetResponse",
        Streaming::Unary,
    ),
    (
        "end_transaction",
        "EndTransaction",
        "EndTransactionRequest",
        "EndTransactionResponse",
        Streaming::Unary,
    ),
    (
        "telemetry",
        "Telemetry",
        "TelemetryCommand",
        "TelemetryCommand",
        Streaming::Bidi,
    ),
    (
        "notify_client_termination",
        "NotifyClientTermination",
        "NotifyClientTerminationRequest",
        "NotifyClientTerminationResponse",
        Streaming::Unary,
    ),
    (
        "change_invisible_duration",
        "ChangeInvisibleDuration",
        "ChangeInvisibleDurationRequest",
        "ChangeInvisibleDurationResponse",
        Streaming::Unary,
    ),
    (
        "recall_message",
        "RecallMessage",
        "RecallMessageRequest",
        "RecallMessageResponse",
        Streaming::Unary,
    ),
    (
        "sync_lite_subscription",
        "SyncLiteSubscription",
        "SyncLiteSubscriptionRequest",
        "SyncLiteSubscriptionResponse",
        Streaming::Unary,
    ),
];

fn main() {
    let mut service = Service::builder()
        .name("MessagingService")
        .package("apache.rocketmq.v2");
    for &(name, route, input, output, streaming) in METHODS {
        let mut method = Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("super::{input}"))
            .output_type(format!("super::{output}"))
            .codec_path("tonic::codec::ProstCodec");
        method = match streaming {
            Streaming::Unary => method,
            Streaming::ServerStream => method.server_streaming(),
            Streaming::Bidi => method.client_streaming().server_streaming(),
        };
        service = service.method(method.build());
    }
    Builder::new().compile(&[service.build()]);
    println!("cargo:rerun-if-changed=build.rs");
}
