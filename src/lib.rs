//! `rmqd`: an Apache RocketMQ broker and name server, wire- and store-compatible with the Java ones.
//!
//! Layout:
//! - [`launch`]: binding the listeners, starting the roles, and the SIGTERM drain.
//! - [`config`]: broker.conf / namesrv.conf parsing (Java property names).
//! - [`remoting`]: TCP listeners, per-connection tasks, late answers ([`remoting::Responder`]), the
//!   outbound client.
//! - [`namesrv`]: the name-server role (routes, broker liveness).
//! - [`broker`]: the broker role (send, pull, offsets, clients, registration) over the `rmq-store` crate.
//! - [`grpc`]: the 5.x gRPC endpoint (MessagingService) in local mode, bridged into the broker.
//! - [`ha`]: master/slave replication with Java's classic HA protocol.
//! - [`error`]: the mapping from failures to RocketMQ response codes.
//! - [`acl`]: plain ACL (`aclEnable`): signature and permission checks before the broker dispatches.
//! - [`metrics`]: Java 5.x's metrics in the Prometheus text format on `/metrics` (`metricsExporterType=PROM`).
//! - [`bench`]: `rmqd bench`, a load generator for any RocketMQ broker.
//! - [`store_tools`]: `rmqd store verify|dump`, offline checks and dumps of a store directory.
//!
//! The binary (`src/main.rs`) parses the command line and calls [`launch`]; tests start the same roles
//! in-process on port 0.

pub mod acl;
pub mod bench;
pub mod broker;
pub mod config;
pub mod error;
pub mod grpc;
pub mod ha;
pub mod launch;
pub mod metrics;
pub mod namesrv;
pub mod remoting;
pub mod store_tools;
