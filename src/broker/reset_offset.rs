//! The 5.x server-side consumer offset reset (`useServerSideResetOffset`, on by default as in 5.3.3).
//!
//! INVOKE_BROKER_TO_RESET_OFFSET (222) then records the target offsets on the broker instead of pushing
//! RESET_CONSUMER_CLIENT_OFFSET to live consumers (`AdminBrokerProcessor.resetOffsetInner`), so it works
//! with the whole group offline. Each target is both committed and kept as a *pending reset*
//! (`ConsumerOffsetManager.assignResetOffset`) until the group's next pull of that queue:
//! - QUERY_CONSUMER_OFFSET answers the pending reset (`queryOffset`);
//! - UPDATE_CONSUMER_OFFSET is acknowledged but ignored while a reset is pending, so a live consumer's
//!   periodic commit of its old position cannot undo the reset (`ConsumerManageProcessor`);
//! - the next pull takes the reset out and answers PULL_OFFSET_MOVED with `nextBeginOffset` set to it
//!   (`PullMessageProcessor`, status OFFSET_RESET), which every 4.x and 5.x client obeys: it drops the
//!   queue, stores the new offset and pulls from there.
//!
//! Pending resets are not written to `consumerOffset.json`: Java's table is private with no getter, so
//! fastjson never serializes it. After a restart the committed offset still carries the reset.

use std::collections::BTreeMap;

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::ResetOffsetRequestHeader;
use rmq_codec::header::{CommandHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use rmq_store::config::ConsumerOffsetFile;

use super::retro::{reset_offset_body, Boundary};
use super::{ok, reply_error, Broker, Reply};

/// Pending resets: `"topic@group"` → queue id → the offset the next pull must start from.
#[derive(Debug, Default)]
pub struct ResetTable {
    pending: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ResetTable {
    /// Records a reset; a negative offset or queue id is refused, as Java's `assignResetOffset` does.
    pub fn assign(&mut self, topic: &str, group: &str, queue_id: i32, offset: i64) -> bool {
        if topic.is_empty() || group.is_empty() || queue_id < 0 || offset < 0 {
            return false;
        }
        self.pending
            .entry(ConsumerOffsetFile::key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        true
    }

    pub fn pending(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        self.pending
            .get(&ConsumerOffsetFile::key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// Drops every pending reset of `group` (DELETE_SUBSCRIPTIONGROUP with cleanOffset, as 5.3.3's
    /// `removeOffset` clears its `resetOffsetTable`).
    pub fn forget_group(&mut self, group: &str) {
        self.pending
            .retain(|key, _| !super::offsets::is_key_of_group(key, group));
    }

    pub fn forget_topic(&mut self, topic: &str) {
        self.pending
            .retain(|key, _| !super::offsets::is_key_of_topic(key, topic));
    }

    /// Removes and returns the pending reset (Java's `queryThenEraseResetOffset`).
    pub fn take(&mut self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let key = ConsumerOffsetFile::key(topic, group);
        let queues = self.pending.get_mut(&key)?;
        let offset = queues.remove(&queue_id);
        if queues.is_empty() {
            self.pending.remove(&key);
        }
        offset
    }
}

/// Java's range check for an explicit target offset: `min >= 0 && offset < min || offset > max + 1`.
fn offset_out_of_range(offset: i64, min: i64, max: i64) -> bool {
    (min >= 0 && offset < min) || offset > max + 1
}

impl Broker {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) with `useServerSideResetOffset`. Every client version is
    /// served this way, as by a 5.3.3 broker: a 4.x admin sends no `queueId` (all queues, by timestamp)
    /// and 4.x consumers follow the PULL_OFFSET_MOVED of their next pull. `isForce` plays no part.
    pub(super) fn reset_offset_server_side(&self, h: &ResetOffsetRequestHeader) -> Reply {
        // 5.3.3 `resetOffsetInner`: offsets are the master's; a slave copies them.
        if self.config.is_slave() {
            return Err(reply_error(
                ResponseCode::SystemError,
                "Can not reset offset in slave broker",
            ));
        }
        let Some(topic) = self.topics.get(&h.topic) else {
            return Err(reply_error(
                ResponseCode::TopicNotExist,
                format!("Topic {} does not exist", h.topic),
            ));
        };
        if !self.groups.contains(&h.group) {
            return Err(reply_error(
                ResponseCode::SubscriptionGroupNotExist,
                format!("Group {} does not exist", h.group),
            ));
        }
        let targets: Vec<(i32, i64)> = match h.queue_id.filter(|&q| q >= 0) {
            Some(queue_id) => vec![(queue_id, self.reset_target(h, queue_id)?)],
            None => (0..topic.read_queue_nums)
                .map(|queue_id| (queue_id, self.reset_target_by_time(h, queue_id)))
                .collect(),
        };
        if targets.is_empty() {
            return Err(reply_error(
                ResponseCode::SystemError,
                "No queues to reset.",
            ));
        }
        for &(queue_id, offset) in &targets {
            if !self
                .offsets
                .assign_reset(&h.topic, &h.group, queue_id, offset)
            {
                tracing::warn!(topic = %h.topic, group = %h.group, queue_id, offset, "illegal reset offset ignored");
            }
            // A pull parked on this queue answers now instead of at its timeout.
            self.polling.message_arrived(&h.topic, queue_id);
        }
        tracing::info!(topic = %h.topic, group = %h.group, timestamp = h.timestamp, ?targets, "consumer offsets reset on the broker");
        let mut resp = ok();
        resp.body = reset_offset_body(&self.config.broker_name, &h.topic, &targets);
        Ok(resp)
    }

    /// One queue's target: the explicit `offset` when there is one (not -1) and it lies in the queue,
    /// otherwise by timestamp.
    fn reset_target(
        &self,
        h: &ResetOffsetRequestHeader,
        queue_id: i32,
    ) -> Result<i64, crate::error::ServiceError> {
        let Some(offset) = h.offset.filter(|&o| o != -1) else {
            return Ok(self.reset_target_by_time(h, queue_id));
        };
        let min = self.store.min_offset_in_queue(&h.topic, queue_id);
        let max = self.store.max_offset_in_queue(&h.topic, queue_id);
        if offset_out_of_range(offset, min, max) {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!("Target offset {offset} not in consume queue range [{min}-{max}]"),
            ));
        }
        Ok(offset)
    }

    /// A negative timestamp means the queue's max offset; otherwise the first offset stored at or after it.
    fn reset_target_by_time(&self, h: &ResetOffsetRequestHeader, queue_id: i32) -> i64 {
        if h.timestamp < 0 {
            self.store.max_offset_in_queue(&h.topic, queue_id)
        } else {
            self.offset_by_time(&h.topic, queue_id, h.timestamp, Boundary::Lower)
        }
    }

    /// Called by a pull after its checks: when the queue has a pending reset, takes it and answers
    /// PULL_OFFSET_MOVED pointing at it. The pull's own commit offset is still applied, as Java's
    /// `tryCommitOffset` does for every pull status; the client then stores the reset offset itself.
    pub(super) fn pull_after_reset(
        &self,
        h: &PullMessageRequestHeader,
        commit: bool,
    ) -> Option<RemotingCommand> {
        let offset = self
            .offsets
            .take_reset(&h.topic, &h.consumer_group, h.queue_id)?;
        if commit {
            self.commit_offset(&h.topic, &h.consumer_group, h.queue_id, h.commit_offset);
        }
        tracing::info!(topic = %h.topic, group = %h.consumer_group, queue_id = h.queue_id, offset, "pull redirected to the reset offset");
        let mut cmd = RemotingCommand::new_response(
            ResponseCode::PullOffsetMoved,
            Some("OFFSET_RESET".into()),
        );
        PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: offset,
            min_offset: self.store.min_offset_in_queue(&h.topic, h.queue_id),
            max_offset: self.store.max_offset_in_queue(&h.topic, h.queue_id),
        }
        .encode(&mut cmd.ext_fields);
        Some(cmd)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rmq_codec::code::RequestCode;
    use rmq_codec::header::{QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader};
    use rmq_store::config::perm;
    use tokio::sync::mpsc;

    use super::*;
    use crate::broker::test_support::{config_in, put_message, TempBroker};
    use crate::config::BrokerConfig;
    use crate::remoting::{Answer, Connection, Outbound};

    /// Topic `T` (2 queues) with 3 messages in queue 0, and group `g` known to the broker.
    fn fixture(server_side: bool) -> TempBroker {
        let f = TempBroker::open_with(|c| c.use_server_side_reset_offset = server_side);
        f.broker.topics.ensure("T", 2, perm::READ | perm::WRITE);
        f.broker.groups.ensure("g").expect("group");
        for i in 0..3 {
            put_message(&f.broker, "T", 0, format!("m{i}"), Some("a"));
        }
        f
    }

    fn open(dir: &tempfile::TempDir, server_side: bool) -> Arc<Broker> {
        let mut config = config_in(dir);
        config.use_server_side_reset_offset = server_side;
        Broker::open(config).expect("opens")
    }

    fn reset(b: &Broker, group: &str, queue_id: Option<i32>, offset: Option<i64>) -> Reply {
        let h = ResetOffsetRequestHeader {
            topic: "T".into(),
            group: group.into(),
            timestamp: 0,
            is_force: false,
            queue_id,
            offset,
        };
        b.reset_offset(&RemotingCommand::new_request(
            RequestCode::InvokeBrokerToResetOffset,
            h.to_ext_fields(),
        ))
    }

    fn query(b: &Broker, queue_id: i32) -> i64 {
        let h = QueryConsumerOffsetRequestHeader {
            consumer_group: "g".into(),
            topic: "T".into(),
            queue_id,
            set_zero_if_not_found: Some(false),
        };
        let req = RemotingCommand::new_request(RequestCode::QueryConsumerOffset, h.to_ext_fields());
        let resp = b.query_consumer_offset(&req).expect("offset found");
        rmq_codec::header::OffsetResponseHeader::decode(&resp.ext_fields)
            .expect("header")
            .offset
    }

    fn update(b: &Broker, queue_id: i32, offset: i64) -> Option<String> {
        let h = UpdateConsumerOffsetRequestHeader {
            consumer_group: "g".into(),
            topic: "T".into(),
            queue_id,
            commit_offset: offset,
        };
        let req =
            RemotingCommand::new_request(RequestCode::UpdateConsumerOffset, h.to_ext_fields());
        b.update_consumer_offset(&req).expect("accepted").remark
    }

    /// A pull of queue 0 at `offset` with the subscription in the request (no heartbeat needed) and a
    /// commit offset of 3: its response code, header and record count.
    fn pull(
        b: &Broker,
        offset: i64,
    ) -> (
        ResponseCode,
        PullMessageResponseHeader,
        Option<String>,
        usize,
    ) {
        let (tx, _rx) = mpsc::channel(4);
        let conn = Connection::new(9, "127.0.0.1:40001".parse().expect("addr"), tx);
        let h = PullMessageRequestHeader {
            consumer_group: "g".into(),
            topic: "T".into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: 0x1 | 0x4,
            commit_offset: 3,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: None,
            max_msg_bytes: None,
        };
        let req = RemotingCommand::new_request(RequestCode::PullMessage, h.to_ext_fields());
        let (cmd, n) = match b.pull(&conn, &req) {
            Answer::Now(Outbound::Command(cmd)) => (cmd, 0),
            Answer::Now(Outbound::Records { cmd, records }) => (cmd, records.len()),
            _ => panic!("a pull without the suspend flag is answered at once"),
        };
        let header = PullMessageResponseHeader::decode(&cmd.ext_fields).expect("pull header");
        (ResponseCode::from(cmd.code), header, cmd.remark, n)
    }

    #[test]
    fn reset_is_answered_by_query_and_steers_the_next_pull_once() {
        let f = fixture(true);
        let b = &f.broker;
        b.offsets.commit("T", "g", 0, 3);
        let resp = reset(b, "g", None, None).expect("reset without any consumer online");
        assert_eq!(
            std::str::from_utf8(&resp.body).expect("utf8"),
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:0,{"brokerName":"broker-a","queueId":1,"topic":"T"}:0}}"#
        );
        assert_eq!(query(b, 0), 0);
        assert_eq!(
            update(b, 0, 3).as_deref(),
            Some("Offset has been previously reset"),
            "a live consumer's stale commit is ignored"
        );
        assert_eq!(query(b, 0), 0);

        let (code, header, remark, n) = pull(b, 3);
        assert_eq!(code, ResponseCode::PullOffsetMoved);
        assert_eq!(remark.as_deref(), Some("OFFSET_RESET"));
        assert_eq!(
            (
                header.next_begin_offset,
                header.min_offset,
                header.max_offset
            ),
            (0, 0, 3)
        );
        assert_eq!(n, 0);
        assert_eq!(
            query(b, 0),
            3,
            "the pull's own commit offset applies, as in Java"
        );
        assert_eq!(
            update(b, 0, 0),
            None,
            "commits count again once the reset was taken"
        );

        let (code, header, _, n) = pull(b, 0);
        assert_eq!(
            (code, n, header.next_begin_offset),
            (ResponseCode::Success, 3, 3)
        );
        assert!(
            b.offsets.has_reset("T", "g", 1),
            "queue 1 was not pulled yet"
        );
    }

    #[test]
    fn explicit_queue_and_offset() {
        let f = fixture(true);
        let b = &f.broker;
        let resp = reset(b, "g", Some(0), Some(2)).expect("in range");
        assert!(std::str::from_utf8(&resp.body)
            .expect("utf8")
            .ends_with(":2}}"));
        assert_eq!(query(b, 0), 2);
        assert!(!b.offsets.has_reset("T", "g", 1), "only the named queue");
        let e = reset(b, "g", Some(0), Some(5)).expect_err("past max + 1");
        assert_eq!(e.response_code(), ResponseCode::SystemError);
        assert_eq!(
            e.into_response().remark.as_deref(),
            Some("Target offset 5 not in consume queue range [0-3]")
        );
        reset(b, "g", Some(0), Some(-1)).expect("-1 means by timestamp");
        assert_eq!(query(b, 0), 0);
    }

    #[test]
    fn unknown_group_or_topic_is_refused() {
        let f = fixture(true);
        let e = reset(&f.broker, "nobody", None, None).expect_err("unknown group");
        assert_eq!(e.response_code(), ResponseCode::SubscriptionGroupNotExist);
        assert!(!f.broker.groups.contains("nobody"), "not auto-created");
        let h = ResetOffsetRequestHeader {
            topic: "NoSuchTopic".into(),
            group: "g".into(),
            timestamp: 0,
            is_force: true,
            queue_id: None,
            offset: None,
        };
        let req =
            RemotingCommand::new_request(RequestCode::InvokeBrokerToResetOffset, h.to_ext_fields());
        let e = f.broker.reset_offset(&req).expect_err("unknown topic");
        assert_eq!(e.response_code(), ResponseCode::TopicNotExist);
    }

    #[test]
    fn the_flag_is_on_by_default_and_read_from_broker_conf() {
        assert!(BrokerConfig::default().use_server_side_reset_offset);
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("broker.conf");
        std::fs::write(&conf, "useServerSideResetOffset=false\n").expect("write");
        let config = crate::config::load_broker(Some(&conf)).expect("loads");
        assert!(!config.use_server_side_reset_offset);
    }

    #[test]
    fn flag_off_keeps_the_4x_flow() {
        let f = fixture(false);
        f.broker.offsets.commit("T", "g", 0, 3);
        f.broker.offsets.commit("T", "g", 1, 0);
        let e = reset(&f.broker, "g", None, None).expect_err("4.x flow needs a live consumer");
        assert_eq!(e.response_code(), ResponseCode::ConsumerNotOnline);
        assert!(!f.broker.offsets.has_reset("T", "g", 0));
    }

    /// consumerOffset.json keeps Java 5.3.3's shape: the pending reset is memory only, the committed
    /// offset carries it across a restart.
    #[test]
    fn restart_keeps_the_reset_as_the_committed_offset() {
        let f = fixture(true);
        f.broker.offsets.commit("T", "g", 0, 3);
        reset(&f.broker, "g", None, None).expect("reset");
        f.broker.offsets.persist();
        f.broker.persister.flush().expect("written");
        let path = rmq_store::config::consumer_offset_path(f.dir.path());
        let text = std::fs::read_to_string(&path).expect("file");
        let saved = ConsumerOffsetFile::load(&path).expect("parses");
        assert_eq!(saved.offsets["T@g"], [(0, 0), (1, 0)].into());
        assert!(
            !text.contains("reset"),
            "no field Java would not write: {text}"
        );
        let TempBroker { broker, dir } = f;
        drop(broker);
        let reopened = open(&dir, true);
        assert_eq!(query(&reopened, 0), 0);
        assert!(!reopened.offsets.has_reset("T", "g", 0));
        assert_eq!(
            update(&reopened, 0, 3),
            None,
            "no pending reset after a restart"
        );
    }

    #[test]
    fn take_erases_only_that_queue() {
        let mut t = ResetTable::default();
        assert!(t.assign("T", "g", 0, 5));
        assert!(t.assign("T", "g", 1, 7));
        assert_eq!(t.pending("T", "g", 0), Some(5));
        assert_eq!(t.take("T", "g", 0), Some(5));
        assert_eq!(t.take("T", "g", 0), None, "a reset is consumed once");
        assert_eq!(t.pending("T", "g", 1), Some(7));
        assert_eq!(t.pending("T", "other", 1), None);
        assert_eq!(t.take("T", "g", 1), Some(7));
        assert!(t.pending.is_empty(), "empty groups are dropped");
    }

    #[test]
    fn illegal_resets_are_refused() {
        let mut t = ResetTable::default();
        assert!(!t.assign("T", "g", -1, 5));
        assert!(!t.assign("T", "g", 0, -1));
        assert!(!t.assign("", "g", 0, 1));
        assert!(!t.assign("T", "", 0, 1));
        assert!(t.pending.is_empty());
    }

    #[test]
    fn explicit_offsets_may_go_one_past_the_max() {
        assert!(!offset_out_of_range(3, 3, 10));
        assert!(offset_out_of_range(2, 3, 10));
        assert!(!offset_out_of_range(11, 3, 10));
        assert!(offset_out_of_range(12, 3, 10));
        assert!(
            !offset_out_of_range(0, -1, 0),
            "no min: only the upper bound"
        );
    }
}
