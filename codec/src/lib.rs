//! The RocketMQ remoting protocol and message encoding, as pure functions over bytes.
//!
//! No I/O and no async runtime: the server hands this crate complete frames and gets typed values back.
//!
//! Layout:
//! - [`code`][]: `RequestCode`, `ResponseCode`, `LanguageCode` (unknown numbers are kept, never lost).
//! - [`command`][]: `RemotingCommand` and the frame format (JSON and ROCKETMQ binary headers).
//! - [`header`][]: typed request/response headers, converted once from/to `extFields`.
//! - [`body`][]: typed JSON bodies (heartbeat, lock batch, broker registration, topic route).
//! - [`message`][]: the stored-message record (commit log / pull body layout), properties, batches, ids, CRC.
//! - [`ha`][]: the slave's offset report and the master's transfer header (classic master/slave HA).
//! - [`fastjson`][]: a small JSON value model that reads and writes what fastjson 1.x writes
//!   (unquoted integer and object map keys).
//! - [`error`][]: `CodecError`.

pub mod body;
pub mod code;
pub mod command;
pub mod error;
pub mod fastjson;
pub mod ha;
pub mod header;
pub mod message;

pub use error::CodecError;
