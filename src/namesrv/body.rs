//! Bodies the name server reads and sends, converted between the route table and the typed bodies of
//! `rmq_codec::body`.

use rmq_codec::body::{self as wire, ClusterInfo, RegisterBrokerBody, TopicRouteData};
use rmq_codec::fastjson::Value;

use crate::error::ServiceError;

use super::routes::{BrokerData, QueueData, Registration, RouteTable};

fn broker_data(b: &BrokerData) -> wire::BrokerData {
    wire::BrokerData {
        cluster: b.cluster.clone(),
        broker_name: b.broker_name.clone(),
        broker_addrs: b.addrs.clone(),
        enable_acting_master: false,
    }
}

fn queue_data(broker_name: &str, q: &QueueData) -> wire::QueueData {
    wire::QueueData {
        broker_name: broker_name.to_string(),
        read_queue_nums: q.read_queue_nums,
        write_queue_nums: q.write_queue_nums,
        perm: q.perm,
        topic_sys_flag: q.topic_sys_flag,
    }
}

/// `TopicRouteData` for `topic`, or None when no broker serves it.
pub fn topic_route(table: &RouteTable, topic: &str) -> Option<TopicRouteData> {
    let (queues, brokers) = table.route(topic)?;
    Some(TopicRouteData {
        queue_datas: queues.into_iter().map(|(n, q)| queue_data(n, q)).collect(),
        broker_datas: brokers.into_iter().map(broker_data).collect(),
        filter_server_table: Default::default(),
    })
}

/// `ClusterInfo` (GET_BROKER_CLUSTER_INFO).
pub fn cluster_info(table: &RouteTable) -> ClusterInfo {
    ClusterInfo {
        broker_addr_table: table
            .brokers()
            .iter()
            .map(|(name, b)| (name.clone(), broker_data(b)))
            .collect(),
        cluster_addr_table: table
            .clusters()
            .iter()
            .map(|(cluster, names)| (cluster.clone(), names.iter().cloned().collect()))
            .collect(),
    }
}

/// `TopicList` body.
pub fn topic_list<I: IntoIterator<Item = String>>(topics: I) -> Value {
    let list = topics.into_iter().map(Value::Str).collect();
    Value::object([("topicList", Value::Array(list))])
}

/// Topics and DataVersion from a `RegisterBrokerBody` (uncompressed JSON form). Every error is Java's
/// SYSTEM_ERROR: see `RegisterBrokerBody::decode` for the shapes Java refuses.
pub fn parse_registration(body: &[u8]) -> Result<Registration, ServiceError> {
    let wrapper = RegisterBrokerBody::decode(body)?.topic_config_serialize_wrapper;
    let topics = wrapper
        .topic_config_table
        .into_iter()
        .map(|(name, config)| {
            let queues = QueueData {
                read_queue_nums: config.read_queue_nums,
                write_queue_nums: config.write_queue_nums,
                perm: config.perm,
                topic_sys_flag: config.topic_sys_flag,
            };
            (name, queues)
        })
        .collect();
    Ok(Registration {
        data_version: wrapper.data_version,
        topics,
    })
}

#[cfg(test)]
mod tests {
    use rmq_codec::code::ResponseCode;

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
