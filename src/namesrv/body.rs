//! JSON bodies the name server sends, in fastjson's shapes (compat-map §3.1.3, §3.1.4, §3.15).

use rmq_codec::code::ResponseCode;
use rmq_codec::fastjson::{Key, Value};

use crate::error::{java_bean, null_field, ServiceError};

use super::routes::{BrokerData, DataVersion, QueueData, RouteTable};

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (Key::Str(k.to_string()), v))
            .collect(),
    )
}

fn broker_data(b: &BrokerData) -> Value {
    // fastjson writes Map<Long,String> keys unquoted; the standard writer quotes them for new clients.
    let addrs = Value::Object(
        b.addrs
            .iter()
            .map(|(id, addr)| (Key::Int(*id), Value::Str(addr.clone())))
            .collect(),
    );
    obj(vec![
        ("brokerAddrs", addrs),
        ("brokerName", Value::Str(b.broker_name.clone())),
        ("cluster", Value::Str(b.cluster.clone())),
        ("enableActingMaster", Value::Bool(false)),
    ])
}

fn queue_data(broker_name: &str, q: &QueueData) -> Value {
    obj(vec![
        ("brokerName", Value::Str(broker_name.to_string())),
        ("perm", Value::Int(q.perm as i64)),
        ("readQueueNums", Value::Int(q.read_queue_nums as i64)),
        ("topicSysFlag", Value::Int(q.topic_sys_flag as i64)),
        ("writeQueueNums", Value::Int(q.write_queue_nums as i64)),
    ])
}

/// `TopicRouteData` for `topic`, or None when no broker serves it.
pub fn topic_route(table: &RouteTable, topic: &str) -> Option<Value> {
    let (queues, brokers) = table.route(topic)?;
    Some(obj(vec![
        (
            "brokerDatas",
            Value::Array(brokers.into_iter().map(broker_data).collect()),
        ),
        ("filterServerTable", Value::Object(Vec::new())),
        (
            "queueDatas",
            Value::Array(queues.into_iter().map(|(n, q)| queue_data(n, q)).collect()),
        ),
    ]))
}

/// `ClusterInfo` (GET_BROKER_CLUSTER_INFO).
pub fn cluster_info(table: &RouteTable) -> Value {
    let broker_addr_table = table
        .brokers()
        .iter()
        .map(|(name, b)| (Key::Str(name.clone()), broker_data(b)))
        .collect();
    let cluster_addr_table = table
        .clusters()
        .iter()
        .map(|(cluster, names)| {
            let list = names.iter().map(|n| Value::Str(n.clone())).collect();
            (Key::Str(cluster.clone()), Value::Array(list))
        })
        .collect();
    obj(vec![
        ("brokerAddrTable", Value::Object(broker_addr_table)),
        ("clusterAddrTable", Value::Object(cluster_addr_table)),
    ])
}

/// `TopicList` body.
pub fn topic_list<I: IntoIterator<Item = String>>(topics: I) -> Value {
    let list = topics.into_iter().map(Value::Str).collect();
    obj(vec![("topicList", Value::Array(list))])
}

pub fn data_version_value(v: &DataVersion) -> Value {
    obj(vec![
        ("counter", Value::Int(v.counter)),
        ("stateVersion", Value::Int(v.state_version)),
        ("timestamp", Value::Int(v.timestamp)),
    ])
}

pub fn parse_data_version(v: Option<&Value>) -> DataVersion {
    let field = |name: &str| {
        v.and_then(|d| d.get(name))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    DataVersion {
        state_version: field("stateVersion"),
        timestamp: field("timestamp"),
        counter: field("counter"),
    }
}

/// Topics and DataVersion from a `RegisterBrokerBody` (uncompressed JSON form).
///
/// A body fastjson turns into null (`null`, `[]`, `""`) makes Java's `registerBroker` throw a
/// NullPointerException, and a body or wrapper that is not an object makes fastjson throw: SYSTEM_ERROR both.
pub fn parse_registration(body: &[u8]) -> Result<super::routes::Registration, ServiceError> {
    // No body: Java registers an empty `RegisterBrokerBody` with a zero DataVersion.
    let empty = || super::routes::Registration {
        data_version: DataVersion::default(),
        topics: Vec::new(),
    };
    if body.is_empty() {
        return Ok(empty());
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ServiceError::reply(ResponseCode::SystemError, "register body is not UTF-8")
    })?;
    let doc = rmq_codec::fastjson::parse(text)
        .map_err(|e| ServiceError::reply(ResponseCode::SystemError, e.to_string()))?;
    let doc =
        java_bean(&doc, "RegisterBrokerBody")?.ok_or_else(|| null_field("registerBrokerBody"))?;
    // Java accepts a bare TopicConfigSerializeWrapper from very old brokers; take either shape.
    let wrapper = match doc.get("topicConfigSerializeWrapper") {
        // A null wrapper leaves the bean's empty default: Java answers SUCCESS and registers no topics.
        Some(w) => match java_bean(w, "topicConfigSerializeWrapper")? {
            Some(w) => w,
            None => return Ok(empty()),
        },
        None => doc,
    };
    let data_version = parse_data_version(wrapper.get("dataVersion"));
    let mut topics = Vec::new();
    if let Some(Value::Object(table)) = wrapper.get("topicConfigTable") {
        for (key, config) in table {
            let name = match key {
                Key::Str(s) => s.clone(),
                Key::Int(i) => i.to_string(),
                Key::Object(_) => continue,
            };
            let int = |f: &str| config.get(f).and_then(Value::as_i64).unwrap_or(0) as i32;
            topics.push((
                name,
                QueueData {
                    read_queue_nums: int("readQueueNums"),
                    write_queue_nums: int("writeQueueNums"),
                    perm: int("perm"),
                    topic_sys_flag: int("topicSysFlag"),
                },
            ));
        }
    }
    Ok(super::routes::Registration {
        data_version,
        topics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Java 4.9.7 and 5.3.3 name servers answered: SYSTEM_ERROR for these, SUCCESS for the others.
    #[test]
    fn registration_shapes_java_refuses() {
        for body in [
            "null",
            "[]",
            "\"\"",
            "[1,2]",
            "7",
            r#"{"topicConfigSerializeWrapper":7}"#,
        ] {
            let Err(err) = parse_registration(body.as_bytes()) else {
                panic!("{body} was accepted");
            };
            assert_eq!(err.response_code(), ResponseCode::SystemError, "{body}");
        }
        for body in [
            "",
            r#"{"mqSet":7}"#,
            r#"{"topicConfigSerializeWrapper":null}"#,
        ] {
            let registration = parse_registration(body.as_bytes()).unwrap();
            assert!(registration.topics.is_empty(), "{body}");
        }
        let full =
            r#"{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"readQueueNums":4}}}}"#;
        assert_eq!(
            parse_registration(full.as_bytes()).unwrap().topics[0].0,
            "T"
        );
    }
}
