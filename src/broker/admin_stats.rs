//! What mqadmin and the dashboard read about topics, groups and clients (Java's `AdminBrokerProcessor`):
//! GET_TOPIC_STATS_INFO (202), GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! GET_CONSUME_STATS (208), GET_BROKER_CONSUME_STATS (317), QUERY_TOPIC_CONSUME_BY_WHO (300) and
//! GET_TOPIC_CONFIG (351, which 5.x `examineTopicStats` and `examineConsumeStats` ask for every topic
//! they report).
//!
//! `topicPutTps` and `consumeTps` are the minute rates of the TOPIC_PUT_NUMS and GROUP_GET_NUMS stats items
//! (`BrokerStatsManager.tpsTopicPutNums` / `tpsGroupGetNums`): sends, and pull or pop reads, sampled every 10 s.

use std::collections::BTreeSet;

use bytes::Bytes;
use rmq_codec::body::{
    Connection as ConnectionInfo, ConsumeStats, ConsumeStatsList, ConsumerConnection, GroupList,
    MessageQueue, OffsetWrapper, ProducerConnection, SubscriptionData, TopicOffset,
    TopicStatsTable,
};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::header::{
    CommandHeader, GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
    GetTopicConfigRequestHeader, GetTopicStatsInfoRequestHeader,
    QueryTopicConsumeByWhoRequestHeader,
};

use rmq_store::config::{ConsumerOffsetFile, TopicConfig};

use super::clients::{ClientChannel, ClientRegistry, Subscription};
use super::stats_items::{GROUP_GET_NUMS, TOPIC_PUT_NUMS};
use super::{ok, reply_error, Broker, Reply};
use crate::error::ServiceError;

/// Queues one stats answer may list. Java has no bound; past this the body would come near the 16 MiB
/// frame a client accepts, so rmqd refuses with SYSTEM_ERROR instead of sending it.
const MAX_REPORTED_QUEUES: usize = 65_536;

impl Broker {
    /// GET_TOPIC_STATS_INFO (202): min and max offset and last store time of every queue, up to the
    /// larger of the write and read queue counts (5.3.3; 4.9.7 reports the write queues only).
    pub(super) fn topic_stats(&self, req: &RemotingCommand) -> Reply {
        let h = GetTopicStatsInfoRequestHeader::decode(&req.ext_fields)?;
        let Some(config) = self.topics.get(&h.topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("topic[{}] not exist", h.topic),
            ));
        };
        let queues = config.write_queue_nums.max(config.read_queue_nums).max(0);
        check_queue_count(queues as usize)?;
        let offset_table = (0..queues)
            .map(|queue_id| {
                let mq = self.message_queue(&h.topic, queue_id);
                (mq, self.topic_offset(&h.topic, queue_id))
            })
            .collect();
        let table = TopicStatsTable {
            offset_table,
            topic_put_tps: self.stats_items.minute_tps(TOPIC_PUT_NUMS, &h.topic),
        };
        Ok(with_body(table.encode()))
    }

    /// Offsets clamped at 0; the store time of the queue's last message, 0 for an empty queue and -1
    /// when that message cannot be read (Java's `getMessageStoreTimeStamp`).
    fn topic_offset(&self, topic: &str, queue_id: i32) -> TopicOffset {
        let min_offset = self.store.min_offset_in_queue(topic, queue_id).max(0);
        let max_offset = self.store.max_offset_in_queue(topic, queue_id).max(0);
        let last_update_timestamp = if max_offset > 0 {
            self.store
                .store_time_at(topic, queue_id, max_offset - 1)
                .unwrap_or(-1)
        } else {
            0
        };
        TopicOffset {
            min_offset,
            max_offset,
            last_update_timestamp,
        }
    }

    /// GET_CONSUME_STATS (208): for each read queue of the group's topics, the queue's max offset, the
    /// group's committed and pulled offsets, and the store time of the last consumed message.
    pub(super) fn consume_stats(&self, req: &RemotingCommand) -> Reply {
        let h = GetConsumeStatsRequestHeader::decode(&req.ext_fields)?;
        let group = h.consumer_group.as_str();
        let configs: Vec<_> = self
            .consume_stats_topics(&h)
            .into_iter()
            // A topic the broker no longer has is skipped, as in Java.
            .filter_map(|topic| self.topics.get(&topic))
            .collect();
        let queues: usize = configs
            .iter()
            .map(|c| c.read_queue_nums.max(0) as usize)
            .sum();
        check_queue_count(queues)?;
        let mut offset_table = Vec::with_capacity(queues);
        for config in &configs {
            let topic = config.topic_name.as_str();
            for queue_id in 0..config.read_queue_nums {
                let mq = self.message_queue(topic, queue_id);
                offset_table.push((mq, self.offset_wrapper(topic, group, queue_id)));
            }
        }
        // A fold from 0.0: `Sum` of no floats is -0.0, which Java never writes.
        let consume_tps = configs
            .iter()
            .map(|config| self.consume_tps(&config.topic_name, group))
            .fold(0.0, |total, tps| total + tps);
        let stats = ConsumeStats {
            offset_table,
            consume_tps,
        };
        Ok(with_body(stats.encode()))
    }

    /// The topics GET_CONSUME_STATS reports: 5.x's `topicList` as given; otherwise the one topic asked
    /// for, or every topic the group has offsets for, less those an online group does not subscribe to.
    fn consume_stats_topics(&self, h: &GetConsumeStatsRequestHeader) -> BTreeSet<String> {
        let listed = h.topics_listed();
        if !listed.is_empty() {
            return listed.into_iter().collect();
        }
        let topics = match h.topic_given() {
            Some(topic) => BTreeSet::from([topic.to_owned()]),
            None => self.offsets.topics_of_group(&h.consumer_group),
        };
        self.subscribed_topics(&h.consumer_group, topics)
    }

    /// The topics an online group with subscriptions subscribes to; all of them for any other group.
    fn subscribed_topics(&self, group: &str, mut topics: BTreeSet<String>) -> BTreeSet<String> {
        let clients = self.clients.lock();
        if let Some(online) = clients.consumers.get(group) {
            if !online.subscriptions.is_empty() {
                topics.retain(|topic| online.subscriptions.contains_key(topic));
            }
        }
        topics
    }

    fn offset_wrapper(&self, topic: &str, group: &str, queue_id: i32) -> OffsetWrapper {
        let broker_offset = self.store.max_offset_in_queue(topic, queue_id).max(0);
        let consumer_offset = self
            .offsets
            .query_consumer(topic, group, queue_id)
            .unwrap_or(-1)
            .max(0);
        let pull_offset = self
            .offsets
            .query_pull(topic, group, queue_id)
            .unwrap_or(-1)
            .max(consumer_offset);
        let last_timestamp = match consumer_offset - 1 {
            last if last >= 0 => self
                .store
                .store_time_at(topic, queue_id, last)
                .filter(|&t| t > 0)
                .unwrap_or(0),
            _ => 0,
        };
        OffsetWrapper {
            broker_offset,
            consumer_offset,
            pull_offset,
            last_timestamp,
        }
    }

    /// GET_BROKER_CONSUME_STATS (317): consume stats of every subscription group, one `ConsumeStats` per
    /// topic the group has offsets for (less the topics an online group does not subscribe to). As in
    /// Java it covers the write queues and leaves `pullOffset` at 0, so `totalInflightDiff` is minus the
    /// sum of the consumer offsets.
    pub(super) fn broker_consume_stats(&self, req: &RemotingCommand) -> Reply {
        let h = GetConsumeStatsInBrokerHeader::decode(&req.ext_fields)?;
        let mut per_group = Vec::new();
        let mut queues = 0usize;
        for group in self.groups.names() {
            let configs: Vec<_> = self
                .subscribed_topics(&group, self.offsets.topics_of_group(&group))
                .into_iter()
                .filter_map(|topic| self.topics.get(&topic))
                .filter(|config| !h.is_order || config.order)
                .collect();
            queues += configs
                .iter()
                .map(|c| c.write_queue_nums.max(0) as usize)
                .sum::<usize>();
            check_queue_count(queues)?;
            per_group.push((group, configs));
        }
        let mut list = ConsumeStatsList {
            broker_addr: self.config.broker_addr(),
            ..ConsumeStatsList::default()
        };
        for (group, configs) in per_group {
            let stats: Vec<ConsumeStats> = configs
                .iter()
                .map(|config| self.write_queue_stats(&group, config))
                .collect();
            list.total_diff += stats.iter().map(ConsumeStats::total_diff).sum::<i64>();
            list.total_inflight_diff += stats
                .iter()
                .map(ConsumeStats::inflight_total_diff)
                .sum::<i64>();
            list.consume_stats_list.push((group, stats));
        }
        Ok(with_body(list.encode()))
    }

    fn write_queue_stats(&self, group: &str, config: &TopicConfig) -> ConsumeStats {
        let topic = config.topic_name.as_str();
        let offset_table = (0..config.write_queue_nums)
            .map(|queue_id| {
                let wrapper = OffsetWrapper {
                    pull_offset: 0,
                    ..self.offset_wrapper(topic, group, queue_id)
                };
                (self.message_queue(topic, queue_id), wrapper)
            })
            .collect();
        ConsumeStats {
            offset_table,
            consume_tps: self.consume_tps(topic, group),
        }
    }

    /// Messages the group's pulls and pops of the topic returned per second over the last minute.
    fn consume_tps(&self, topic: &str, group: &str) -> f64 {
        self.stats_items
            .minute_tps(GROUP_GET_NUMS, &ConsumerOffsetFile::key(topic, group))
    }

    /// GET_CONSUMER_CONNECTION_LIST (203): the group's channels and what its heartbeats said;
    /// CONSUMER_NOT_ONLINE when no channel of the group is registered.
    pub(super) fn consumer_connections(&self, req: &RemotingCommand) -> Reply {
        let h = GetConsumerConnectionListRequestHeader::decode(&req.ext_fields)?;
        let clients = self.clients.lock();
        let Some(group) = clients.consumers.get(&h.consumer_group) else {
            return Err(reply_error(
                ResponseCode::ConsumerNotOnline,
                format!("the consumer group[{}] not online", h.consumer_group),
            ));
        };
        let mut subscription_table: Vec<_> = group
            .subscriptions
            .iter()
            .map(|(topic, sub)| (topic.clone(), subscription_data(sub)))
            .collect();
        subscription_table.sort_by(|a, b| a.0.cmp(&b.0));
        let body = ConsumerConnection {
            connection_set: group.channels.values().map(connection_info).collect(),
            subscription_table,
            consume_type: group.consume_type.clone(),
            message_model: group.message_model.clone(),
            consume_from_where: group.consume_from_where.clone(),
        };
        Ok(with_body(body.encode()))
    }

    /// GET_PRODUCER_CONNECTION_LIST (204): the group's channels; SYSTEM_ERROR when it has none.
    pub(super) fn producer_connections(&self, req: &RemotingCommand) -> Reply {
        let h = GetProducerConnectionListRequestHeader::decode(&req.ext_fields)?;
        let clients = self.clients.lock();
        let Some(channels) = clients.producers.get(&h.producer_group) else {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!("the producer group[{}] not exist", h.producer_group),
            ));
        };
        let body = ProducerConnection {
            connection_set: channels.values().map(connection_info).collect(),
        };
        Ok(with_body(body.encode()))
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO (300): online groups subscribed to the topic and groups with offsets
    /// on it (Java's `queryTopicConsumeByWho` plus `whichGroupByTopic`), as 4.9.7 answers. 5.3.3's
    /// `ConsumerManager` records the topic's own name where it means the subscribing group, so a 5.3.3
    /// broker lists the topic itself and no group that has only subscribed; rmqd does not copy that.
    pub(super) fn topic_consumed_by(&self, req: &RemotingCommand) -> Reply {
        let h = QueryTopicConsumeByWhoRequestHeader::decode(&req.ext_fields)?;
        let mut groups = subscribed_groups(&self.clients.lock(), &h.topic);
        groups.extend(self.offsets.groups_of_topic(&h.topic));
        let body = GroupList {
            group_list: groups.into_iter().collect(),
        };
        Ok(with_body(body.encode()))
    }

    /// GET_TOPIC_CONFIG (351): the topic's config as `TopicConfigAndQueueMapping`, whose `mappingDetail`
    /// is null (left out) because rmqd has no static topics.
    pub(super) fn topic_config(&self, req: &RemotingCommand) -> Reply {
        let h = GetTopicConfigRequestHeader::decode(&req.ext_fields)?;
        let Some(config) = self.topics.get(&h.topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("No topic in this broker. topic: {}", h.topic),
            ));
        };
        Ok(with_body(fastjson::to_string(&config.to_value())))
    }

    fn message_queue(&self, topic: &str, queue_id: i32) -> MessageQueue {
        MessageQueue {
            topic: topic.to_owned(),
            broker_name: self.config.broker_name.clone(),
            queue_id,
        }
    }
}

fn check_queue_count(queues: usize) -> Result<(), ServiceError> {
    if queues > MAX_REPORTED_QUEUES {
        return Err(reply_error(
            ResponseCode::SystemError,
            format!("{queues} queues to report, more than {MAX_REPORTED_QUEUES}"),
        ));
    }
    Ok(())
}

fn with_body(json: String) -> RemotingCommand {
    let mut resp = ok();
    resp.body = Bytes::from(json);
    resp
}

/// Java's `Connection` of a channel: the client's id, the channel's remote address, and the language
/// and version of its heartbeat.
fn connection_info(channel: &ClientChannel) -> ConnectionInfo {
    ConnectionInfo {
        client_id: channel.client_id.clone(),
        client_addr: channel.conn.peer().to_string(),
        language: channel.language,
        version: channel.version,
    }
}

/// The subscription as the client's `SubscriptionData` carried it. Tags and their hashes belong to TAG
/// expressions only; Java's `FilterAPI.build` leaves them empty for SQL92.
pub(super) fn subscription_data(sub: &Subscription) -> SubscriptionData {
    let is_tag = sub.expression_type == "TAG";
    SubscriptionData {
        topic: sub.topic.clone(),
        sub_string: sub.sub_string.clone(),
        expression_type: sub.expression_type.clone(),
        sub_version: sub.sub_version,
        tags_set: if is_tag { sub.tags.clone() } else { Vec::new() },
        code_set: if is_tag {
            sub.code_set.clone()
        } else {
            Vec::new()
        },
        class_filter_mode: false,
    }
}

fn subscribed_groups(clients: &ClientRegistry, topic: &str) -> BTreeSet<String> {
    clients
        .consumers
        .iter()
        .filter(|(_, group)| group.subscriptions.contains_key(topic))
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
#[path = "admin_stats_tests.rs"]
mod tests;
