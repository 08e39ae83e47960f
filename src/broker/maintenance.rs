//! Operator maintenance requests of Java's `AdminBrokerProcessor`: DELETE_TOPIC_IN_BROKER (215, mqadmin
//! deleteTopic), CLONE_GROUP_OFFSET (314, cloneGroupOffset), CLEAN_EXPIRED_CONSUMEQUEUE (306,
//! cleanExpiredCQ), CLEAN_UNUSED_TOPIC (316, cleanUnusedTopic) and DELETE_EXPIRED_COMMITLOG (329,
//! deleteExpiredCommitLog).

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CloneGroupOffsetRequestHeader, CommandHeader, DeleteTopicRequestHeader};
use rmq_store::StoreError;

use super::blocking::run_off_worker;
use super::pop::pop_retry_topic;
use super::topics::RETRY_GROUP_TOPIC_PREFIX;
use super::{ok, reply_error, Broker, Reply};
use crate::error::ServiceError;

/// `TopicValidator.SYSTEM_TOPIC_SET` (5.3.3); the broker also adds its cluster and broker names.
const SYSTEM_TOPICS: [&str; 10] = [
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

impl Broker {
    /// DELETE_TOPIC_IN_BROKER (215) as 5.3.3's `deleteTopic`: a blank topic or a system topic is refused
    /// (INVALID_PARAMETER); otherwise the topic and the pop retry topics of the groups with offsets in it
    /// lose their config, their consumers' offsets and their consume queues (`deleteTopicInBroker`; 4.9.7
    /// drops the queues through `cleanUnusedTopic`). The messages stay in the commit log until retention
    /// removes its files, so a topic created again under the name starts with empty queues.
    pub(super) fn delete_topic(&self, req: &RemotingCommand) -> Reply {
        let h = DeleteTopicRequestHeader::decode(&req.ext_fields)?;
        let topic = h.topic.as_str();
        if topic.trim().is_empty() {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                "The specified topic is blank.",
            ));
        }
        if self.is_system_topic(topic) {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                format!("The topic[{topic}] is conflict with system topic."),
            ));
        }
        let mut doomed = vec![topic.to_owned()];
        for group in self.offsets.groups_of_topic(topic) {
            // `clearRetryTopicWhenDeleteTopic` (default true): the V2 (`+`) and V1 (`_`) pop retry topics.
            let v2 = format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}");
            let v1 = pop_retry_topic(topic, &group);
            doomed.extend(
                [v2, v1]
                    .into_iter()
                    .filter(|t| self.topics.get(t).is_some()),
            );
        }
        for topic in &doomed {
            self.topics.delete(topic);
            self.offsets.remove_topic(topic);
            self.run_store_maintenance(|| self.store.delete_topic_queues(topic))?;
            tracing::info!(topic, "topic deleted (DELETE_TOPIC_IN_BROKER)");
        }
        Ok(ok())
    }

    /// CLONE_GROUP_OFFSET (314): copies the source group's committed offsets to the destination group, for
    /// the header's topic or, when it is blank, each topic the source group has offsets in. Topics this
    /// broker has no config for are skipped, and so is a topic an online source group does not subscribe
    /// to (unless `offline`). Always SUCCESS.
    ///
    /// Java's `cloneGroupOffset` then copies the *header's* topic inside that loop, so a blank topic
    /// copies nothing (it looks up `null@srcGroup`); rmqd does the same.
    pub(super) fn clone_group_offset(&self, req: &RemotingCommand) -> Reply {
        let h = CloneGroupOffsetRequestHeader::decode(&req.ext_fields)?;
        let Some(topic) = h.topic.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(ok());
        };
        if self.topics.get(topic).is_none() {
            return Ok(ok());
        }
        if !h.offline {
            let clients = self.clients.lock();
            if clients.subscription_count(&h.src_group) > 0
                && clients.subscription(&h.src_group, topic).is_none()
            {
                return Ok(ok());
            }
        }
        self.offsets
            .clone_offsets(&h.src_group, &h.dest_group, topic);
        Ok(ok())
    }

    /// `TopicValidator.isSystemTopic` as this broker sees it: the `rmq_sys_` prefix (which covers the
    /// revive and sync-member names of [`Self::system_topic_names`]) and the rest of that set, compared
    /// without building it: this runs per request (gRPC resource checks, metrics labels).
    pub(crate) fn is_system_topic(&self, topic: &str) -> bool {
        let cluster = self.config.broker_cluster_name.as_str();
        topic.starts_with("rmq_sys_")
            || SYSTEM_TOPICS.contains(&topic)
            || topic == cluster
            || topic == self.config.broker_name
            || topic.strip_suffix("_REPLY_TOPIC") == Some(cluster)
    }

    /// `TopicValidator.getSystemTopicSet()` once a 5.3.3 broker has started: the fixed set plus what its
    /// `TopicConfigManager` adds (cluster and broker names, `<cluster>_REPLY_TOPIC`, the cluster's pop
    /// revive topic and the broker's `rmq_sys_SYNC_BROKER_MEMBER_` topic).
    pub(super) fn system_topic_names(&self) -> Vec<String> {
        let cluster = &self.config.broker_cluster_name;
        let broker = &self.config.broker_name;
        let mut names: Vec<String> = SYSTEM_TOPICS.iter().map(|t| t.to_string()).collect();
        names.extend([
            cluster.clone(),
            broker.clone(),
            format!("{cluster}_REPLY_TOPIC"),
            format!("rmq_sys_REVIVE_LOG_{cluster}"),
            format!("rmq_sys_SYNC_BROKER_MEMBER_{broker}"),
        ]);
        names
    }

    /// Runs store maintenance off the async worker (it deletes directories) and maps a failure to
    /// SYSTEM_ERROR with its message, as Java's handlers answer a thrown exception.
    fn run_store_maintenance(
        &self,
        work: impl Fn() -> Result<usize, StoreError>,
    ) -> Result<usize, ServiceError> {
        let mut outcome = None;
        run_off_worker(&mut || outcome = Some(work()));
        match outcome {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(reply_error(ResponseCode::SystemError, e.to_string())),
            None => Err(reply_error(ResponseCode::SystemError, "not run")),
        }
    }

    /// CLEAN_EXPIRED_CONSUMEQUEUE (306): drops the consume queues of non-system topics whose messages have
    /// all left the commit log (`cleanExpiredConsumerQueue`). SUCCESS, or SYSTEM_ERROR with the failure.
    pub(super) fn clean_expired_consume_queues(&self) -> Reply {
        let dropped = self.run_store_maintenance(|| {
            self.store
                .clean_expired_queues(&|topic| self.is_system_topic(topic))
        })?;
        tracing::info!(dropped, "CLEAN_EXPIRED_CONSUMEQUEUE");
        Ok(ok())
    }

    /// CLEAN_UNUSED_TOPIC (316): drops the consume queues of every topic that has no topic config and is
    /// neither a system topic nor an LMQ topic (`cleanUnusedTopic`). SUCCESS.
    pub(super) fn clean_unused_topics(&self) -> Reply {
        let dropped = self.run_store_maintenance(|| {
            self.store.clean_unused_topics(&|topic| {
                self.topics.get(topic).is_some()
                    || self.is_system_topic(topic)
                    || topic.starts_with("%LMQ%")
            })
        })?;
        tracing::warn!(dropped, "CLEAN_UNUSED_TOPIC");
        Ok(ok())
    }

    /// DELETE_EXPIRED_COMMITLOG (329): Java's `executeDeleteFilesManually` lets the next passes of its
    /// commit-log cleaner delete files older than `fileReservedTime` whatever the hour in `deleteWhen`, and
    /// answers SUCCESS at once. rmqd runs one such pass now, off the async worker, then answers SUCCESS.
    pub(super) fn delete_expired_commit_log(&self) -> Reply {
        let mut report = None;
        run_off_worker(&mut || report = Some(self.store.clean_expired_now(false)));
        if let Some(report) = report {
            tracing::info!(
                commit_log_files = report.commit_log_files,
                consume_queue_files = report.consume_queue_files,
                index_files = report.index_files,
                "DELETE_EXPIRED_COMMITLOG"
            );
        }
        Ok(ok())
    }
}

#[cfg(test)]
mod tests {
    use rmq_codec::code::{RequestCode, ResponseCode};
    use rmq_codec::command::RemotingCommand;
    use rmq_codec::header::{CommandHeader, DeleteTopicRequestHeader};
    use rmq_store::config::perm;

    use crate::broker::test_support::{put_message, TempBroker};
    use crate::broker::Broker;

    #[test]
    fn is_system_topic_is_membership_in_the_system_topic_set() {
        let temp = TempBroker::open();
        let broker = &temp.broker;
        for name in broker.system_topic_names() {
            assert!(broker.is_system_topic(&name), "{name}");
        }
        assert!(broker.is_system_topic("rmq_sys_anything"));
        let cluster = &broker.config.broker_cluster_name;
        for user in [
            "TopicTest",
            "REPLY_TOPIC",
            "_REPLY_TOPIC",
            &format!("{cluster}_REPLY"),
        ] {
            assert!(!broker.is_system_topic(user), "{user}");
        }
    }

    fn delete(broker: &Broker, topic: &str) -> RemotingCommand {
        let h = DeleteTopicRequestHeader {
            topic: topic.into(),
        };
        let req = RemotingCommand::new_request(RequestCode::DeleteTopicInBroker, h.to_ext_fields());
        broker
            .delete_topic(&req)
            .unwrap_or_else(|e| e.into_response())
    }

    #[test]
    fn deleting_a_topic_drops_its_config_offsets_queues_and_pop_retry_topic() {
        let f = TempBroker::open();
        let b = &f.broker;
        b.topics.ensure("T", 2, perm::READ | perm::WRITE);
        b.topics.ensure("%RETRY%g_T", 1, perm::READ | perm::WRITE);
        b.topics.ensure("T2", 1, perm::READ | perm::WRITE);
        for topic in ["T", "T2"] {
            put_message(b, topic, 0, "m", None);
            b.offsets.commit(topic, "g", 0, 1);
        }
        assert_eq!(delete(b, "T").code, i32::from(ResponseCode::Success));
        assert!(b.topics.get("T").is_none());
        assert!(
            b.topics.get("%RETRY%g_T").is_none(),
            "the group's pop retry topic"
        );
        assert_eq!(b.offsets.query("T", "g", 0), None);
        assert_eq!(b.store.max_offset_in_queue("T", 0), 0);
        assert!(!f.dir.path().join("consumequeue/T").exists());
        // Another topic keeps everything.
        assert!(b.topics.get("T2").is_some());
        assert_eq!(b.offsets.query("T2", "g", 0), Some(1));
        assert_eq!(b.store.max_offset_in_queue("T2", 0), 1);
        // A topic created again under the name starts empty.
        b.topics.ensure("T", 2, perm::READ | perm::WRITE);
        assert_eq!(put_message(b, "T", 0, "again", None).queue_offset, 0);
    }

    #[test]
    fn blank_and_system_topics_are_refused_as_java_does() {
        let f = TempBroker::open();
        let blank = delete(&f.broker, " ");
        assert_eq!(blank.code, i32::from(ResponseCode::InvalidParameter));
        assert_eq!(
            blank.remark.as_deref(),
            Some("The specified topic is blank.")
        );
        let system = delete(&f.broker, "SCHEDULE_TOPIC_XXXX");
        assert_eq!(system.code, i32::from(ResponseCode::InvalidParameter));
        assert_eq!(
            system.remark.as_deref(),
            Some("The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic.")
        );
    }
}
