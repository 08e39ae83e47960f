//! A small JSON value model that reads and writes what fastjson 1.2.x (the Java broker's JSON library) does.
//!
//! fastjson differs from standard JSON in ways clients and the Java broker depend on:
//! - `Map<Integer, _>` keys are written unquoted: `{0:37960,1:37961}`;
//! - `Map<MessageQueue, _>` keys are written as JSON objects: `{{"brokerName":"b","queueId":0,"topic":"T"}:5}`;
//! - the parser accepts those, plus single-quoted strings, unquoted identifier keys and comments.
//!
//! [`Value`] keeps object entries in insertion order (a `Vec`), so callers decide the order; Java beans are
//! written with their properties sorted, which is the order our config types build.
//!
//! Writers: [`to_string`] (fastjson's compact default), [`to_string_pretty`] (`toJSONString(obj, true)`, used for
//! the config files) and [`to_standard_string`] (`BrowserCompatible`+`MapSortField`, strict JSON for route
//! bodies sent to clients >= 4.9.4).

mod parse;
mod write;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::CodecError;

pub use parse::{parse, parse_slice, MAX_DEPTH};
pub use write::{java_double, to_standard_string, to_string, to_string_pretty};

/// An object key. fastjson writes non-string map keys as bare JSON values, not strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A quoted (or, when parsing, single-quoted or bare identifier) key.
    Str(String),
    /// An unquoted integer key, as in `Map<Integer, Long>`.
    Int(i64),
    /// An object used as a key, as in `Map<MessageQueue, Long>`.
    Object(Vec<(Key, Value)>),
}

/// A JSON value as fastjson reads and writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
    /// Entries in insertion order. Entries whose value is `Null` are omitted on output, as fastjson does.
    Object(Vec<(Key, Value)>),
}

impl Key {
    /// The key as text, when it is a string key.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Key::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The key as an integer: an unquoted integer key, or a quoted one such as `"0"` (standard JSON writers).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Key::Int(i) => Some(*i),
            Key::Str(s) => s.trim().parse().ok(),
            Key::Object(_) => None,
        }
    }

    /// The entries of an object key.
    pub fn as_object(&self) -> Option<&[(Key, Value)]> {
        match self {
            Key::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// Looks up a string-keyed entry of an object key (e.g. `queueId` of a MessageQueue key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|entries| lookup(entries, key))
    }
}

fn lookup<'a>(entries: &'a [(Key, Value)], key: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

impl Value {
    /// Builds an object from entries, keeping their order.
    pub fn object<K: Into<Key>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An empty object, `{}`.
    pub fn empty_object() -> Value {
        Value::Object(Vec::new())
    }

    /// The value of a string-keyed entry of an object; `None` for other variants.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|entries| lookup(entries, key))
    }

    /// Mutable access to a string-keyed entry of an object.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Object(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` to `value`, replacing an equal key in place or appending. Returns the previous value.
    /// A non-object `self` is replaced by an empty object first, so the call always takes effect.
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<Value>) -> Option<Value> {
        if !matches!(self, Value::Object(_)) {
            *self = Value::empty_object();
        }
        let Value::Object(entries) = self else {
            return None;
        };
        let (key, value) = (key.into(), value.into());
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                entries.push((key, value));
                None
            }
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as an integer. Like fastjson's `TypeUtils.castToLong`, numeric strings and integral floats count.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            // The range check keeps the cast exact; `as` would saturate silently.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Value::Str(s) => {
                let t = s.trim();
                t.parse()
                    .ok()
                    .or_else(|| Value::Float(t.parse().ok()?).as_i64())
            }
            _ => None,
        }
    }

    /// The value as an `i32`, if it is an integer (see [`Value::as_i64`]) in range.
    pub fn as_i32(&self) -> Option<i32> {
        self.as_i64().and_then(|i| i32::try_from(i).ok())
    }

    /// The value as a float; integers and numeric strings count.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean. Like fastjson's `TypeUtils.castToBoolean`: 1/0 and "true"/"false"/"1"/"0"/"Y"/"N"/
    /// "T"/"F" count too.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(1) => Some(true),
            Value::Int(0) => Some(false),
            Value::Str(s) => match s.trim() {
                t if t.eq_ignore_ascii_case("true") => Some(true),
                t if t.eq_ignore_ascii_case("false") => Some(false),
                "1" | "Y" | "T" => Some(true),
                "0" | "N" | "F" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(Key, Value)]> {
        match self {
            Value::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` so typed bodies can use serde. Integer keys become `"0"`, object keys
    /// their compact fastjson text; `Float` NaN/infinity become null.
    pub fn to_serde_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Array(items) => J::Array(items.iter().map(Value::to_serde_json).collect()),
            Value::Object(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_serde_json()))
                    .collect(),
            ),
        }
    }

    /// Deserializes into a serde type, via [`Value::to_serde_json`].
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(&self) -> Result<T, CodecError> {
        serde_json::from_value(self.to_serde_json()).map_err(|e| CodecError::Json(e.to_string()))
    }

    /// Serializes a serde type into a value (struct fields in declaration order, maps as serde_json orders them).
    pub fn from_serialize<T: serde::Serialize + ?Sized>(v: &T) -> Result<Value, CodecError> {
        serde_json::to_value(v)
            .map(Value::from)
            .map_err(|e| CodecError::Json(e.to_string()))
    }
}

/// A key as the text a string-keyed map would use.
fn key_text(k: &Key) -> String {
    match k {
        Key::Str(s) => s.clone(),
        Key::Int(i) => i.to_string(),
        Key::Object(entries) => to_string(&Value::Object(entries.clone())),
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::Str(s.to_owned())
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        Key::Str(s)
    }
}

impl From<&String> for Key {
    fn from(s: &String) -> Key {
        Key::Str(s.clone())
    }
}

impl From<i64> for Key {
    fn from(i: i64) -> Key {
        Key::Int(i)
    }
}

impl From<i32> for Key {
    fn from(i: i32) -> Key {
        Key::Int(i64::from(i))
    }
}

macro_rules! value_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(i: $t) -> Value {
                Value::Int(i64::from(i))
            }
        }
    )*};
}
value_from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Str(s.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Value {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<K: Into<Key>, V: Into<Value>> From<BTreeMap<K, V>> for Value {
    fn from(map: BTreeMap<K, V>) -> Value {
        Value::Object(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                // u64 beyond i64 and real numbers; f64 is the closest we have.
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s),
            J::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            J::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (Key::Str(k), Value::from(v)))
                    .collect(),
            ),
        }
    }
}
