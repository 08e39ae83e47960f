//! `TopicRouteData`, the body of GET_ROUTEINFO_BY_TOPIC (105), and `ClusterInfo`, the body of
//! GET_BROKER_CLUSTER_INFO (106). Java's name server writes the route in two forms:
//!
//! ```text
//! fastjson   {"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"b","cluster":"c",
//!             "enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"b",
//!             "perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}
//! standard   the same with every key quoted ({"0":"10.0.0.1:10911"}), keys sorted, non-ASCII escaped
//! ```
//!
//! Clients before 4.9.4 (and the Go client) read only the first; newer ones ask for the second. Decoding
//! reads both.

use std::collections::BTreeMap;

use super::{bool_field, i32_field, java_bean, parse_body, str_field, string_array};
use crate::fastjson::{self, Key, Value};
use crate::CodecError;

/// `TopicRouteData`. The 5.x `orderTopicConf` and `topicQueueMappingByBroker` are not written (Java leaves
/// them null for a topic without static queues).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicRouteData {
    pub queue_datas: Vec<QueueData>,
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → filter server addresses.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
}

/// `QueueData`: one broker's queues of the topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

/// `BrokerData`: one broker name, a master and its slaves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// Broker id (0 = master) → `ip:port`; fastjson writes the `Long` keys unquoted.
    pub broker_addrs: BTreeMap<i64, String>,
    pub enable_acting_master: bool,
}

/// `ClusterInfo`: every broker by name and every cluster's broker names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

impl TopicRouteData {
    /// Reads either form. A body fastjson binds to null is [`CodecError::NullField`]; lists and maps of
    /// the wrong type are empty, and their elements that are not objects are skipped.
    pub fn decode(body: &[u8]) -> Result<TopicRouteData, CodecError> {
        let doc = parse_body(body, "route body")?;
        let doc =
            java_bean(&doc, "TopicRouteData")?.ok_or(CodecError::NullField("topicRouteData"))?;
        let filter_server_table = entries(doc, "filterServerTable")
            .filter_map(|(key, servers)| {
                let servers = servers
                    .as_array()?
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect();
                Some((key_text(key)?, servers))
            })
            .collect();
        Ok(TopicRouteData {
            queue_datas: objects(doc, "queueDatas")
                .map(QueueData::from_value)
                .collect(),
            broker_datas: objects(doc, "brokerDatas")
                .map(BrokerData::from_value)
                .collect(),
            filter_server_table,
        })
    }

    /// fastjson's compact form with unquoted integer keys, for clients before 4.9.4.
    pub fn encode_fastjson(&self) -> String {
        fastjson::to_string(&self.to_value())
    }

    /// Strict JSON (`BrowserCompatible`, `MapSortField`), for clients that accept only standard JSON.
    pub fn encode_standard(&self) -> String {
        fastjson::to_standard_string(&self.to_value())
    }

    fn to_value(&self) -> Value {
        let filter_servers = self
            .filter_server_table
            .iter()
            .map(|(addr, servers)| (Key::Str(addr.clone()), string_array(servers)))
            .collect();
        Value::object([
            (
                "brokerDatas",
                Value::Array(self.broker_datas.iter().map(BrokerData::to_value).collect()),
            ),
            ("filterServerTable", Value::Object(filter_servers)),
            (
                "queueDatas",
                Value::Array(self.queue_datas.iter().map(QueueData::to_value).collect()),
            ),
        ])
    }
}

impl QueueData {
    fn from_value(v: &Value) -> QueueData {
        QueueData {
            broker_name: str_field(v, "brokerName"),
            read_queue_nums: i32_field(v, "readQueueNums"),
            write_queue_nums: i32_field(v, "writeQueueNums"),
            perm: i32_field(v, "perm"),
            topic_sys_flag: i32_field(v, "topicSysFlag"),
        }
    }

    fn to_value(&self) -> Value {
        Value::object([
            ("brokerName", Value::from(self.broker_name.as_str())),
            ("perm", Value::from(self.perm)),
            ("readQueueNums", Value::from(self.read_queue_nums)),
            ("topicSysFlag", Value::from(self.topic_sys_flag)),
            ("writeQueueNums", Value::from(self.write_queue_nums)),
        ])
    }
}

impl BrokerData {
    /// The master's address (broker id 0).
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }

    fn from_value(v: &Value) -> BrokerData {
        BrokerData {
            cluster: str_field(v, "cluster"),
            broker_name: str_field(v, "brokerName"),
            // Keys are unquoted (fastjson) or quoted (standard JSON) integers.
            broker_addrs: entries(v, "brokerAddrs")
                .filter_map(|(id, addr)| Some((id.as_i64()?, addr.as_str()?.to_owned())))
                .collect(),
            enable_acting_master: bool_field(v, "enableActingMaster"),
        }
    }

    fn to_value(&self) -> Value {
        let addrs = self
            .broker_addrs
            .iter()
            .map(|(id, addr)| (Key::Int(*id), Value::from(addr.as_str())))
            .collect();
        Value::object([
            ("brokerAddrs", Value::Object(addrs)),
            ("brokerName", Value::from(self.broker_name.as_str())),
            ("cluster", Value::from(self.cluster.as_str())),
            ("enableActingMaster", Value::Bool(self.enable_acting_master)),
        ])
    }
}

impl ClusterInfo {
    /// Reads the body; like [`TopicRouteData::decode`], wrong-typed parts are empty or skipped.
    pub fn decode(body: &[u8]) -> Result<ClusterInfo, CodecError> {
        let doc = parse_body(body, "cluster info body")?;
        let doc = java_bean(&doc, "ClusterInfo")?.ok_or(CodecError::NullField("clusterInfo"))?;
        Ok(ClusterInfo {
            broker_addr_table: entries(doc, "brokerAddrTable")
                .filter(|(_, data)| data.as_object().is_some())
                .filter_map(|(name, data)| Some((key_text(name)?, BrokerData::from_value(data))))
                .collect(),
            cluster_addr_table: entries(doc, "clusterAddrTable")
                .filter_map(|(cluster, names)| {
                    let names = names
                        .as_array()?
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect();
                    Some((key_text(cluster)?, names))
                })
                .collect(),
        })
    }

    pub fn encode(&self) -> String {
        let brokers = self
            .broker_addr_table
            .iter()
            .map(|(name, data)| (Key::Str(name.clone()), data.to_value()))
            .collect();
        let clusters = self
            .cluster_addr_table
            .iter()
            .map(|(cluster, names)| (Key::Str(cluster.clone()), string_array(names)))
            .collect();
        let doc = Value::object([
            ("brokerAddrTable", Value::Object(brokers)),
            ("clusterAddrTable", Value::Object(clusters)),
        ]);
        fastjson::to_string(&doc)
    }
}

/// The entries of an object field; none when absent or not an object.
fn entries<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = &'a (Key, Value)> {
    doc.get(key)
        .and_then(Value::as_object)
        .unwrap_or(&[])
        .iter()
}

/// The object elements of an array field; none when absent or not an array.
fn objects<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    doc.get(key)
        .and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .filter(|item| item.as_object().is_some())
}

/// A map key as the `String` key Java would have; object keys have none.
fn key_text(key: &Key) -> Option<String> {
    match key {
        Key::Str(s) => Some(s.clone()),
        Key::Int(i) => Some(i.to_string()),
        Key::Object(_) => None,
    }
}
