//! Transactional messages (Java `broker/transaction/`): half messages, END_TRANSACTION (37)
//! and the check-back of unresolved halves ([`check`]).
//!
//! A transactional send is stored as a *half* message in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0, invisible to
//! consumers. END_TRANSACTION COMMIT copies it to its real topic and queue; COMMIT and ROLLBACK then
//! "delete" the half by appending an *op* message (tag `d`, body = the half's queue offset) to
//! `RMQ_SYS_TRANS_OP_HALF_TOPIC`. Nothing is ever removed in place: the check service pairs halves with
//! ops to find the unresolved ones. Both topics and the progress offsets
//! (`<topic>@CID_RMQ_SYS_TRANS` in consumerOffset.json) are laid out as Java lays them out, so a store
//! moves between rmqd and a Java broker with its open transactions.

pub mod check;

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, EndTransactionRequestHeader};
use rmq_codec::message::{self, properties, sys_flag, StoredMessage};

use super::{ok, reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::connection::now_ms;

/// Where half messages live (`TopicValidator.RMQ_SYS_TRANS_HALF_TOPIC`).
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where op ("delete") messages live.
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Halves checked `transactionCheckMax` times end up here (restorable with mqadmin).
pub const CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The consumer group under which the check service records its progress (`MixAll.CID_SYS_RMQ_TRANS`).
pub const SYSTEM_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Tag of an op message that resolves halves (`TransactionalMessageUtil.REMOVE_TAG`).
pub const REMOVE_TAG: &str = "d";

/// Whether a send must become a half message: `TRAN_MSG=true`, except a retry that carries a delay level
/// (a transactional message re-sent by a consumer is an ordinary retry; Java's send processor).
pub fn is_half_send(props: &str, reconsume_times: i32) -> bool {
    let tran = properties::get(props, properties::TRANSACTION_PREPARED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let delayed = properties::get(props, properties::DELAY)
        .and_then(|v| v.trim().parse::<i32>().ok())
        .is_some_and(|level| level > 0);
    tran && !(reconsume_times > 0 && delayed)
}

/// Turns a record built for the real topic into its half message
/// (`TransactionalMessageBridge.parseHalfMessageInner`): remembers the real topic and queue, tags the
/// transaction id, clears the transaction bits so the half gets a consume-queue unit, and moves it to
/// the half queue.
pub fn into_half(msg: &mut StoredMessage) {
    let mut props = std::mem::take(&mut msg.properties);
    if let Some(uniq) = properties::get(&props, properties::UNIQ_KEY).filter(|u| !u.is_empty()) {
        let uniq = uniq.to_string();
        props = properties::put(&props, properties::TRANSACTION_ID, &uniq);
    }
    props = properties::put(&props, properties::REAL_TOPIC, &msg.topic);
    props = properties::put(&props, properties::REAL_QUEUE_ID, &msg.queue_id.to_string());
    msg.properties = props;
    msg.sys_flag &= !sys_flag::TRANSACTION_MASK;
    msg.topic = HALF_TOPIC.to_string();
    msg.magic = message::magic_for_topic(HALF_TOPIC);
    msg.queue_id = 0;
}

/// The half-queue offsets an op message resolves: one decimal (4.x) or a comma-separated list with a
/// trailing comma (5.x batches them). Unparsable pieces are skipped, as Java logs and skips them.
pub fn parse_op_body(body: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(body)
        .split(',')
        .filter_map(|piece| piece.trim().parse::<i64>().ok())
        .collect()
}

/// The committed message (`EndTransactionProcessor.endMessageTransaction`): the half's content in its real
/// topic and queue, type COMMIT, pointing back at the half. Java stores the half's property string
/// unchanged (its clearProperty calls come after the string is built), so REAL_TOPIC, REAL_QID and
/// `TRAN_MSG=true` stay; the client reads TRAN_MSG to set the transaction id of what it consumes.
pub fn committed_from_half(half: &StoredMessage) -> Result<StoredMessage, String> {
    let real_topic = properties::get(&half.properties, properties::REAL_TOPIC)
        .ok_or("the half message has no REAL_TOPIC")?;
    let real_queue = properties::get(&half.properties, properties::REAL_QUEUE_ID)
        .and_then(|q| q.trim().parse::<i32>().ok())
        .ok_or("the half message has no valid REAL_QID")?;
    Ok(StoredMessage {
        magic: message::magic_for_topic(real_topic),
        queue_id: real_queue,
        queue_offset: 0,
        commit_log_offset: 0,
        sys_flag: (half.sys_flag & !sys_flag::TRANSACTION_MASK) | sys_flag::TRANSACTION_COMMIT,
        store_timestamp: 0,
        prepared_transaction_offset: half.commit_log_offset,
        topic: real_topic.to_string(),
        ..half.clone()
    })
}

/// What END_TRANSACTION found wrong with the half it names (Java's remarks, all SYSTEM_ERROR).
fn check_half(half: &StoredMessage, h: &EndTransactionRequestHeader) -> Result<(), &'static str> {
    if half.topic != HALF_TOPIC {
        return Err("Find prepared transaction message failed");
    }
    if properties::get(&half.properties, properties::PRODUCER_GROUP) != Some(&h.producer_group) {
        return Err("The producer group wrong");
    }
    if half.queue_offset != h.tran_state_table_offset {
        return Err("The transaction state table offset wrong");
    }
    if half.commit_log_offset != h.commit_log_offset {
        return Err("The commit log offset wrong");
    }
    Ok(())
}

impl Broker {
    /// END_TRANSACTION (37). Usually oneway; a state of 0 (unknown) or anything else that is neither
    /// COMMIT nor ROLLBACK gets no response at all, as in Java.
    pub(super) fn end_transaction(
        &self,
        req: &RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ServiceError> {
        let h = EndTransactionRequestHeader::decode(&req.ext_fields)?;
        let commit = match h.commit_or_rollback {
            sys_flag::TRANSACTION_COMMIT => true,
            sys_flag::TRANSACTION_ROLLBACK => false,
            _ => {
                tracing::debug!(
                    msg_id = h.msg_id,
                    "transaction left pending by the producer"
                );
                return Ok(None);
            }
        };
        let half = self
            .store
            .message_at(h.commit_log_offset)
            .and_then(|raw| StoredMessage::decode(&raw).ok())
            .ok_or_else(|| {
                reply_error(
                    ResponseCode::SystemError,
                    "Find prepared transaction message failed",
                )
            })?;
        check_half(&half, &h).map_err(|remark| reply_error(ResponseCode::SystemError, remark))?;
        if commit {
            let mut msg = committed_from_half(&half)
                .map_err(|e| reply_error(ResponseCode::SystemError, e))?;
            // Java's final put runs the schedule hook: a committed message that still carries DELAY (or a
            // 5.x timer property) goes to SCHEDULE_TOPIC_XXXX / the timer topic, not straight to its topic.
            let rules = super::schedule::DelayRules::from_config(&self.config);
            super::schedule::route_delayed(&mut msg, rules, now_ms() as i64)?;
            let tags_code = message::tags_code(properties::get(&msg.properties, properties::TAGS));
            self.store.put_deferred(&mut msg, tags_code, false)?;
            self.polling.message_arrived(&msg.topic, msg.queue_id);
        }
        tracing::debug!(
            msg_id = h.msg_id,
            commit,
            from_check = h.from_transaction_check,
            "transaction ended"
        );
        self.delete_half(&half)?;
        Ok(Some(ok()))
    }

    /// Marks a half message resolved: an op message in the op queue of the half's queue whose body is the
    /// half's queue offset (4.x writes one op per half; the checker also reads 5.x batches).
    fn delete_half(&self, half: &StoredMessage) -> Result<(), ServiceError> {
        let mut op = StoredMessage {
            magic: message::magic_for_topic(OP_TOPIC),
            queue_id: half.queue_id,
            born_timestamp: now_ms() as i64,
            born_host: self.store_host,
            store_host: self.store_host,
            body: half.queue_offset.to_string().into_bytes().into(),
            topic: OP_TOPIC.to_string(),
            properties: properties::encode(&[
                (properties::TAGS.to_string(), REMOVE_TAG.to_string()),
                (properties::WAIT.to_string(), "true".to_string()),
            ]),
            ..StoredMessage::default()
        };
        let tags_code = message::tags_code(Some(REMOVE_TAG));
        self.store.put_deferred(&mut op, tags_code, false)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn sample_half() -> StoredMessage {
        let props = properties::encode(&[
            ("UNIQ_KEY".into(), "AC11000100002A9F0000000000000001".into()),
            ("TAGS".into(), "TagA".into()),
            ("TRAN_MSG".into(), "true".into()),
            ("PGROUP".into(), "pg".into()),
        ]);
        let mut msg = StoredMessage {
            topic: "Orders".into(),
            queue_id: 3,
            sys_flag: sys_flag::TRANSACTION_PREPARED | sys_flag::COMPRESSED,
            flag: 7,
            properties: props,
            body: "hello".into(),
            born_host: "10.0.0.9:5555".parse::<SocketAddr>().unwrap(),
            ..StoredMessage::default()
        };
        into_half(&mut msg);
        msg
    }

    #[test]
    fn half_message_moves_to_the_half_queue_and_remembers_the_real_one() {
        let half = sample_half();
        assert_eq!(half.topic, HALF_TOPIC);
        assert_eq!(half.queue_id, 0);
        assert_eq!(half.sys_flag, sys_flag::COMPRESSED);
        assert_eq!(
            properties::get(&half.properties, "REAL_TOPIC"),
            Some("Orders")
        );
        assert_eq!(properties::get(&half.properties, "REAL_QID"), Some("3"));
        assert_eq!(
            properties::get(&half.properties, "__transactionId__"),
            Some("AC11000100002A9F0000000000000001")
        );
    }

    #[test]
    fn commit_restores_topic_queue_and_sets_commit_type() {
        let mut half = sample_half();
        half.commit_log_offset = 4096;
        half.queue_offset = 9;
        let done = committed_from_half(&half).unwrap();
        assert_eq!((done.topic.as_str(), done.queue_id), ("Orders", 3));
        assert_eq!(
            done.sys_flag,
            sys_flag::COMPRESSED | sys_flag::TRANSACTION_COMMIT
        );
        assert_eq!(done.prepared_transaction_offset, 4096);
        assert_eq!(done.flag, 7);
        assert_eq!(done.body, half.body);
        assert_eq!(properties::get(&done.properties, "TRAN_MSG"), Some("true"));
        let mut broken = half.clone();
        broken.properties = properties::remove(&broken.properties, "REAL_QID");
        assert!(committed_from_half(&broken).is_err());
    }

    #[test]
    fn end_transaction_checks_group_and_offsets() {
        let mut half = sample_half();
        half.commit_log_offset = 100;
        half.queue_offset = 2;
        let mut h = EndTransactionRequestHeader {
            producer_group: "pg".into(),
            tran_state_table_offset: 2,
            commit_log_offset: 100,
            commit_or_rollback: 8,
            ..Default::default()
        };
        assert_eq!(check_half(&half, &h), Ok(()));
        h.producer_group = "other".into();
        assert_eq!(check_half(&half, &h), Err("The producer group wrong"));
        h.producer_group = "pg".into();
        h.tran_state_table_offset = 3;
        assert_eq!(
            check_half(&half, &h),
            Err("The transaction state table offset wrong")
        );
        h.tran_state_table_offset = 2;
        h.commit_log_offset = 101;
        assert_eq!(check_half(&half, &h), Err("The commit log offset wrong"));
    }

    #[test]
    fn op_bodies_of_both_versions_parse() {
        assert_eq!(parse_op_body(b"123"), vec![123]);
        assert_eq!(parse_op_body(b"123,124,"), vec![123, 124]);
        assert_eq!(parse_op_body(b"x,5"), vec![5]);
        assert!(parse_op_body(b"").is_empty());
    }

    #[test]
    fn retries_with_delay_are_not_halves() {
        let tran = properties::encode(&[("TRAN_MSG".into(), "true".into())]);
        assert!(is_half_send(&tran, 0));
        let retry = properties::put(&tran, "DELAY", "3");
        assert!(!is_half_send(&retry, 1));
        assert!(is_half_send(&retry, 0));
        assert!(!is_half_send("", 0));
    }
}

#[cfg(test)]
mod flow_tests;
