//! Operator maintenance requests of Java's `AdminBrokerProcessor`: CLONE_GROUP_OFFSET (314, mqadmin
//! cloneGroupOffset), CLEAN_EXPIRED_CONSUMEQUEUE (306, cleanExpiredCQ), CLEAN_UNUSED_TOPIC (316,
//! cleanUnusedTopic) and DELETE_EXPIRED_COMMITLOG (329, deleteExpiredCommitLog).

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CloneGroupOffsetRequestHeader, CommandHeader};
use rmq_store::StoreError;

use super::blocking::run_off_worker;
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

    /// `TopicValidator.isSystemTopic` as this broker sees it: the system topic set and the `rmq_sys_`
    /// prefix.
    pub(super) fn is_system_topic(&self, topic: &str) -> bool {
        topic.starts_with("rmq_sys_") || self.system_topic_names().iter().any(|t| t == topic)
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
