//! Remoting transport: TCP listeners, per-connection reader/writer tasks, and an outbound client.
//!
//! The codec crate turns bytes into `RemotingCommand`s; this module moves frames between sockets and the
//! role-specific request handlers (broker, name server). Handlers *return* an [`Answer`]: the response
//! now, or later through a [`Responder`]. Only this module stamps response frames and writes to sockets.

pub mod client;
pub mod connection;
pub mod frame;
pub mod off_worker;
pub mod responder;
pub mod server;
pub mod tls;
pub mod unsupported;

pub use connection::{Connection, Outbound};
pub use responder::{Answer, ParkingPlace, Responder};
pub use server::{serve, RequestHandler, Shutdown};
