//! Client lifecycle: heartbeat, termination, and the Telemetry stream that carries settings one way and
//! server commands (transaction check, stack trace, verify message, ...) the other (service.proto).

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatRequest {
    /// Consumer group; absent for a producer.
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
    #[prost(enumeration = "super::ClientType", tag = "2")]
    pub client_type: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NotifyClientTerminationRequest {
    /// Consumer group; absent for a producer.
    #[prost(message, optional, tag = "1")]
    pub group: Option<super::Resource>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NotifyClientTerminationResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
}

/// Server asks for the client's thread dump (remoting GET_CONSUMER_RUNNING_INFO with jstack).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrintThreadStackTraceCommand {
    /// Echoed in the answer.
    #[prost(string, tag = "1")]
    pub nonce: String,
}

/// Server asks the client to reconnect using the latest endpoints.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReconnectEndpointsCommand {
    #[prost(string, tag = "1")]
    pub nonce: String,
}

/// Client's answer to `PrintThreadStackTraceCommand`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ThreadStackTrace {
    #[prost(string, tag = "1")]
    pub nonce: String,
    #[prost(string, optional, tag = "2")]
    pub thread_stack_trace: Option<String>,
}

/// Server asks the client to consume `message` (remoting CONSUME_MESSAGE_DIRECTLY).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VerifyMessageCommand {
    #[prost(string, tag = "1")]
    pub nonce: String,
    #[prost(message, optional, tag = "2")]
    pub message: Option<super::Message>,
}

/// Client's answer to `VerifyMessageCommand`; the outcome is in `TelemetryCommand::status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VerifyMessageResult {
    #[prost(string, tag = "1")]
    pub nonce: String,
}

/// Server asks the producer to resolve a transaction (remoting CHECK_TRANSACTION_STATE).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecoverOrphanedTransactionCommand {
    #[prost(message, optional, tag = "1")]
    pub message: Option<super::Message>,
    #[prost(string, tag = "2")]
    pub transaction_id: String,
}

/// Server tells a lite push consumer to drop a lite topic.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NotifyUnsubscribeLiteCommand {
    #[prost(string, tag = "1")]
    pub lite_topic: String,
}

/// One item of the Telemetry stream, in either direction.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TelemetryCommand {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(oneof = "telemetry_command::Command", tags = "2, 3, 4, 5, 6, 7, 8, 9")]
    pub command: Option<telemetry_command::Command>,
}

pub mod telemetry_command {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Command {
        /// Client settings (client to server first, then the server's answer).
        #[prost(message, tag = "2")]
        Settings(super::super::Settings),
        /// Client to server.
        #[prost(message, tag = "3")]
        ThreadStackTrace(super::ThreadStackTrace),
        /// Client to server.
        #[prost(message, tag = "4")]
        VerifyMessageResult(super::VerifyMessageResult),
        /// Server to client.
        #[prost(message, tag = "5")]
        RecoverOrphanedTransactionCommand(super::RecoverOrphanedTransactionCommand),
        /// Server to client.
        #[prost(message, tag = "6")]
        PrintThreadStackTraceCommand(super::PrintThreadStackTraceCommand),
        /// Server to client.
        #[prost(message, tag = "7")]
        VerifyMessageCommand(super::VerifyMessageCommand),
        /// Server to client.
        #[prost(message, tag = "8")]
        ReconnectEndpointsCommand(super::ReconnectEndpointsCommand),
        /// Server to client.
        #[prost(message, tag = "9")]
        NotifyUnsubscribeLiteCommand(super::NotifyUnsubscribeLiteCommand),
    }
}
