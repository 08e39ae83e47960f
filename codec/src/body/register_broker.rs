//! `RegisterBrokerBody`, the body of REGISTER_BROKER (103): the broker's topic configs and their
//! `DataVersion`, in its uncompressed JSON form:
//!
//! ```text
//! {"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,"stateVersion":0,
//!  "timestamp":1700000000000},"topicConfigTable":{"T":{"attributes":{},"order":false,"perm":6,
//!  "readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}}
//! ```
//!
//! A broker with `compressedRegister=true` sends `RegisterBrokerBody.encode(true)`, a deflated binary layout,
//! and sets the header's `compressed`; that form is not read here.

use std::collections::BTreeMap;

use super::{
    bool_field, i32_field, i64_field, java_bean, parse_body, str_field, string_array, string_list,
};
use crate::fastjson::{self, Key, Value};
use crate::CodecError;

/// `DataVersion`: the name server rebuilds a broker's queue data only when this changes. Missing fields
/// read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataVersion {
    pub state_version: i64,
    /// Milliseconds since the epoch of the last change.
    pub timestamp: i64,
    pub counter: i64,
}

/// `TopicConfig`, as the broker registers it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    pub topic_sys_flag: i32,
    pub order: bool,
    /// 5.x topic attributes such as `+message.type`.
    pub attributes: BTreeMap<String, String>,
}

/// `TopicConfigSerializeWrapper`: the topic table and its version (also the content of `topics.json`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicConfigSerializeWrapper {
    pub data_version: DataVersion,
    /// By topic name, in body order. An integer key is read as its decimal text; an object key is skipped.
    pub topic_config_table: Vec<(String, TopicConfig)>,
}

/// `RegisterBrokerBody`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterBrokerBody {
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    pub filter_server_list: Vec<String>,
}

impl DataVersion {
    /// Reads a `dataVersion` value; anything but an object reads as all zeros.
    pub fn from_value(v: &Value) -> DataVersion {
        DataVersion {
            state_version: i64_field(v, "stateVersion"),
            timestamp: i64_field(v, "timestamp"),
            counter: i64_field(v, "counter"),
        }
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            ("counter", Value::Int(self.counter)),
            ("stateVersion", Value::Int(self.state_version)),
            ("timestamp", Value::Int(self.timestamp)),
        ])
    }

    /// Reads the body of QUERY_DATA_VERSION.
    pub fn decode(body: &[u8]) -> Result<DataVersion, CodecError> {
        Ok(DataVersion::from_value(&parse_body(
            body,
            "data version body",
        )?))
    }

    pub fn encode(&self) -> String {
        fastjson::to_string(&self.to_value())
    }
}

impl TopicConfig {
    /// Reads the bean form; fields of the wrong type or missing read as 0, empty or false.
    pub fn from_value(v: &Value) -> TopicConfig {
        let attributes = v
            .get("attributes")
            .and_then(Value::as_object)
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
            .collect();
        TopicConfig {
            topic_name: str_field(v, "topicName"),
            read_queue_nums: i32_field(v, "readQueueNums"),
            write_queue_nums: i32_field(v, "writeQueueNums"),
            perm: i32_field(v, "perm"),
            topic_filter_type: str_field(v, "topicFilterType"),
            topic_sys_flag: i32_field(v, "topicSysFlag"),
            order: bool_field(v, "order"),
            attributes,
        }
    }

    /// The bean form, properties sorted.
    pub fn to_value(&self) -> Value {
        Value::object([
            ("attributes", Value::from(self.attributes.clone())),
            ("order", Value::Bool(self.order)),
            ("perm", Value::from(self.perm)),
            ("readQueueNums", Value::from(self.read_queue_nums)),
            (
                "topicFilterType",
                Value::from(self.topic_filter_type.as_str()),
            ),
            ("topicName", Value::from(self.topic_name.as_str())),
            ("topicSysFlag", Value::from(self.topic_sys_flag)),
            ("writeQueueNums", Value::from(self.write_queue_nums)),
        ])
    }
}

impl TopicConfigSerializeWrapper {
    /// Reads the wrapper's fields from an object; a non-object `topicConfigTable` is empty.
    pub fn from_value(v: &Value) -> TopicConfigSerializeWrapper {
        let table = v
            .get("topicConfigTable")
            .and_then(Value::as_object)
            .unwrap_or(&[]);
        let topic_config_table = table
            .iter()
            .filter_map(|(key, config)| {
                let name = match key {
                    Key::Str(s) => s.clone(),
                    Key::Int(i) => i.to_string(),
                    Key::Object(_) => return None,
                };
                Some((name, TopicConfig::from_value(config)))
            })
            .collect();
        TopicConfigSerializeWrapper {
            data_version: v
                .get("dataVersion")
                .map(DataVersion::from_value)
                .unwrap_or_default(),
            topic_config_table,
        }
    }

    pub fn to_value(&self) -> Value {
        let table = self
            .topic_config_table
            .iter()
            .map(|(name, config)| (Key::Str(name.clone()), config.to_value()))
            .collect();
        Value::object([
            ("dataVersion", self.data_version.to_value()),
            ("topicConfigTable", Value::Object(table)),
        ])
    }
}

impl RegisterBrokerBody {
    /// Reads the uncompressed body as Java's name server does (`RouteInfoManager.registerBroker`):
    /// - no body at all is an empty `RegisterBrokerBody` (zero DataVersion, no topics);
    /// - a body fastjson binds to null (`null`, `[]`, `""`) is the NullPointerException of `registerBroker`,
    ///   and a body or wrapper that is not an object fastjson refuses;
    /// - a null wrapper leaves the bean's empty default, so no topics are registered;
    /// - a body without `topicConfigSerializeWrapper` is taken as a bare wrapper (very old brokers).
    pub fn decode(body: &[u8]) -> Result<RegisterBrokerBody, CodecError> {
        if body.is_empty() {
            return Ok(RegisterBrokerBody::default());
        }
        let doc = parse_body(body, "register body")?;
        let doc = java_bean(&doc, "RegisterBrokerBody")?
            .ok_or(CodecError::NullField("registerBrokerBody"))?;
        let filter_server_list = string_list(doc, "filterServerList");
        let wrapper = match doc.get("topicConfigSerializeWrapper") {
            Some(w) => match java_bean(w, "topicConfigSerializeWrapper")? {
                Some(w) => TopicConfigSerializeWrapper::from_value(w),
                None => TopicConfigSerializeWrapper::default(),
            },
            None => TopicConfigSerializeWrapper::from_value(doc),
        };
        Ok(RegisterBrokerBody {
            topic_config_serialize_wrapper: wrapper,
            filter_server_list,
        })
    }

    pub fn encode(&self) -> String {
        let doc = Value::object([
            ("filterServerList", string_array(&self.filter_server_list)),
            (
                "topicConfigSerializeWrapper",
                self.topic_config_serialize_wrapper.to_value(),
            ),
        ]);
        fastjson::to_string(&doc)
    }
}
