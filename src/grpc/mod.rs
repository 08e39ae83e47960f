//! The 5.x gRPC endpoint (`apache.rocketmq.v2.MessagingService`) in local mode, as Java's proxy runs inside
//! a broker: each gRPC call becomes the remoting request Java's proxy builds and goes in-process to the
//! broker's dispatcher through [`bridge`].

pub mod ack;
pub mod assignment;
pub mod bridge;
pub mod consumer;
pub mod dlq;
pub mod invisible;
pub mod popped;
pub mod receipt;
pub mod receive;
