//! QueryAssignment for push consumers, answered as local mode answers it (Java proxy's
//! `RouteActivity.queryAssignment`): one assignment of queue -1 per readable broker (the broker pops
//! from all its queues), or one per queue for a FIFO group; and the group settings the consumer
//! calls read from the subscription group (`GrpcClientSettingsManager.mergeSubscriptionData`).

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::header::{
    CommandHeader, GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
};
use rmq_proto::v2::{self, Code, QueryAssignmentResponse};
use rmq_store::config::{perm, SubscriptionGroupConfig, TopicConfig};

use super::consumer::{illegal, status, validate_group, validate_topic, Caller, Refusal};

/// `SubscriptionGroupConfig.retryMaxTimes` default (16) + 1: the max attempts of a group the broker
/// does not know.
const DEFAULT_MAX_ATTEMPTS: i32 = 17;
/// TOPIC_NOT_EXIST.
const TOPIC_NOT_EXIST: i32 = 17;

/// What a consumer's settings take from its subscription group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConsumeSettings {
    /// `consumeMessageOrderly`: pops are orderly, assignments per queue.
    pub fifo: bool,
    /// `retryMaxTimes + 1`: deliveries before the proxy moves a message to the DLQ.
    pub max_attempts: i32,
}

impl Default for GroupConsumeSettings {
    fn default() -> Self {
        GroupConsumeSettings {
            fifo: false,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

impl GroupConsumeSettings {
    pub fn of(config: &SubscriptionGroupConfig) -> Self {
        GroupConsumeSettings {
            fifo: config.consume_message_orderly,
            max_attempts: config.retry_max_times.saturating_add(1),
        }
    }
}

/// The group's config (GET_SUBSCRIPTIONGROUP_CONFIG, which creates it when the broker auto-creates
/// groups, as Java's `findSubscriptionGroupConfig`); `None` when the broker has none.
pub async fn group_config(caller: &Caller<'_>, group: &str) -> Option<SubscriptionGroupConfig> {
    let header = GetSubscriptionGroupConfigRequestHeader {
        group: group.to_string(),
    };
    let cmd = RemotingCommand::new_request(
        RequestCode::GetSubscriptiongroupConfig,
        header.to_ext_fields(),
    );
    let resp = caller.call(cmd).await.ok().filter(|r| r.cmd.code == 0)?;
    let value = fastjson::parse(std::str::from_utf8(&resp.body).ok()?).ok()?;
    SubscriptionGroupConfig::from_value(&value).ok()
}

/// The topic's config on this broker (GET_TOPIC_CONFIG); TOPIC_NOT_FOUND when it has none.
async fn topic_config(caller: &Caller<'_>, topic: &str) -> Result<TopicConfig, Refusal> {
    let header = GetTopicConfigRequestHeader {
        topic: topic.to_string(),
        lo: None,
    };
    let resp = caller
        .call(RemotingCommand::new_request(
            RequestCode::GetTopicConfig,
            header.to_ext_fields(),
        ))
        .await?;
    let remark = || resp.cmd.remark.clone().unwrap_or_default();
    match resp.cmd.code {
        0 => {}
        TOPIC_NOT_EXIST => return Err(illegal(Code::TopicNotFound, remark())),
        _ => return Err(illegal(Code::InternalServerError, remark())),
    }
    let value = std::str::from_utf8(&resp.body)
        .ok()
        .and_then(|text| fastjson::parse(text).ok())
        .ok_or_else(|| illegal(Code::InternalServerError, "undecodable topic config"))?;
    TopicConfig::from_value(&value).map_err(|e| illegal(Code::InternalServerError, e.to_string()))
}

/// `RouteActivity.convertToPermission`.
pub fn permission_of(perm_bits: i32) -> v2::Permission {
    match (perm::is_readable(perm_bits), perm::is_writeable(perm_bits)) {
        (true, true) => v2::Permission::ReadWrite,
        (true, false) => v2::Permission::Read,
        (false, true) => v2::Permission::Write,
        (false, false) => v2::Permission::None,
    }
}

/// The assignments of this broker's queues of `topic`: none unless readable with read queues.
pub fn assignments(
    topic: &v2::Resource,
    config: &TopicConfig,
    broker: &v2::Broker,
    fifo: bool,
) -> Vec<v2::Assignment> {
    if !perm::is_readable(config.perm) || config.read_queue_nums <= 0 {
        return Vec::new();
    }
    let queue = |id: i32| v2::Assignment {
        message_queue: Some(v2::MessageQueue {
            topic: Some(topic.clone()),
            id,
            permission: permission_of(config.perm) as i32,
            broker: Some(broker.clone()),
            ..Default::default()
        }),
    };
    if fifo {
        (0..config.read_queue_nums).map(queue).collect()
    } else {
        vec![queue(-1)]
    }
}

async fn query(
    caller: &Caller<'_>,
    req: &v2::QueryAssignmentRequest,
) -> Result<Vec<v2::Assignment>, Refusal> {
    let topic = validate_topic(caller.broker, req.topic.as_ref())?;
    let group = validate_group(req.group.as_ref())?;
    let config = topic_config(caller, &topic).await?;
    let fifo = group_config(caller, &group)
        .await
        .is_some_and(|g| g.consume_message_orderly);
    // The proxy answers with its own address for the broker: the endpoints the client reached.
    let broker = v2::Broker {
        name: caller.broker_name.to_string(),
        id: 0,
        endpoints: req.endpoints.clone(),
    };
    let resource = req.topic.clone().unwrap_or_default();
    Ok(assignments(&resource, &config, &broker, fifo))
}

/// QueryAssignment: OK with the assignments, FORBIDDEN "no readable queue" when there are none.
pub async fn query_assignment(
    caller: &Caller<'_>,
    req: v2::QueryAssignmentRequest,
) -> QueryAssignmentResponse {
    match query(caller, &req).await {
        Ok(assignments) if assignments.is_empty() => QueryAssignmentResponse {
            status: Some(status(Code::Forbidden, "no readable queue")),
            assignments,
        },
        Ok(assignments) => QueryAssignmentResponse {
            status: Some(status(Code::Ok, "OK")),
            assignments,
        },
        Err(refusal) => QueryAssignmentResponse {
            status: Some(refusal.status()),
            assignments: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic_with(perm_bits: i32, read: i32) -> TopicConfig {
        let mut config = TopicConfig::new("T");
        config.perm = perm_bits;
        config.read_queue_nums = read;
        config
    }

    fn broker() -> v2::Broker {
        v2::Broker {
            name: "broker-a".into(),
            id: 0,
            endpoints: None,
        }
    }

    #[test]
    fn one_broker_wide_queue_unless_fifo() {
        let topic = v2::Resource {
            resource_namespace: String::new(),
            name: "T".into(),
        };
        let normal = assignments(&topic, &topic_with(6, 4), &broker(), false);
        let ids: Vec<i32> = normal
            .iter()
            .filter_map(|a| a.message_queue.as_ref().map(|q| q.id))
            .collect();
        assert_eq!(ids, [-1]);
        let queue = normal[0].message_queue.as_ref().expect("queue");
        assert_eq!(queue.permission, v2::Permission::ReadWrite as i32);
        assert_eq!(
            queue.broker.as_ref().map(|b| b.name.as_str()),
            Some("broker-a")
        );
        let fifo = assignments(&topic, &topic_with(4, 3), &broker(), true);
        let ids: Vec<i32> = fifo
            .iter()
            .filter_map(|a| a.message_queue.as_ref().map(|q| q.id))
            .collect();
        assert_eq!(ids, [0, 1, 2]);
    }

    #[test]
    fn unreadable_topics_have_no_assignment() {
        let topic = v2::Resource::default();
        assert!(assignments(&topic, &topic_with(2, 4), &broker(), false).is_empty());
        assert!(assignments(&topic, &topic_with(6, 0), &broker(), false).is_empty());
    }

    #[test]
    fn group_settings_follow_the_group_config() {
        let mut config = SubscriptionGroupConfig::new("G");
        config.retry_max_times = 3;
        config.consume_message_orderly = true;
        let s = GroupConsumeSettings::of(&config);
        assert_eq!((s.fifo, s.max_attempts), (true, 4));
        assert_eq!(GroupConsumeSettings::default().max_attempts, 17);
    }
}
