//! `topics.json`: the broker's topic table (`TopicConfigManager` / `TopicConfigSerializeWrapper`).

use std::collections::BTreeMap;
use std::path::Path;

use rmq_codec::fastjson::Value;

use super::{
    field_bool, field_i32, field_object, field_string, field_string_map, load_decoded,
    persist_json_file, ConfigError, DataVersion,
};

/// Topic permission bits (`PermName`).
pub mod perm {
    pub const PRIORITY: i32 = 8;
    pub const READ: i32 = 4;
    pub const WRITE: i32 = 2;
    pub const INHERIT: i32 = 1;

    pub fn is_readable(perm: i32) -> bool {
        perm & READ == READ
    }

    pub fn is_writeable(perm: i32) -> bool {
        perm & WRITE == WRITE
    }

    pub fn is_inherited(perm: i32) -> bool {
        perm & INHERIT == INHERIT
    }

    /// `PermName.perm2String`: e.g. `RW-` for 6, `R--` for 4.
    pub fn to_display(perm: i32) -> String {
        let flag = |bit: i32, c: char| if perm & bit == bit { c } else { '-' };
        [flag(READ, 'R'), flag(WRITE, 'W'), flag(INHERIT, 'X')]
            .iter()
            .collect()
    }
}

/// One topic's configuration, with the Java property names on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    pub topic_sys_flag: i32,
    pub order: bool,
    /// 5.x topic attributes such as `+message.type`; absent in 4.x files.
    pub attributes: BTreeMap<String, String>,
}

impl TopicConfig {
    pub const DEFAULT_QUEUE_NUMS: i32 = 16;

    /// Java's defaults: 16 read and write queues, read+write permission.
    pub fn new(topic_name: impl Into<String>) -> TopicConfig {
        TopicConfig::with_queues(
            topic_name,
            Self::DEFAULT_QUEUE_NUMS,
            Self::DEFAULT_QUEUE_NUMS,
            perm::READ | perm::WRITE,
        )
    }

    pub fn with_queues(
        topic_name: impl Into<String>,
        read_queue_nums: i32,
        write_queue_nums: i32,
        perm: i32,
    ) -> TopicConfig {
        TopicConfig {
            topic_name: topic_name.into(),
            read_queue_nums,
            write_queue_nums,
            perm,
            topic_filter_type: "SINGLE_TAG".to_owned(),
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }

    /// The fastjson bean form, properties sorted: also the `topicConfigTable` entries of REGISTER_BROKER and the
    /// body of GET_TOPIC_CONFIG. The wire type writes it, so the file and the wire cannot drift apart.
    pub fn to_value(&self) -> Value {
        rmq_codec::body::TopicConfig::from(self).to_value()
    }

    /// Reads the bean form; missing fields take the Java defaults, `topicFilterType` may be an enum ordinal.
    pub fn from_value(v: &Value) -> Result<TopicConfig, ConfigError> {
        if v.as_object().is_none() {
            return Err(ConfigError::Invalid("topic config is not an object".into()));
        }
        let topic_filter_type = match v.get("topicFilterType") {
            Some(Value::Int(0)) => "SINGLE_TAG".to_owned(),
            Some(Value::Int(1)) => "MULTI_TAG".to_owned(),
            _ => field_string(v, "topicFilterType", "SINGLE_TAG")?,
        };
        Ok(TopicConfig {
            topic_name: field_string(v, "topicName", "")?,
            read_queue_nums: field_i32(v, "readQueueNums", Self::DEFAULT_QUEUE_NUMS)?,
            write_queue_nums: field_i32(v, "writeQueueNums", Self::DEFAULT_QUEUE_NUMS)?,
            perm: field_i32(v, "perm", perm::READ | perm::WRITE)?,
            topic_filter_type,
            topic_sys_flag: field_i32(v, "topicSysFlag", 0)?,
            order: field_bool(v, "order", false)?,
            attributes: field_string_map(v, "attributes")?,
        })
    }
}

/// `topics.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicConfigFile {
    pub data_version: DataVersion,
    /// By topic name.
    pub topics: BTreeMap<String, TopicConfig>,
}

impl TopicConfigFile {
    /// `TopicConfigSerializeWrapper`: `{"dataVersion":..,"topicConfigTable":..}`. This is the file content and
    /// also the `topicConfigSerializeWrapper` of a REGISTER_BROKER body.
    pub fn to_wrapper_value(&self) -> Value {
        Value::object([
            ("dataVersion", self.data_version.to_value()),
            (
                "topicConfigTable",
                Value::object(
                    self.topics
                        .iter()
                        .map(|(name, t)| (name.as_str(), t.to_value())),
                ),
            ),
        ])
    }

    /// Reads the wrapper form. A topic without `topicName` takes its table key.
    pub fn from_value(v: &Value) -> Result<TopicConfigFile, ConfigError> {
        let mut topics = BTreeMap::new();
        for (key, t) in field_object(v, "topicConfigTable")? {
            let name = key.as_str().ok_or_else(|| {
                ConfigError::Invalid("topicConfigTable has a non-string key".into())
            })?;
            let mut topic = TopicConfig::from_value(t)?;
            if topic.topic_name.is_empty() {
                topic.topic_name = name.to_owned();
            }
            topics.insert(name.to_owned(), topic);
        }
        let data_version = DataVersion::from_field(v)?.unwrap_or_default();
        Ok(TopicConfigFile {
            data_version,
            topics,
        })
    }

    /// Loads the file (or its `.bak`); an empty table with a fresh DataVersion if neither exists.
    pub fn load(path: &Path) -> Result<TopicConfigFile, ConfigError> {
        Ok(load_decoded(path, TopicConfigFile::from_value)?.unwrap_or_default())
    }

    pub fn persist(&self, path: &Path) -> Result<(), ConfigError> {
        persist_json_file(path, &self.to_wrapper_value())
    }
}

/// The topic as REGISTER_BROKER carries it.
impl From<&TopicConfig> for rmq_codec::body::TopicConfig {
    fn from(t: &TopicConfig) -> Self {
        rmq_codec::body::TopicConfig {
            topic_name: t.topic_name.clone(),
            read_queue_nums: t.read_queue_nums,
            write_queue_nums: t.write_queue_nums,
            perm: t.perm,
            topic_filter_type: t.topic_filter_type.clone(),
            topic_sys_flag: t.topic_sys_flag,
            order: t.order,
            attributes: t.attributes.clone(),
        }
    }
}

/// The `topicConfigSerializeWrapper` of a REGISTER_BROKER body: the same JSON as [`TopicConfigFile::to_wrapper_value`].
impl From<&TopicConfigFile> for rmq_codec::body::TopicConfigSerializeWrapper {
    fn from(file: &TopicConfigFile) -> Self {
        rmq_codec::body::TopicConfigSerializeWrapper {
            data_version: file.data_version.into(),
            topic_config_table: file
                .topics
                .iter()
                .map(|(name, t)| (name.clone(), t.into()))
                .collect(),
        }
    }
}
