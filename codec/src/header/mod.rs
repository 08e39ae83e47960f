//! Typed request and response headers, converted once from and to `extFields`.
//!
//! Every value travels as a string under the Java field name. The parsing rules follow
//! `RemotingCommand.decodeCommandCustomHeader`, with the field's Rust type deciding how a missing
//! key is treated:
//!
//! | Rust type | missing key | present key |
//! |---|---|---|
//! | `String`, `i32`, `i64` | [`CodecError::MissingField`] (Java `@CFNotNull`) | numbers: trimmed decimal, else [`CodecError::InvalidField`] |
//! | `bool` | `false` (Java primitive default) | `true` iff `"true"` in any case (`Boolean.parseBoolean`) |
//! | `Option<_>` | `None` | as above |
//!
//! Encoding writes `String.valueOf(value)` for every non-`None` field. The optional base-class
//! fields of 5.x headers (`ns`, `nsd`, `bname`, `oway`, `lo`) are ignored unless a header names
//! them, and unknown keys are always ignored.
//!
//! Layout: `acl` (ACL 1.0 administration), `send` (send, send-back, transactions), `consume` (pull, offsets, client
//! registration), `admin` (topics, message queries), `stats` (admin statistics and connections),
//! `namesrv` (name-server calls); every header
//! is re-exported here.

use crate::command::ExtFields;
use crate::CodecError;

/// A typed view of a command's `extFields`.
pub trait CommandHeader: Sized {
    /// Reads the header. [`CodecError::MissingField`] names the Java field of a missing required
    /// value; [`CodecError::InvalidField`] reports a value that does not parse.
    fn decode(ext: &ExtFields) -> Result<Self, CodecError>;

    /// Writes the fields under their Java names, values as strings, `None` left out.
    fn encode(&self, ext: &mut ExtFields);

    /// A fresh map holding just this header.
    fn to_ext_fields(&self) -> ExtFields {
        let mut ext = ExtFields::new();
        self.encode(&mut ext);
        ext
    }
}

/// How one Rust field type is read from and written to `extFields` (see the module table).
pub(crate) trait HeaderField: Sized {
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError>;
    fn write(&self, key: &'static str, ext: &mut ExtFields);
}

/// `Boolean.parseBoolean`: only "true", ignoring case, is true.
fn parse_bool(value: &str) -> bool {
    value.eq_ignore_ascii_case("true")
}

fn parse_number<T: std::str::FromStr>(key: &'static str, value: &str) -> Result<T, CodecError> {
    value.trim().parse().map_err(|_| CodecError::InvalidField {
        field: key,
        value: value.to_string(),
    })
}

impl HeaderField for String {
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError> {
        ext.get(key).cloned().ok_or(CodecError::MissingField(key))
    }
    fn write(&self, key: &'static str, ext: &mut ExtFields) {
        ext.insert(key.to_string(), self.clone());
    }
}

impl HeaderField for Option<String> {
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError> {
        Ok(ext.get(key).cloned())
    }
    fn write(&self, key: &'static str, ext: &mut ExtFields) {
        if let Some(value) = self {
            value.write(key, ext);
        }
    }
}

impl HeaderField for bool {
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError> {
        Ok(ext.get(key).is_some_and(|value| parse_bool(value)))
    }
    fn write(&self, key: &'static str, ext: &mut ExtFields) {
        ext.insert(key.to_string(), self.to_string());
    }
}

impl HeaderField for Option<bool> {
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError> {
        Ok(ext.get(key).map(|value| parse_bool(value)))
    }
    fn write(&self, key: &'static str, ext: &mut ExtFields) {
        if let Some(value) = self {
            value.write(key, ext);
        }
    }
}

/// Required and optional forms of the integer types.
macro_rules! number_fields {
    ($($ty:ty),*) => {$(
        impl HeaderField for $ty {
            fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError> {
                let value = ext.get(key).ok_or(CodecError::MissingField(key))?;
                parse_number(key, value)
            }
            fn write(&self, key: &'static str, ext: &mut ExtFields) {
                ext.insert(key.to_string(), self.to_string());
            }
        }

        impl HeaderField for Option<$ty> {
            fn read(ext: &ExtFields, key: &'static str) -> Result<Self, CodecError> {
                ext.get(key).map(|value| parse_number(key, value)).transpose()
            }
            fn write(&self, key: &'static str, ext: &mut ExtFields) {
                if let Some(value) = self {
                    value.write(key, ext);
                }
            }
        }
    )*};
}

number_fields!(i32, i64);

/// Reads one field; with a default, a missing key yields the default instead of an error.
macro_rules! read_field {
    ($ext:ident, $ty:ty, $key:literal) => {
        <$ty as $crate::header::HeaderField>::read($ext, $key)?
    };
    ($ext:ident, $ty:ty, $key:literal, $default:expr) => {
        <Option<$ty> as $crate::header::HeaderField>::read($ext, $key)?.unwrap_or($default)
    };
}

/// Declares a header struct with public fields and its [`CommandHeader`] impl.
///
/// Each field is `name: Type = "javaKey"`, optionally followed by `or default` for a value that
/// Java initialises and that may be absent on the wire (older senders).
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty = $key:literal $(or $default:expr)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[doc = concat!("\n\nWire key `", $key, "`.")]
                pub $field: $ty,
            )*
        }

        impl $crate::header::CommandHeader for $name {
            fn decode(ext: &$crate::command::ExtFields) -> Result<Self, $crate::CodecError> {
                Ok(Self {
                    $( $field: read_field!(ext, $ty, $key $(, $default)?), )*
                })
            }

            fn encode(&self, ext: &mut $crate::command::ExtFields) {
                $( $crate::header::HeaderField::write(&self.$field, $key, ext); )*
            }
        }
    };
}

mod acl;
mod admin;
mod broker_admin;
mod consume;
mod namesrv;
pub mod pop;
mod send;
mod stats;

pub use acl::{
    CreateAccessConfigRequestHeader, DeleteAccessConfigRequestHeader,
    GetBrokerAclConfigResponseHeader, UpdateGlobalWhiteAddrsConfigRequestHeader,
};
pub use admin::{
    ConsumeMessageDirectlyRequestHeader, CreateTopicRequestHeader, DeleteTopicRequestHeader,
    GetConsumerRunningInfoRequestHeader, GetConsumerStatusRequestHeader,
    GetTopicsByClusterRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
    ResetOffsetRequestHeader, ViewMessageRequestHeader,
};
pub use broker_admin::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetBrokerConfigResponseHeader, GetSubscriptionGroupConfigRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
pub use consume::{
    GetConsumerListByGroupRequestHeader, GetEarliestMsgStoretimeRequestHeader,
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, OffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader,
    UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
};
pub use namesrv::{
    AddWritePermOfBrokerResponseHeader, DeleteKvConfigRequestHeader, GetKvConfigRequestHeader,
    GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader, GetRouteInfoRequestHeader,
    PutKvConfigRequestHeader, QueryDataVersionRequestHeader, QueryDataVersionResponseHeader,
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
    WipeWritePermOfBrokerResponseHeader, WritePermOfBrokerRequestHeader,
};
pub use send::{
    CheckTransactionStateRequestHeader, ConsumerSendMsgBackRequestHeader,
    EndTransactionRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
pub use stats::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
    GetTopicConfigRequestHeader, GetTopicStatsInfoRequestHeader, QueryConsumeQueueRequestHeader,
    QueryConsumeTimeSpanRequestHeader, QueryTopicConsumeByWhoRequestHeader,
};

#[cfg(test)]
pub(crate) fn ext_of(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_rules() {
        let ext = ext_of(&[
            ("n", " 42 "),
            ("bad", "4x"),
            ("t", "TRUE"),
            ("f", "yes"),
            ("big", "9999999999"),
        ]);
        assert_eq!(i32::read(&ext, "n"), Ok(42));
        assert_eq!(i64::read(&ext, "big"), Ok(9_999_999_999));
        assert_eq!(
            i32::read(&ext, "big"),
            Err(CodecError::InvalidField {
                field: "big",
                value: "9999999999".into()
            })
        );
        assert_eq!(
            i32::read(&ext, "bad"),
            Err(CodecError::InvalidField {
                field: "bad",
                value: "4x".into()
            })
        );
        assert_eq!(
            i64::read(&ext, "none"),
            Err(CodecError::MissingField("none"))
        );
        assert_eq!(<Option<i64>>::read(&ext, "none"), Ok(None));
        assert!(<Option<i32>>::read(&ext, "bad").is_err());
        assert_eq!(bool::read(&ext, "t"), Ok(true));
        assert_eq!(bool::read(&ext, "f"), Ok(false));
        assert_eq!(bool::read(&ext, "none"), Ok(false));
        assert_eq!(<Option<bool>>::read(&ext, "none"), Ok(None));
        assert_eq!(<Option<bool>>::read(&ext, "f"), Ok(Some(false)));
        assert_eq!(
            String::read(&ext, "none"),
            Err(CodecError::MissingField("none"))
        );
    }

    #[test]
    fn none_is_not_written() {
        let mut ext = ExtFields::new();
        None::<i64>.write("a", &mut ext);
        None::<String>.write("b", &mut ext);
        None::<bool>.write("c", &mut ext);
        assert!(ext.is_empty());
        Some(-5i64).write("a", &mut ext);
        false.write("c", &mut ext);
        assert_eq!(ext, ext_of(&[("a", "-5"), ("c", "false")]));
    }
}
