//! `subscriptionGroup.json`: consumer group settings (`SubscriptionGroupManager`, serialized as a whole bean).

use std::collections::BTreeMap;
use std::path::Path;

use rmq_codec::fastjson::Value;

use super::{
    field_bool, field_i32, field_i64, field_object, field_string, field_string_map, load_decoded,
    persist_json_file, ConfigError, DataVersion,
};

/// One consumer group's settings, with Java's defaults from [`SubscriptionGroupConfig::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    pub consume_message_orderly: bool,
    /// Number of `%RETRY%<group>` queues.
    pub retry_queue_nums: i32,
    /// Deliveries before a message goes to `%DLQ%<group>`.
    pub retry_max_times: i32,
    /// 5.x `GroupRetryPolicy`, kept as JSON: `{"type":"CUSTOMIZED"}` or `EXPONENTIAL` with its parameters.
    pub group_retry_policy: Value,
    pub broker_id: i64,
    pub which_broker_when_consume_slowly: i64,
    pub notify_consumer_ids_changed_enable: bool,
    pub group_sys_flag: i32,
    pub consume_timeout_minute: i32,
    /// 5.x static subscriptions; written only when present.
    pub subscription_data_set: Option<Value>,
    pub attributes: BTreeMap<String, String>,
}

impl SubscriptionGroupConfig {
    /// A group with the defaults of Java's `SubscriptionGroupConfig` constructor.
    pub fn new(group_name: impl Into<String>) -> SubscriptionGroupConfig {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            group_retry_policy: default_retry_policy(),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            subscription_data_set: None,
            attributes: BTreeMap::new(),
        }
    }

    /// The bean form, properties sorted (also the body of GET_SUBSCRIPTIONGROUP_CONFIG-style responses).
    pub fn to_value(&self) -> Value {
        Value::object([
            ("attributes", Value::from(self.attributes.clone())),
            ("brokerId", Value::Int(self.broker_id)),
            (
                "consumeBroadcastEnable",
                Value::Bool(self.consume_broadcast_enable),
            ),
            ("consumeEnable", Value::Bool(self.consume_enable)),
            (
                "consumeFromMinEnable",
                Value::Bool(self.consume_from_min_enable),
            ),
            (
                "consumeMessageOrderly",
                Value::Bool(self.consume_message_orderly),
            ),
            (
                "consumeTimeoutMinute",
                Value::from(self.consume_timeout_minute),
            ),
            ("groupName", Value::from(self.group_name.as_str())),
            ("groupRetryPolicy", self.group_retry_policy.clone()),
            ("groupSysFlag", Value::from(self.group_sys_flag)),
            (
                "notifyConsumerIdsChangedEnable",
                Value::Bool(self.notify_consumer_ids_changed_enable),
            ),
            ("retryMaxTimes", Value::from(self.retry_max_times)),
            ("retryQueueNums", Value::from(self.retry_queue_nums)),
            // A None becomes Null, which the writer omits, like fastjson omits null properties.
            (
                "subscriptionDataSet",
                Value::from(self.subscription_data_set.clone()),
            ),
            (
                "whichBrokerWhenConsumeSlowly",
                Value::Int(self.which_broker_when_consume_slowly),
            ),
        ])
    }

    /// Reads the bean form; missing fields (all of the 5.x ones in a 4.x file) take the Java defaults.
    pub fn from_value(v: &Value) -> Result<SubscriptionGroupConfig, ConfigError> {
        if v.as_object().is_none() {
            return Err(ConfigError::Invalid(
                "subscription group config is not an object".into(),
            ));
        }
        let d = SubscriptionGroupConfig::new(field_string(v, "groupName", "")?);
        let kept = |name: &str| v.get(name).filter(|x| !x.is_null()).cloned();
        Ok(SubscriptionGroupConfig {
            consume_enable: field_bool(v, "consumeEnable", d.consume_enable)?,
            consume_from_min_enable: field_bool(
                v,
                "consumeFromMinEnable",
                d.consume_from_min_enable,
            )?,
            consume_broadcast_enable: field_bool(
                v,
                "consumeBroadcastEnable",
                d.consume_broadcast_enable,
            )?,
            consume_message_orderly: field_bool(
                v,
                "consumeMessageOrderly",
                d.consume_message_orderly,
            )?,
            retry_queue_nums: field_i32(v, "retryQueueNums", d.retry_queue_nums)?,
            retry_max_times: field_i32(v, "retryMaxTimes", d.retry_max_times)?,
            group_retry_policy: kept("groupRetryPolicy").unwrap_or_else(default_retry_policy),
            broker_id: field_i64(v, "brokerId", d.broker_id)?,
            which_broker_when_consume_slowly: field_i64(
                v,
                "whichBrokerWhenConsumeSlowly",
                d.which_broker_when_consume_slowly,
            )?,
            notify_consumer_ids_changed_enable: field_bool(
                v,
                "notifyConsumerIdsChangedEnable",
                d.notify_consumer_ids_changed_enable,
            )?,
            group_sys_flag: field_i32(v, "groupSysFlag", d.group_sys_flag)?,
            consume_timeout_minute: field_i32(v, "consumeTimeoutMinute", d.consume_timeout_minute)?,
            subscription_data_set: kept("subscriptionDataSet"),
            attributes: field_string_map(v, "attributes")?,
            group_name: d.group_name,
        })
    }
}

fn default_retry_policy() -> Value {
    Value::object([("type", Value::from("CUSTOMIZED"))])
}

/// `subscriptionGroup.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionGroupFile {
    /// By group name.
    pub groups: BTreeMap<String, SubscriptionGroupConfig>,
    pub data_version: DataVersion,
    /// 5.x `forbiddenTable` (group → topic → forbidden bits), kept as JSON; `{}` by default.
    pub forbidden_table: Value,
}

impl Default for SubscriptionGroupFile {
    fn default() -> SubscriptionGroupFile {
        SubscriptionGroupFile {
            groups: BTreeMap::new(),
            data_version: DataVersion::new(),
            forbidden_table: Value::empty_object(),
        }
    }
}

impl SubscriptionGroupFile {
    pub fn to_value(&self) -> Value {
        Value::object([
            ("dataVersion", self.data_version.to_value()),
            ("forbiddenTable", self.forbidden_table.clone()),
            (
                "subscriptionGroupTable",
                Value::object(
                    self.groups
                        .iter()
                        .map(|(name, g)| (name.as_str(), g.to_value())),
                ),
            ),
        ])
    }

    /// Reads 4.x and 5.x files. A group without `groupName` takes its table key.
    pub fn from_value(v: &Value) -> Result<SubscriptionGroupFile, ConfigError> {
        let mut groups = BTreeMap::new();
        for (key, g) in field_object(v, "subscriptionGroupTable")? {
            let name = key.as_str().ok_or_else(|| {
                ConfigError::Invalid("subscriptionGroupTable has a non-string key".into())
            })?;
            let mut group = SubscriptionGroupConfig::from_value(g)?;
            if group.group_name.is_empty() {
                group.group_name = name.to_owned();
            }
            groups.insert(name.to_owned(), group);
        }
        Ok(SubscriptionGroupFile {
            groups,
            data_version: DataVersion::from_field(v)?.unwrap_or_default(),
            forbidden_table: v
                .get("forbiddenTable")
                .filter(|f| !f.is_null())
                .cloned()
                .unwrap_or_else(Value::empty_object),
        })
    }

    pub fn load(path: &Path) -> Result<SubscriptionGroupFile, ConfigError> {
        Ok(load_decoded(path, SubscriptionGroupFile::from_value)?.unwrap_or_default())
    }

    pub fn persist(&self, path: &Path) -> Result<(), ConfigError> {
        persist_json_file(path, &self.to_value())
    }
}
