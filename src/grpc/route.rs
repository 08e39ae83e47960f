//! QueryRoute (Java proxy's `RouteActivity.queryRoute` in local mode): the topic's queues on this broker,
//! each with its permission and the message types the topic accepts, reached at the endpoint the client
//! used.

use rmq_proto::v2::{
    Address, AddressScheme, Broker as ProtoBroker, Code, Endpoints, MessageQueue, MessageType,
    Permission, QueryRouteRequest, Resource,
};
use rmq_store::config::TopicConfig;

pub use crate::broker::message_type::TopicMessageType;

use super::status::{GrpcError, GrpcResult};

/// `RouteActivity.parseTopicMessageType`: a topic's type as the `accept_message_types` of its queues.
pub fn accepted_message_types(topic_type: TopicMessageType) -> Vec<i32> {
    topic_type
        .accepted()
        .iter()
        .map(|t| proto_message_type(*t) as i32)
        .collect()
}

/// The v2 `MessageType` of a topic message type (MIXED has none; it is never a message's type).
pub fn proto_message_type(t: TopicMessageType) -> MessageType {
    match t {
        TopicMessageType::Normal => MessageType::Normal,
        TopicMessageType::Fifo => MessageType::Fifo,
        TopicMessageType::Delay => MessageType::Delay,
        TopicMessageType::Transaction => MessageType::Transaction,
        TopicMessageType::Unspecified | TopicMessageType::Mixed => MessageType::Unspecified,
    }
}

/// `DefaultTopicMessageTypeValidator.validate`: MESSAGE_PROPERTY_CONFLICT_WITH_TYPE when a topic of
/// `expected` type does not take a message of type `actual`.
pub fn check_message_type(expected: TopicMessageType, actual: TopicMessageType) -> GrpcResult<()> {
    if expected.accepts(actual) {
        return Ok(());
    }
    Err(GrpcError::new(
        Code::MessagePropertyConflictWithType,
        expected.mismatch(actual),
    ))
}

/// `PermName` bits.
const PERM_READ: i32 = 0x4;
const PERM_WRITE: i32 = 0x2;

/// `RouteActivity.genMessageQueueFromQueueData`: read-only queues first, then write-only, then
/// read-write; a topic with neither permission gets NONE queues.
pub fn message_queues(
    config: &TopicConfig,
    topic: &Resource,
    broker: &ProtoBroker,
    accepted: &[i32],
) -> Vec<MessageQueue> {
    let (readable, writable) = (config.perm & PERM_READ != 0, config.perm & PERM_WRITE != 0);
    let (reads, writes) = (
        config.read_queue_nums.max(0),
        config.write_queue_nums.max(0),
    );
    let (mut r, mut w, mut rw, mut none) = (0, 0, 0, 0);
    if readable && writable {
        rw = reads.min(writes);
        r = reads - rw;
        w = writes - rw;
    } else if writable {
        w = writes;
    } else if readable {
        r = reads;
    } else {
        none = reads.max(writes).max(1);
    }
    let runs = [
        (r, Permission::Read),
        (w, Permission::Write),
        (rw, Permission::ReadWrite),
        (none, Permission::None),
    ];
    let mut queues = Vec::new();
    for (count, permission) in runs {
        for _ in 0..count {
            queues.push(MessageQueue {
                topic: Some(topic.clone()),
                id: queues.len() as i32,
                permission: permission as i32,
                broker: Some(broker.clone()),
                accept_message_types: accepted.to_vec(),
            });
        }
    }
    queues
}

/// The broker as a gRPC client sees it: this broker's name, id 0, at `endpoints`.
pub fn proto_broker(name: &str, endpoints: Endpoints) -> ProtoBroker {
    ProtoBroker {
        name: name.to_string(),
        id: 0,
        endpoints: Some(endpoints),
    }
}

/// The endpoints to route the client to: those it used (its access point, as local mode answers), else
/// `host:grpc_port`.
pub fn route_endpoints(request: &QueryRouteRequest, host: &str, grpc_port: u16) -> Endpoints {
    match &request.endpoints {
        Some(endpoints) if !endpoints.addresses.is_empty() => endpoints.clone(),
        _ => Endpoints {
            scheme: AddressScheme::IPv4 as i32,
            addresses: vec![Address {
                host: host.to_string(),
                port: i32::from(grpc_port),
            }],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn topic_config(perm: i32, reads: i32, writes: i32) -> TopicConfig {
        TopicConfig {
            topic_name: "T".into(),
            read_queue_nums: reads,
            write_queue_nums: writes,
            perm,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }

    fn queues(perm: i32, reads: i32, writes: i32) -> Vec<(i32, i32)> {
        let broker = proto_broker("b", Endpoints::default());
        message_queues(
            &topic_config(perm, reads, writes),
            &Resource::default(),
            &broker,
            &[1],
        )
        .iter()
        .map(|q| (q.id, q.permission))
        .collect()
    }

    #[test]
    fn queues_are_split_by_permission_as_route_activity_does() {
        let (r, w, rw) = (
            Permission::Read as i32,
            Permission::Write as i32,
            Permission::ReadWrite as i32,
        );
        assert_eq!(queues(6, 2, 2), vec![(0, rw), (1, rw)]);
        assert_eq!(queues(6, 3, 1), vec![(0, r), (1, r), (2, rw)]);
        assert_eq!(queues(6, 1, 2), vec![(0, w), (1, rw)]);
        assert_eq!(queues(4, 2, 8), vec![(0, r), (1, r)]);
        assert_eq!(queues(0, 0, 0), vec![(0, Permission::None as i32)]);
    }

    #[test]
    fn the_topics_type_decides_what_queues_accept_and_what_may_be_sent() {
        let fifo = accepted_message_types(TopicMessageType::Fifo);
        assert_eq!(fifo, vec![MessageType::Fifo as i32]);
        assert_eq!(accepted_message_types(TopicMessageType::Mixed).len(), 4);
        assert!(check_message_type(TopicMessageType::Normal, TopicMessageType::Normal).is_ok());
        let err = check_message_type(TopicMessageType::Normal, TopicMessageType::Fifo).unwrap_err();
        assert_eq!(err.code, Code::MessagePropertyConflictWithType);
        assert_eq!(
            err.message,
            "TopicMessageType validate failed, the expected type is NORMAL, but actual type is FIFO"
        );
    }
}
