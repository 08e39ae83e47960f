//! JSON bodies the name server sends, in fastjson's shapes (compat-map §3.1.3, §3.1.4, §3.15).

use rmq_codec::fastjson::{Key, Value};

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
pub fn parse_registration(body: &[u8]) -> Result<super::routes::Registration, String> {
    let text = std::str::from_utf8(body).map_err(|_| "register body is not UTF-8".to_string())?;
    let doc = rmq_codec::fastjson::parse(text).map_err(|e| e.to_string())?;
    // Java accepts a bare TopicConfigSerializeWrapper from very old brokers; take either shape.
    let wrapper = doc.get("topicConfigSerializeWrapper").unwrap_or(&doc);
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
