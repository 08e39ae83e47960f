//! Remoting transport: TCP listeners, per-connection reader/writer tasks, and an outbound client.
//!
//! The codec crate turns bytes into `RemotingCommand`s; this module moves frames between sockets and the
//! role-specific request handlers (broker, name server). Handlers *return* responses; only the
//! per-connection writer task touches the socket's write half.

pub mod client;
pub mod connection;
pub mod frame;
pub mod server;
pub mod tls;

pub use connection::{Connection, Outbound};
pub use server::{serve, RequestHandler};
