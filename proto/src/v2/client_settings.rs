//! Client settings, reported by the client as the first Telemetry command and answered by the server
//! (definition.proto).

use prost_types::Duration;

/// Retry back-off of a producer, or redelivery back-off of a consumer group.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryPolicy {
    #[prost(int32, tag = "1")]
    pub max_attempts: i32,
    #[prost(oneof = "retry_policy::Strategy", tags = "2, 3")]
    pub strategy: Option<retry_policy::Strategy>,
}

pub mod retry_policy {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Strategy {
        #[prost(message, tag = "2")]
        ExponentialBackoff(super::ExponentialBackoff),
        #[prost(message, tag = "3")]
        CustomizedBackoff(super::CustomizedBackoff),
    }
}

/// `initial * multiplier^(attempt-1)`, capped at `max`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExponentialBackoff {
    #[prost(message, optional, tag = "1")]
    pub initial: Option<Duration>,
    #[prost(message, optional, tag = "2")]
    pub max: Option<Duration>,
    #[prost(float, tag = "3")]
    pub multiplier: f32,
}

/// One delay per attempt, like the broker's `messageDelayLevel` (`1s 5s 10s 30s 1m ...`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomizedBackoff {
    #[prost(message, repeated, tag = "1")]
    pub next: Vec<Duration>,
}

/// Language of the client library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Language {
    Unspecified = 0,
    Java = 1,
    Cpp = 2,
    DotNet = 3,
    Golang = 4,
    Rust = 5,
    Python = 6,
    Php = 7,
    NodeJs = 8,
    Ruby = 9,
    ObjectiveC = 10,
    Dart = 11,
    Kotlin = 12,
}

/// User agent: the client library and the host it runs on.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ua {
    #[prost(enumeration = "Language", tag = "1")]
    pub language: i32,
    /// Client library version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// OS name, version, arch.
    #[prost(string, tag = "3")]
    pub platform: String,
    #[prost(string, tag = "4")]
    pub hostname: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Settings {
    #[prost(enumeration = "super::ClientType", optional, tag = "1")]
    pub client_type: Option<i32>,
    /// The endpoint the client was configured with.
    #[prost(message, optional, tag = "2")]
    pub access_point: Option<super::Endpoints>,
    /// Producer: send retry back-off. Consumer: redelivery back-off of the group.
    #[prost(message, optional, tag = "3")]
    pub backoff_policy: Option<RetryPolicy>,
    /// Timeout of calls other than long polling.
    #[prost(message, optional, tag = "4")]
    pub request_timeout: Option<Duration>,
    #[prost(oneof = "settings::PubSub", tags = "5, 6")]
    pub pub_sub: Option<settings::PubSub>,
    #[prost(message, optional, tag = "7")]
    pub user_agent: Option<Ua>,
    #[prost(message, optional, tag = "8")]
    pub metric: Option<Metric>,
}

pub mod settings {
    /// Producer or consumer side of the settings.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum PubSub {
        #[prost(message, tag = "5")]
        Publishing(super::Publishing),
        #[prost(message, tag = "6")]
        Subscription(super::Subscription),
    }
}

/// Producer settings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Publishing {
    /// Topics the producer sends to (client-side).
    #[prost(message, repeated, tag = "1")]
    pub topics: Vec<super::Resource>,
    /// Largest body the server accepts (server-side).
    #[prost(int32, tag = "2")]
    pub max_body_size: i32,
    /// Whether the client checks a message's type against the queue's `accept_message_types`.
    #[prost(bool, tag = "3")]
    pub validate_message_type: bool,
}

/// Consumer settings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Subscription {
    /// Consumer group (client-side).
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    /// Subscriptions (client-side).
    #[prost(message, repeated, tag = "2")]
    pub subscriptions: Vec<super::SubscriptionEntry>,
    /// Whether the group consumes in FIFO order (server-side, from the group config).
    #[prost(bool, optional, tag = "3")]
    pub fifo: Option<bool>,
    /// Messages per receive call of a push consumer (server-side).
    #[prost(int32, optional, tag = "4")]
    pub receive_batch_size: Option<i32>,
    /// Long-polling timeout of a push consumer's receive calls (server-side).
    #[prost(message, optional, tag = "5")]
    pub long_polling_timeout: Option<Duration>,
    #[prost(int32, optional, tag = "6")]
    pub lite_subscription_quota: Option<i32>,
    #[prost(int32, optional, tag = "7")]
    pub max_lite_topic_size: Option<i32>,
}

/// Client metrics export.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    #[prost(bool, tag = "1")]
    pub on: bool,
    /// Where to export metrics; required when `on`.
    #[prost(message, optional, tag = "2")]
    pub endpoints: Option<super::Endpoints>,
}
