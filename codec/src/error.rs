//! Everything that can go wrong while decoding or encoding protocol bytes.

use thiserror::Error;

/// A decode or encode failure. Wire-level failures close the connection; header-level failures
/// become an error response (see the binary's error-to-response-code mapping).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Fewer bytes than the layout requires.
    #[error("truncated input: needed {needed} bytes, had {available}")]
    Truncated { needed: usize, available: usize },
    /// A frame or header length that is negative, too large, or inconsistent.
    #[error("bad length: {0}")]
    BadLength(String),
    /// The serialization-type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// A JSON document that does not parse.
    #[error("invalid json: {0}")]
    Json(String),
    /// A required header field is absent.
    #[error("the custom field <{0}> is null")]
    MissingField(&'static str),
    /// A header field that does not parse as its type.
    #[error("field <{field}> has invalid value {value:?}")]
    InvalidField { field: &'static str, value: String },
    /// A message record or batch element that violates its layout.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// Text that is not UTF-8 where UTF-8 is required.
    #[error("invalid utf-8 in {0}")]
    Utf8(&'static str),
    /// A JSON body, or a bean inside one, that fastjson cannot bind: `JSON.parseObject(text, Bean.class)`
    /// throws for anything but an object, `null`, `[]` or `""`.
    #[error(
        "com.alibaba.fastjson.JSONException: syntax error, expect {{, actual {actual}, {bean}"
    )]
    NotABean {
        bean: &'static str,
        actual: &'static str,
    },
    /// A body field Java's processor dereferences is null: a NullPointerException in Java.
    #[error("java.lang.NullPointerException: {0} is null")]
    NullField(&'static str),
    /// A `Set` field of a body that is neither an array nor null.
    #[error("{0} is not a set")]
    NotASet(&'static str),
    /// A required body field that is absent or not a string.
    #[error("{0} is missing")]
    MissingBodyField(&'static str),
    /// A body collection longer than rmqd accepts in one request.
    #[error("too many {what} in one request: {count}")]
    TooMany { what: &'static str, count: usize },
}
