//! Pull-consumer calls: pull by offset, and read, write or look up consume offsets (service.proto).

use prost_types::{Duration, Timestamp};

/// Pull from `offset` of one queue (the remoting PULL_MESSAGE).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullMessageRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub message_queue: Option<super::MessageQueue>,
    #[prost(int64, tag = "3")]
    pub offset: i64,
    #[prost(int32, tag = "4")]
    pub batch_size: i32,
    #[prost(message, optional, tag = "5")]
    pub filter_expression: Option<super::FilterExpression>,
    #[prost(message, optional, tag = "6")]
    pub long_polling_timeout: Option<Duration>,
}

/// One item of the PullMessage stream: a status, a message, or the offset to pull from next.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullMessageResponse {
    #[prost(oneof = "pull_message_response::Content", tags = "1, 2, 3")]
    pub content: Option<pull_message_response::Content>,
}

pub mod pull_message_response {
    // Unboxed as prost-build generates it (a stream item is built once and moved, never copied).
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Content {
        #[prost(message, tag = "1")]
        Status(super::super::Status),
        #[prost(message, tag = "2")]
        Message(super::super::Message),
        #[prost(int64, tag = "3")]
        NextOffset(i64),
    }
}

/// Store the group's consume offset of a queue.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateOffsetRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub message_queue: Option<super::MessageQueue>,
    #[prost(int64, tag = "3")]
    pub offset: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateOffsetResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
}

/// Read the group's consume offset of a queue.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetOffsetRequest {
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub message_queue: Option<super::MessageQueue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetOffsetResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(int64, tag = "2")]
    pub offset: i64,
}

/// Which offset of a queue `QueryOffset` looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum QueryOffsetPolicy {
    /// The queue's min offset.
    Beginning = 0,
    /// The queue's max offset.
    End = 1,
    /// The first offset stored at or after `timestamp`.
    Timestamp = 2,
}

/// Look up an offset of a queue by policy (min, max, or by time).
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryOffsetRequest {
    #[prost(message, optional, tag = "1")]
    pub message_queue: Option<super::MessageQueue>,
    #[prost(enumeration = "QueryOffsetPolicy", tag = "2")]
    pub query_offset_policy: i32,
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryOffsetResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(int64, tag = "2")]
    pub offset: i64,
}
