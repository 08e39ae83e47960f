// The RPCs of `apache.rocketmq.v2.MessagingService` (service.proto of rocketmq-apis v2.1.1), in declaration
// order. Shared by build.rs, which generates the tonic client and server from it, and by the crate, where the
// golden test compares it with the Java service descriptor. Plain comments only: build.rs `include!`s this file.

/// Full gRPC service name; each RPC's path is `/{MESSAGING_SERVICE}/{route}`.
pub const MESSAGING_SERVICE: &str = "apache.rocketmq.v2.MessagingService";

/// How an RPC streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streaming {
    Unary,
    /// One request, a stream of responses.
    ServerStream,
    /// A stream each way.
    Bidi,
}

/// One RPC: the Rust method name, the protobuf method name, the message types and how it streams. The Rust
/// names are prost-build's snake case of the protobuf name, except GetOffset: `committed_offset`, what it
/// answers (a group's committed offset of a queue), not a getter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rpc {
    pub method: &'static str,
    pub route: &'static str,
    pub input: &'static str,
    pub output: &'static str,
    pub streaming: Streaming,
}

pub const MESSAGING_SERVICE_RPCS: &[Rpc] = &[
    Rpc {
        method: "query_route",
        route: "QueryRoute",
        input: "QueryRouteRequest",
        output: "QueryRouteResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "heartbeat",
        route: "Heartbeat",
        input: "HeartbeatRequest",
        output: "HeartbeatResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "send_message",
        route: "SendMessage",
        input: "SendMessageRequest",
        output: "SendMessageResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "query_assignment",
        route: "QueryAssignment",
        input: "QueryAssignmentRequest",
        output: "QueryAssignmentResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "receive_message",
        route: "ReceiveMessage",
        input: "ReceiveMessageRequest",
        output: "ReceiveMessageResponse",
        streaming: Streaming::ServerStream,
    },
    Rpc {
        method: "ack_message",
        route: "AckMessage",
        input: "AckMessageRequest",
        output: "AckMessageResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "forward_message_to_dead_letter_queue",
        route: "ForwardMessageToDeadLetterQueue",
        input: "ForwardMessageToDeadLetterQueueRequest",
        output: "ForwardMessageToDeadLetterQueueResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "pull_message",
        route: "PullMessage",
        input: "PullMessageRequest",
        output: "PullMessageResponse",
        streaming: Streaming::ServerStream,
    },
    Rpc {
        method: "update_offset",
        route: "UpdateOffset",
        input: "UpdateOffsetRequest",
        output: "UpdateOffsetResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "committed_offset",
        route: "GetOffset",
        input: "GetOffsetRequest",
        output: "GetOffsetResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "query_offset",
        route: "QueryOffset",
        input: "QueryOffsetRequest",
        output: "QueryOffsetResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "end_transaction",
        route: "EndTransaction",
        input: "EndTransactionRequest",
        output: "EndTransactionResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "telemetry",
        route: "Telemetry",
        input: "TelemetryCommand",
        output: "TelemetryCommand",
        streaming: Streaming::Bidi,
    },
    Rpc {
        method: "notify_client_termination",
        route: "NotifyClientTermination",
        input: "NotifyClientTerminationRequest",
        output: "NotifyClientTerminationResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "change_invisible_duration",
        route: "ChangeInvisibleDuration",
        input: "ChangeInvisibleDurationRequest",
        output: "ChangeInvisibleDurationResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "recall_message",
        route: "RecallMessage",
        input: "RecallMessageRequest",
        output: "RecallMessageResponse",
        streaming: Streaming::Unary,
    },
    Rpc {
        method: "sync_lite_subscription",
        route: "SyncLiteSubscription",
        input: "SyncLiteSubscriptionRequest",
        output: "SyncLiteSubscriptionResponse",
        streaming: Streaming::Unary,
    },
];
