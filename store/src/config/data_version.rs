//! `DataVersion`: the stamp a broker sends with its topic table so the name server can tell whether it changed.

use std::time::{SystemTime, UNIX_EPOCH};

use rmq_codec::fastjson::Value;

use super::{field_i64, ConfigError};

/// `{"counter":..,"stateVersion":..,"timestamp":..}`. The name server compares all three fields
/// (`DataVersion.equals`), so any topic table change must call [`DataVersion::next_version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVersion {
    pub state_version: i64,
    /// Milliseconds since the epoch of the last change.
    pub timestamp: i64,
    pub counter: i64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl DataVersion {
    /// What Java's `new DataVersion()` holds: counter 0, timestamp now.
    pub fn new() -> DataVersion {
        DataVersion {
            state_version: 0,
            timestamp: now_ms(),
            counter: 0,
        }
    }

    /// Java `nextVersion()`: timestamp = now, counter + 1.
    pub fn next_version(&mut self) {
        self.timestamp = now_ms();
        self.counter += 1;
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            ("counter", Value::Int(self.counter)),
            ("stateVersion", Value::Int(self.state_version)),
            ("timestamp", Value::Int(self.timestamp)),
        ])
    }

    /// Reads the JSON form; missing fields are 0 (the `timestamp` too, so a partial stamp never equals a fresh one).
    pub fn from_value(v: &Value) -> Result<DataVersion, ConfigError> {
        if v.as_object().is_none() {
            return Err(ConfigError::Invalid("dataVersion is not an object".into()));
        }
        Ok(DataVersion {
            state_version: field_i64(v, "stateVersion", 0)?,
            timestamp: field_i64(v, "timestamp", 0)?,
            counter: field_i64(v, "counter", 0)?,
        })
    }

    /// Reads an optional `dataVersion` field of `obj`.
    pub(crate) fn from_field(obj: &Value) -> Result<Option<DataVersion>, ConfigError> {
        match obj.get("dataVersion") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => DataVersion::from_value(v).map(Some),
        }
    }
}

impl From<DataVersion> for rmq_codec::body::DataVersion {
    fn from(v: DataVersion) -> Self {
        rmq_codec::body::DataVersion {
            state_version: v.state_version,
            timestamp: v.timestamp,
            counter: v.counter,
        }
    }
}

impl Default for DataVersion {
    fn default() -> DataVersion {
        DataVersion::new()
    }
}
