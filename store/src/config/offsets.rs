//! `consumerOffset.json` and `delayOffset.json`: maps of integer queue ids or delay levels, which fastjson writes
//! with unquoted keys (`{0:37960,1:37961}`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rmq_codec::fastjson::Value;

use super::{
    field_object, int_long_map, int_long_map_value, load_decoded, persist_json_file, ConfigError,
    DataVersion,
};

/// Separates topic and group in `offsetTable` keys.
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// `consumerOffset.json`: committed consumer offsets (the next offset to consume, per queue).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerOffsetFile {
    /// `"topic@group"` → queue id → offset.
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    pub data_version: DataVersion,
}

impl ConsumerOffsetFile {
    /// The `offsetTable` key for a topic and group.
    pub fn key(topic: &str, group: &str) -> String {
        format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
    }

    /// Group → topics, derived from the keys; 5.x writes it because fastjson serializes the public getter
    /// `getGroupTopicMap()`. Keys that do not split into exactly two parts are skipped, as in Java.
    pub fn group_topic_map(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (topic, group) in self.topic_group_pairs() {
            map.entry(group.to_owned())
                .or_default()
                .insert(topic.to_owned());
        }
        map
    }

    /// `(topic, group)` of every key that splits into exactly two parts at `@` (Java's
    /// `whichTopicByConsumer` / `whichGroupByTopic` skip the others).
    pub fn topic_group_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.offsets.keys().filter_map(|key| {
            let mut parts = key.split(TOPIC_GROUP_SEPARATOR);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(topic), Some(group), None) => Some((topic, group)),
                _ => None,
            }
        })
    }

    /// The 5.x file form: `dataVersion`, the derived `groupTopicMap`, and `offsetTable` with unquoted int keys.
    pub fn to_value(&self) -> Value {
        let groups = self
            .group_topic_map()
            .into_iter()
            .map(|(group, topics)| (group, Value::from(topics.into_iter().collect::<Vec<_>>())));
        Value::object([
            ("dataVersion", self.data_version.to_value()),
            ("groupTopicMap", Value::object(groups)),
            (
                "offsetTable",
                Value::object(
                    self.offsets
                        .iter()
                        .map(|(k, m)| (k.as_str(), int_long_map_value(m))),
                ),
            ),
        ])
    }

    /// Reads 4.x (`offsetTable` only) and 5.x files; `groupTopicMap` is derived and ignored, like unknown fields.
    pub fn from_value(v: &Value) -> Result<ConsumerOffsetFile, ConfigError> {
        let mut offsets = BTreeMap::new();
        for (key, table) in field_object(v, "offsetTable")? {
            let key = key
                .as_str()
                .ok_or_else(|| ConfigError::Invalid("offsetTable has a non-string key".into()))?;
            if !table.is_null() {
                offsets.insert(key.to_owned(), int_long_map(key, table)?);
            }
        }
        let data_version = DataVersion::from_field(v)?.unwrap_or_default();
        Ok(ConsumerOffsetFile {
            offsets,
            data_version,
        })
    }

    pub fn load(path: &Path) -> Result<ConsumerOffsetFile, ConfigError> {
        Ok(load_decoded(path, ConsumerOffsetFile::from_value)?.unwrap_or_default())
    }

    pub fn persist(&self, path: &Path) -> Result<(), ConfigError> {
        persist_json_file(path, &self.to_value())
    }
}

/// `delayOffset.json`: per delay level (1..=18), the next consume-queue offset to deliver from
/// `SCHEDULE_TOPIC_XXXX` queue `level - 1`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DelayOffsetFile {
    pub offsets: BTreeMap<i32, i64>,
    /// Written by 5.x only; 4.x files have none.
    pub data_version: Option<DataVersion>,
}

impl DelayOffsetFile {
    pub fn to_value(&self) -> Value {
        let mut entries = Vec::with_capacity(2);
        if let Some(dv) = &self.data_version {
            entries.push(("dataVersion", dv.to_value()));
        }
        entries.push(("offsetTable", int_long_map_value(&self.offsets)));
        Value::object(entries)
    }

    pub fn from_value(v: &Value) -> Result<DelayOffsetFile, ConfigError> {
        let offsets = match v.get("offsetTable") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(table) => int_long_map("offsetTable", table)?,
        };
        Ok(DelayOffsetFile {
            offsets,
            data_version: DataVersion::from_field(v)?,
        })
    }

    pub fn load(path: &Path) -> Result<DelayOffsetFile, ConfigError> {
        Ok(load_decoded(path, DelayOffsetFile::from_value)?.unwrap_or_default())
    }

    pub fn persist(&self, path: &Path) -> Result<(), ConfigError> {
        persist_json_file(path, &self.to_value())
    }
}
