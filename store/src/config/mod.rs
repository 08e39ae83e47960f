//! The broker's JSON config files under `<root>/config/`, in the shapes fastjson gives them, written atomically.
//!
//! - [`data_version`][]: `DataVersion`, the change stamp the name server compares.
//! - [`topic`][]: `topics.json` (`TopicConfig`, permission bits).
//! - [`offsets`][]: `consumerOffset.json` and `delayOffset.json` (unquoted integer keys).
//! - [`subscription`][]: `subscriptionGroup.json`.
//! - [`persister`][]: the thread that writes them off the request path, coalesced and in order.
//!
//! Durability (what [`persist_json_file`] promises): when it returns `Ok`, the new content is on disk under the
//! file's name and the previous content under `<file>.bak`, both durable (file and directory fsynced). A crash at
//! any point leaves either the old file, or no file and a complete `.bak`, which [`load_decoded`] falls back to.
//! Two persists of the same file must not run concurrently (they share `<file>.tmp`): the broker's files go
//! through the one [`Persister`] thread.

pub mod data_version;
pub mod offsets;
pub mod persister;
pub mod subscription;
pub mod topic;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rmq_codec::fastjson::{self, Value};
use rmq_codec::CodecError;
use thiserror::Error;

pub use data_version::DataVersion;
pub use offsets::{ConsumerOffsetFile, DelayOffsetFile};
pub use persister::{PersistedFile, Persister, Unwritten};
pub use subscription::{SubscriptionGroupConfig, SubscriptionGroupFile};
pub use topic::{perm, TopicConfig, TopicConfigFile};

/// Failure to read, decode or write a config file.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} does not parse: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: CodecError,
    },
    /// The JSON parses but a field has the wrong type.
    #[error("invalid config json: {0}")]
    Invalid(String),
    /// The file exists but neither it nor its `.bak` is usable. We stop rather than start from empty state
    /// (Java would silently start empty, losing e.g. every consumer offset).
    #[error("{path} is corrupt and has no usable backup: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

/// `<root>/config`.
pub fn config_dir(root: &Path) -> PathBuf {
    root.join("config")
}

/// `<root>/config/topics.json`.
pub fn topics_path(root: &Path) -> PathBuf {
    config_dir(root).join("topics.json")
}

/// `<root>/config/consumerOffset.json`.
pub fn consumer_offset_path(root: &Path) -> PathBuf {
    config_dir(root).join("consumerOffset.json")
}

/// `<root>/config/delayOffset.json`.
pub fn delay_offset_path(root: &Path) -> PathBuf {
    config_dir(root).join("delayOffset.json")
}

/// `<root>/config/subscriptionGroup.json`.
pub fn subscription_group_path(root: &Path) -> PathBuf {
    config_dir(root).join("subscriptionGroup.json")
}

/// `<file><suffix>`, e.g. `topics.json.bak`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a config file as a JSON value; see [`load_decoded`] for the fallback rules.
pub fn load_json_file(path: &Path) -> Result<Option<Value>, ConfigError> {
    load_decoded(path, |v| Ok(v.clone()))
}

/// Reads and decodes a config file like Java's `ConfigManager.load`: a missing or empty file, or one that does
/// not parse or decode, falls back to `<file>.bak`. Returns `None` when neither file has content.
///
/// Unlike Java we do not delete a corrupt file: it is renamed to `<file>.corrupt` once the backup has been
/// loaded (so the next persist does not rotate it into `.bak`), and if there is no usable backup we return
/// [`ConfigError::Corrupt`] instead of starting empty.
pub fn load_decoded<T>(
    path: &Path,
    decode: impl Fn(&Value) -> Result<T, ConfigError>,
) -> Result<Option<T>, ConfigError> {
    let main_failure = match read_and_decode(path, &decode)? {
        Some(Ok(v)) => return Ok(Some(v)),
        Some(Err(e)) => Some(e),
        None => None,
    };
    let bak = sibling(path, ".bak");
    match (read_and_decode(&bak, &decode)?, main_failure) {
        (Some(Ok(v)), failure) => {
            tracing::warn!(path = %path.display(), "config file unusable, loaded {}", bak.display());
            if failure.is_some() {
                fs::rename(path, sibling(path, ".corrupt")).map_err(io_err(path))?;
            }
            Ok(Some(v))
        }
        (None, None) => Ok(None),
        (None, Some(e)) => Err(ConfigError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        (Some(Err(bak_err)), main) => Err(ConfigError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "{}; backup: {bak_err}",
                main.map_or("missing or empty".into(), |e| e.to_string())
            ),
        }),
    }
}

/// `None` when the file is missing or empty; `Some(Err)` when its content is unusable. I/O errors other than
/// "not found" are returned as they are: an unreadable file is not a reason to fall back.
fn read_and_decode<T>(
    path: &Path,
    decode: &impl Fn(&Value) -> Result<T, ConfigError>,
) -> Result<Option<Result<T, ConfigError>>, ConfigError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let parsed = fastjson::parse_slice(&bytes).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    });
    Ok(Some(parsed.and_then(|v| decode(&v))))
}

/// Writes `v` pretty-printed (as `ConfigManager.persist` does), see [`persist_text_file`].
pub fn persist_json_file(path: &Path, v: &Value) -> Result<(), ConfigError> {
    persist_text_file(path, &fastjson::to_string_pretty(v))
}

/// Writes `text` as `MixAll.string2File` does: `<file>.tmp` is written and fsynced, the current file becomes
/// `<file>.bak`, the tmp file is renamed over the name, and the directory is fsynced.
pub fn persist_text_file(path: &Path, text: &str) -> Result<(), ConfigError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let tmp = sibling(path, ".tmp");
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    match fs::rename(path, sibling(path, ".bak")) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(&dir))
}

// Field readers shared by the file types. Like fastjson: a missing or null field keeps the Java default, numbers
// may come as strings, unknown fields are ignored; a value of the wrong type is an error.

fn invalid(name: &str, expected: &str, v: &Value) -> ConfigError {
    ConfigError::Invalid(format!(
        "field {name}: expected {expected}, got {}",
        fastjson::to_string(v)
    ))
}

fn present<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

pub(crate) fn field_i64(obj: &Value, name: &str, default: i64) -> Result<i64, ConfigError> {
    present(obj, name).map_or(Ok(default), |v| {
        v.as_i64().ok_or_else(|| invalid(name, "an integer", v))
    })
}

pub(crate) fn field_i32(obj: &Value, name: &str, default: i32) -> Result<i32, ConfigError> {
    present(obj, name).map_or(Ok(default), |v| {
        v.as_i32().ok_or_else(|| invalid(name, "an int", v))
    })
}

pub(crate) fn field_bool(obj: &Value, name: &str, default: bool) -> Result<bool, ConfigError> {
    present(obj, name).map_or(Ok(default), |v| {
        v.as_bool().ok_or_else(|| invalid(name, "a boolean", v))
    })
}

pub(crate) fn field_string(obj: &Value, name: &str, default: &str) -> Result<String, ConfigError> {
    present(obj, name).map_or(Ok(default.to_owned()), |v| scalar_string(name, v))
}

/// fastjson's `castToString` accepts any scalar where a string is expected.
fn scalar_string(name: &str, v: &Value) -> Result<String, ConfigError> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(_) | Value::Bool(_) | Value::Float(_) => Ok(fastjson::to_string(v)),
        _ => Err(invalid(name, "a string", v)),
    }
}

/// A field that must be an object (or absent); returns its entries.
pub(crate) fn field_object<'a>(
    obj: &'a Value,
    name: &str,
) -> Result<&'a [(fastjson::Key, Value)], ConfigError> {
    match present(obj, name) {
        None => Ok(&[]),
        Some(v) => v.as_object().ok_or_else(|| invalid(name, "an object", v)),
    }
}

/// A `Map<String, String>` field such as `attributes`.
pub(crate) fn field_string_map(
    obj: &Value,
    name: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut map = BTreeMap::new();
    for (k, v) in field_object(obj, name)? {
        let key = k
            .as_str()
            .ok_or_else(|| invalid(name, "string keys", obj))?;
        if !v.is_null() {
            map.insert(key.to_owned(), scalar_string(name, v)?);
        }
    }
    Ok(map)
}

/// A `Map<Integer, Long>` such as an `offsetTable` entry; accepts quoted keys too.
pub(crate) fn int_long_map(name: &str, v: &Value) -> Result<BTreeMap<i32, i64>, ConfigError> {
    let entries = v.as_object().ok_or_else(|| invalid(name, "an object", v))?;
    let mut map = BTreeMap::new();
    for (k, offset) in entries {
        let id = k.as_i64().and_then(|i| i32::try_from(i).ok());
        let id = id.ok_or_else(|| invalid(name, "integer keys", v))?;
        if !offset.is_null() {
            map.insert(
                id,
                offset
                    .as_i64()
                    .ok_or_else(|| invalid(name, "integer values", v))?,
            );
        }
    }
    Ok(map)
}

/// The value form of a `Map<Integer, Long>`: unquoted integer keys, as fastjson writes them.
pub(crate) fn int_long_map_value(map: &BTreeMap<i32, i64>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (fastjson::Key::Int(i64::from(*k)), Value::Int(*v)))
            .collect(),
    )
}
