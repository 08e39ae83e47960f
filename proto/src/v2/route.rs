//! Route and assignment queries (service.proto).

/// Queues of a topic as seen through `endpoints` (the access point the client was configured with).
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRouteRequest {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub endpoints: Option<super::Endpoints>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRouteResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(message, repeated, tag = "2")]
    pub message_queues: Vec<super::MessageQueue>,
}

/// Queues the server-side load balancer assigns to this push consumer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryAssignmentRequest {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<super::Resource>,
    #[prost(message, optional, tag = "2")]
    pub group: Option<super::Resource>,
    #[prost(message, optional, tag = "3")]
    pub endpoints: Option<super::Endpoints>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryAssignmentResponse {
    #[prost(message, optional, tag = "1")]
    pub status: Option<super::Status>,
    #[prost(message, repeated, tag = "2")]
    pub assignments: Vec<super::Assignment>,
}
