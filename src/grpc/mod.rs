//! The 5.x gRPC endpoint (`apache.rocketmq.v2.MessagingService`) in local mode, as Java's proxy runs inside
//! a broker: each gRPC call becomes the remoting request Java's proxy builds and goes in-process to the
//! broker's dispatcher through [`bridge`].
//!
//! Layout: [`server`] (tonic service: metadata → [`context::ClientContext`], one function per RPC),
//! [`route`] (QueryRoute), [`client`] (Heartbeat, Telemetry, NotifyClientTermination, settings),
//! [`send`] (SendMessage), [`transaction`] (EndTransaction, transaction checks), [`convert`] (gRPC message
//! → remoting properties), [`telemetry`] (the Telemetry stream), [`status`] (codes), [`context`] (the
//! caller's metadata), [`bridge`] (the transport into the broker). Consumer side: [`assignment`],
//! [`receive`], [`ack`], [`invisible`], [`dlq`] over [`consumer::Caller`].

pub mod ack;
pub mod assignment;
pub mod bridge;
pub mod client;
pub mod consumer;
pub mod context;
pub mod convert;
pub mod dlq;
pub mod invisible;
pub mod popped;
pub mod receipt;
pub mod receive;
pub mod route;
pub mod send;
pub mod server;
pub mod status;
pub mod telemetry;
pub mod tls;
pub mod transaction;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::broker::Broker;
use bridge::Bridge;

/// What every RPC of the local endpoint shares.
pub struct GrpcEndpoint {
    pub broker: Arc<Broker>,
    pub bridge: Arc<Bridge>,
    /// The gRPC port bound (for routes when the client names no endpoint).
    pub port: u16,
    /// Each client's settings as its Telemetry stream reported them.
    pub settings: client::SettingsTable,
    /// Half messages sent over gRPC, for EndTransaction.
    pub transactions: transaction::TransactionTable,
    pub limits: convert::MessageLimits,
    /// Round-robin write queue choice for messages without a message group.
    next_queue: AtomicUsize,
}

impl GrpcEndpoint {
    pub fn new(broker: Arc<Broker>, port: u16) -> Arc<Self> {
        let bridge = Bridge::new(broker.clone());
        Arc::new(GrpcEndpoint {
            broker,
            bridge,
            port,
            settings: Default::default(),
            transactions: Default::default(),
            limits: Default::default(),
            next_queue: AtomicUsize::new(0),
        })
    }
}
