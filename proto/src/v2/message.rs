//! A message as sent and delivered: topic, user properties, system properties, body (definition.proto).

use std::collections::BTreeMap;

use prost_types::{Duration, Timestamp};

/// Properties set by the client library or the server, each with a fixed meaning.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SystemProperties {
    #[prost(string, optional, tag = "1")]
    pub tag: Option<String>,
    #[prost(string, repeated, tag = "2")]
    pub keys: Vec<String>,
    /// Client-generated unique id (the remoting `UNIQ_KEY`); a send without one is `INVALID_ARGUMENT`.
    #[prost(string, tag = "3")]
    pub message_id: String,
    #[prost(message, optional, tag = "4")]
    pub body_digest: Option<super::Digest>,
    #[prost(enumeration = "super::Encoding", tag = "5")]
    pub body_encoding: i32,
    #[prost(enumeration = "super::MessageType", tag = "6")]
    pub message_type: i32,
    #[prost(message, optional, tag = "7")]
    pub born_timestamp: Option<Timestamp>,
    /// IPv4, IPv6 or host name of the producer.
    #[prost(string, tag = "8")]
    pub born_host: String,
    /// When the broker stored the message; absent on send.
    #[prost(message, optional, tag = "9")]
    pub store_timestamp: Option<Timestamp>,
    /// The broker that stores the message.
    #[prost(string, tag = "10")]
    pub store_host: String,
    /// Scheduled delivery time of a delay message.
    #[prost(message, optional, tag = "11")]
    pub delivery_timestamp: Option<Timestamp>,
    /// Receipt of a popped message, used to ack it or change its invisible time; absent on send.
    #[prost(string, optional, tag = "12")]
    pub receipt_handle: Option<String>,
    #[prost(int32, tag = "13")]
    pub queue_id: i32,
    /// Consume-queue offset; absent on send.
    #[prost(int64, optional, tag = "14")]
    pub queue_offset: Option<i64>,
    /// How long the popped message stays invisible to other consumers of the group.
    #[prost(message, optional, tag = "15")]
    pub invisible_duration: Option<Duration>,
    /// 1 on first delivery (remoting reconsume times + 1); absent on send.
    #[prost(int32, optional, tag = "16")]
    pub delivery_attempt: Option<i32>,
    /// FIFO message group (the remoting sharding key).
    #[prost(string, optional, tag = "17")]
    pub message_group: Option<String>,
    #[prost(string, optional, tag = "18")]
    pub trace_context: Option<String>,
    /// After this long unresolved, a transactional half message is checked with its producer.
    #[prost(message, optional, tag = "19")]
    pub orphaned_transaction_recovery_duration: Option<Duration>,
    /// Set when the message was delivered from a dead-letter queue.
    #[prost(message, optional, tag = "20")]
    pub dead_letter_queue: Option<DeadLetterQueue>,
    #[prost(string, optional, tag = "21")]
    pub lite_topic: Option<String>,
    #[prost(int32, optional, tag = "22")]
    pub priority: Option<i32>,
}

/// Origin of a message read from a dead-letter queue.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeadLetterQueue {
    /// Original topic.
    #[prost(string, tag = "1")]
    pub topic: String,
    /// Original message id.
    #[prost(string, tag = "2")]
    pub message_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<super::Resource>,
    /// User properties; a key reserved by RocketMQ (`MessageConst`) makes a send `INVALID_ARGUMENT`.
    /// A `BTreeMap` so that encoding is deterministic: entries in key order, as Java's deterministic
    /// serialization writes them.
    #[prost(btree_map = "string, string", tag = "2")]
    pub user_properties: BTreeMap<String, String>,
    #[prost(message, optional, tag = "3")]
    pub system_properties: Option<SystemProperties>,
    #[prost(bytes = "vec", tag = "4")]
    pub body: Vec<u8>,
}
