//! `Status` and its `Code`, carried by every response (definition.proto).

/// Outcome of a call or of one entry of a batch call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    #[prost(enumeration = "Code", tag = "1")]
    pub code: i32,
    /// Human-readable explanation, shown by the client in its exception.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Result codes: HTTP-like classes (`2xxxx` ok, `4xxxx` client error, `5xxxx` server error), refined by the
/// last two digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Code {
    Unspecified = 0,
    Ok = 20000,
    /// Batch call whose entries have different results.
    MultipleResults = 30000,
    /// Required fields or headers are missing.
    BadRequest = 40000,
    IllegalAccessPoint = 40001,
    IllegalTopic = 40002,
    IllegalConsumerGroup = 40003,
    IllegalMessageTag = 40004,
    IllegalMessageKey = 40005,
    IllegalMessageGroup = 40006,
    IllegalMessagePropertyKey = 40007,
    InvalidTransactionId = 40008,
    IllegalMessageId = 40009,
    IllegalFilterExpression = 40010,
    IllegalInvisibleTime = 40011,
    IllegalDeliveryTime = 40012,
    InvalidReceiptHandle = 40013,
    MessagePropertyConflictWithType = 40014,
    UnrecognizedClientType = 40015,
    MessageCorrupted = 40016,
    /// The `x-mq-client-id` metadata is missing.
    ClientIdRequired = 40017,
    IllegalPollingTime = 40018,
    IllegalOffset = 40019,
    IllegalLiteTopic = 40020,
    Unauthorized = 40100,
    PaymentRequired = 40200,
    Forbidden = 40300,
    NotFound = 40400,
    MessageNotFound = 40401,
    TopicNotFound = 40402,
    ConsumerGroupNotFound = 40403,
    OffsetNotFound = 40404,
    RequestTimeout = 40800,
    PayloadTooLarge = 41300,
    MessageBodyTooLarge = 41301,
    MessageBodyEmpty = 41302,
    PreconditionFailed = 42800,
    /// Throttled.
    TooManyRequests = 42900,
    LiteTopicQuotaExceeded = 42901,
    LiteSubscriptionQuotaExceeded = 42902,
    RequestHeaderFieldsTooLarge = 43100,
    MessagePropertiesTooLarge = 43101,
    InternalError = 50000,
    InternalServerError = 50001,
    HaNotAvailable = 50002,
    NotImplemented = 50100,
    ProxyTimeout = 50400,
    MasterPersistenceTimeout = 50401,
    SlavePersistenceTimeout = 50402,
    Unsupported = 50500,
    VersionUnsupported = 50501,
    VerifyFifoMessageUnsupported = 50502,
    FailedToConsumeMessage = 60000,
}
