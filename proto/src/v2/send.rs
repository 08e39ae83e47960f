//! Sending, ending transactions and recalling delay messages (service.proto).

#[derive(Clone, PartialEq, prost::Message)]
pub struct SendMessageRequest {
    /// One message, or a batch for the same topic.
    #[prost(message, repeated, tag = "1")]
    pub messages: Vec<super::Message>,
}

/// Result of one message of a send.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendResultEntry {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(string, tag = "2")]
    pub message_id: String,
    /// Transaction id of a half message (the remoting `transactionId`), else empty.
    #[prost(string, tag = "3")]
    pub transaction_id: String,
    /// Consume-queue offset of the stored message.
    #[prost(int64, tag = "4")]
    pub offset: i64,
    /// Handle to recall a delay message with `RecallMessage`.
    #[prost(string, tag = "5")]
    pub recall_handle: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SendMessageResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    /// One entry per message, in request order.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<SendResultEntry>,
}

/// Commit or roll back a transactional (half) message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EndTransactionRequest {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<super::Resource>,
    #[prost(string, tag = "2")]
    pub message_id: String,
    #[prost(string, tag = "3")]
    pub transaction_id: String,
    #[prost(enumeration = "super::TransactionResolution", tag = "4")]
    pub resolution: i32,
    #[prost(enumeration = "super::TransactionSource", tag = "5")]
    pub source: i32,
    #[prost(string, tag = "6")]
    pub trace_context: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EndTransactionResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
}

/// Recall a delay message before it is delivered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecallMessageRequest {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<super::Resource>,
    /// `SendResultEntry::recall_handle` of the message.
    #[prost(string, tag = "2")]
    pub recall_handle: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RecallMessageResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(string, tag = "2")]
    pub message_id: String,
}
