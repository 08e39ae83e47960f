//! Lite topics: the subscription sync of a lite push consumer (definition.proto + service.proto).

/// How `SyncLiteSubscriptionRequest::lite_topic_set` changes the subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum LiteSubscriptionAction {
    PartialAdd = 0,
    PartialRemove = 1,
    CompleteAdd = 2,
    CompleteRemove = 3,
}

/// Where a new lite subscription starts consuming.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OffsetOption {
    #[prost(oneof = "offset_option::OffsetType", tags = "1, 2, 3, 4")]
    pub offset_type: Option<offset_option::OffsetType>,
}

pub mod offset_option {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum OffsetType {
        #[prost(enumeration = "Policy", tag = "1")]
        Policy(i32),
        #[prost(int64, tag = "2")]
        Offset(i64),
        /// The last `n` messages.
        #[prost(int64, tag = "3")]
        TailN(i64),
        #[prost(int64, tag = "4")]
        Timestamp(i64),
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Policy {
        Last = 0,
        Min = 1,
        Max = 2,
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SyncLiteSubscriptionRequest {
    #[prost(enumeration = "LiteSubscriptionAction", tag = "1")]
    pub action: i32,
    /// Parent topic the lite topics are bound to.
    #[prost(message, optional, tag = "2")]
    pub topic: Option<super::Resource>,
    /// Consumer group.
    #[prost(message, optional, tag = "3")]
    pub group: Option<super::Resource>,
    #[prost(string, repeated, tag = "4")]
    pub lite_topic_set: Vec<String>,
    #[prost(int64, optional, tag = "5")]
    pub version: Option<i64>,
    #[prost(message, optional, tag = "6")]
    pub offset_option: Option<OffsetOption>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SyncLiteSubscriptionResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
}
