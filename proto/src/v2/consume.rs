//! Pop-style consumption: receive, ack, change invisible duration, forward to the DLQ (service.proto).

use prost_types::Duration;

/// Receive (POP) up to `batch_size` messages of a queue, or of any queue of the topic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceiveMessageRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub message_queue: Option<super::MessageQueue>,
    #[prost(message, optional, tag = "3")]
    pub filter_expression: Option<super::FilterExpression>,
    #[prost(int32, tag = "4")]
    pub batch_size: i32,
    /// Required for a simple consumer.
    #[prost(message, optional, tag = "5")]
    pub invisible_duration: Option<Duration>,
    /// The server renews the invisible time itself (push consumer).
    #[prost(bool, tag = "6")]
    pub auto_renew: bool,
    #[prost(message, optional, tag = "7")]
    pub long_polling_timeout: Option<Duration>,
    /// Id of this attempt; a retried attempt with the same id gets the same messages.
    #[prost(string, optional, tag = "8")]
    pub attempt_id: Option<String>,
}

/// One item of the ReceiveMessage stream: a status (sent once, at the end or on failure), a message, or the
/// time delivery started.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceiveMessageResponse {
    #[prost(oneof = "receive_message_response::Content", tags = "1, 2, 3")]
    pub content: Option<receive_message_response::Content>,
}

pub mod receive_message_response {
    // Unboxed as prost-build generates it (a stream item is built once and moved, never copied).
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Content {
        #[prost(message, tag = "1")]
        Status(super::super::Status),
        #[prost(message, tag = "2")]
        Message(super::super::Message),
        #[prost(message, tag = "3")]
        DeliveryTimestamp(prost_types::Timestamp),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AckMessageEntry {
    #[prost(string, tag = "1")]
    pub message_id: String,
    #[prost(string, tag = "2")]
    pub receipt_handle: String,
    #[prost(string, optional, tag = "3")]
    pub lite_topic: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AckMessageRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub topic: Option<super::Resource>,
    #[prost(message, repeated, tag = "3")]
    pub entries: Vec<AckMessageEntry>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AckMessageResultEntry {
    #[prost(string, tag = "1")]
    pub message_id: String,
    #[prost(string, tag = "2")]
    pub receipt_handle: String,
    /// Result of this entry; `message` explains a failure.
    #[prost(message, optional, tag = "3")]
    pub status: Option<super::Status>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AckMessageResponse {
    /// Call-level status (authentication, throttling, ...).
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<AckMessageResultEntry>,
}

/// Sent by the client when a message exceeded its max delivery attempts.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ForwardMessageToDeadLetterQueueRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub topic: Option<super::Resource>,
    #[prost(string, tag = "3")]
    pub receipt_handle: String,
    #[prost(string, tag = "4")]
    pub message_id: String,
    #[prost(int32, tag = "5")]
    pub delivery_attempt: i32,
    #[prost(int32, tag = "6")]
    pub max_delivery_attempts: i32,
    #[prost(string, optional, tag = "7")]
    pub lite_topic: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ForwardMessageToDeadLetterQueueResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
}

/// Extend (or shorten) how long a received message stays invisible; a nack is this with a back-off.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChangeInvisibleDurationRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub topic: Option<super::Resource>,
    #[prost(string, tag = "3")]
    pub receipt_handle: String,
    #[prost(message, optional, tag = "4")]
    pub invisible_duration: Option<Duration>,
    /// For tracing only.
    #[prost(string, tag = "5")]
    pub message_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChangeInvisibleDurationResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    /// The new receipt handle; the old one is no longer valid.
    #[prost(string, tag = "2")]
    pub receipt_handle: String,
}
