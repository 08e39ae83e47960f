//! The receipt handle a gRPC consumer gets with each message and sends back in AckMessage,
//! ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue (Java's `common/consumer/ReceiptHandle`).
//!
//! It is the message's `POP_CK` extra info with the commit-log offset appended (Java proxy's
//! `ConsumerProcessor.createHandle`), nine space-separated fields:
//! `ckStartOffset retrieveTime invisibleTime reviveQid topicType brokerName queueId queueOffset
//! commitLogOffset`. `topicType` is "0" for the topic itself, "1" (or "2" for V2 names) for the
//! group's pop retry topic. The broker's extra-info parser reads the first eight fields and ignores
//! the ninth, so the whole handle goes to the broker as `extraInfo` as Java's proxy sends it.

use std::fmt;

use crate::broker::topics::RETRY_GROUP_TOPIC_PREFIX;

/// `ReceiptHandle.NORMAL_TOPIC` / `RETRY_TOPIC` / `RETRY_TOPIC_V2`.
pub const NORMAL_TOPIC: &str = "0";
pub const RETRY_TOPIC: &str = "1";
pub const RETRY_TOPIC_V2: &str = "2";

/// A receipt handle that does not parse (Java throws `IllegalArgumentException` /
/// `NumberFormatException`, which the proxy answers with INVALID_RECEIPT_HANDLE).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid receipt handle {0:?}")]
pub struct BadReceiptHandle(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// Queue offset the broker's checkpoint starts at.
    pub start_offset: i64,
    /// When the message was popped (the checkpoint's pop time), ms since the epoch.
    pub retrieve_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// "0", "1" or "2" (see the module doc), kept as given.
    pub topic_type: String,
    pub broker_name: String,
    pub queue_id: i32,
    /// The message's queue offset.
    pub offset: i64,
    /// -1 when the handle has only eight fields.
    pub commit_log_offset: i64,
}

impl ReceiptHandle {
    /// `ReceiptHandle.decode`: at least eight fields; a ninth is the commit-log offset.
    pub fn parse(s: &str) -> Result<Self, BadReceiptHandle> {
        let bad = || BadReceiptHandle(s.to_string());
        // Java's String.split drops trailing empty strings.
        let parts: Vec<&str> = s.trim_end_matches(' ').split(' ').collect();
        if parts.len() < 8 {
            return Err(bad());
        }
        let long = |i: usize| parts[i].parse::<i64>().map_err(|_| bad());
        let int = |i: usize| parts[i].parse::<i32>().map_err(|_| bad());
        Ok(ReceiptHandle {
            start_offset: long(0)?,
            retrieve_time: long(1)?,
            invisible_time: long(2)?,
            revive_qid: int(3)?,
            topic_type: parts[4].to_string(),
            broker_name: parts[5].to_string(),
            queue_id: int(6)?,
            offset: long(7)?,
            commit_log_offset: if parts.len() > 8 { long(8)? } else { -1 },
        })
    }

    /// `nextVisibleTime`: when the broker hands the message out again unless it is acked.
    pub fn next_visible_time(&self) -> i64 {
        self.retrieve_time.saturating_add(self.invisible_time)
    }

    /// `ReceiptHandle.isExpired`: the proxy refuses to ack or change an expired handle.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.next_visible_time() <= now_ms
    }

    /// `getRealTopic`: the topic the message was popped from, the group's pop retry topic for a
    /// retried message.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        match self.topic_type.as_str() {
            // KeyBuilder.buildPopRetryTopicV1, as the broker names it.
            RETRY_TOPIC => format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}"),
            // KeyBuilder.buildPopRetryTopicV2 (`%RETRY%group+topic`); rmqd never creates these, but a
            // handle naming one is passed on as Java would.
            RETRY_TOPIC_V2 => format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}"),
            _ => topic.to_string(),
        }
    }

    /// The handle a CHANGE_INVISIBLETIME answer makes (Java's `LocalMessageService.changeInvisibleTime`
    /// then `ConsumerProcessor.createHandle`): the new pop time, invisible time and revive queue, the
    /// rest as before.
    pub fn renewed(&self, pop_time: i64, invisible_time: i64, revive_qid: i32) -> Self {
        ReceiptHandle {
            retrieve_time: pop_time,
            invisible_time,
            revive_qid,
            ..self.clone()
        }
    }
}

impl fmt::Display for ReceiptHandle {
    /// `ReceiptHandle.encode`: all nine fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {} {} {}",
            self.start_offset,
            self.retrieve_time,
            self.invisible_time,
            self.revive_qid,
            self.topic_type,
            self.broker_name,
            self.queue_id,
            self.offset,
            self.commit_log_offset
        )
    }
}

/// `ExtraInfoUtil.getRetry`: the topic-type mark of the topic a message was popped from.
pub fn topic_type_of(topic: &str) -> &'static str {
    if !topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        NORMAL_TOPIC
    } else if topic.contains('+') {
        RETRY_TOPIC_V2
    } else {
        RETRY_TOPIC
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_fields_round_trip() {
        let s = "10 1700000000000 30000 2 1 broker-a 3 12 4096";
        let h = ReceiptHandle::parse(s).expect("parses");
        assert_eq!(h.start_offset, 10);
        assert_eq!(h.next_visible_time(), 1_700_000_030_000);
        assert_eq!(h.revive_qid, 2);
        assert_eq!(h.queue_id, 3);
        assert_eq!(h.offset, 12);
        assert_eq!(h.commit_log_offset, 4096);
        assert_eq!(h.to_string(), s);
        assert_eq!(h.real_topic("T", "G"), "%RETRY%G_T");
    }

    #[test]
    fn eight_fields_have_no_commit_log_offset() {
        let h = ReceiptHandle::parse("0 5 6 7 0 b 2 9").expect("parses");
        assert_eq!(h.commit_log_offset, -1);
        assert_eq!(h.real_topic("T", "G"), "T");
        assert_eq!(h.to_string(), "0 5 6 7 0 b 2 9 -1");
    }

    #[test]
    fn expiry_is_pop_time_plus_invisible_time() {
        let h = ReceiptHandle::parse("0 1000 500 0 0 b 0 0 0").expect("parses");
        assert!(!h.is_expired(1499));
        assert!(h.is_expired(1500));
    }

    #[test]
    fn rejects_short_and_non_numeric_handles() {
        assert!(ReceiptHandle::parse("").is_err());
        assert!(ReceiptHandle::parse("0 5 6 7 0 b 2").is_err());
        assert!(ReceiptHandle::parse("0 5 x 7 0 b 2 9").is_err());
        assert!(ReceiptHandle::parse("0 5 6 99999999999 0 b 2 9").is_err());
        assert!(ReceiptHandle::parse("0 5 6 7 0 b 2 9 z").is_err());
    }

    #[test]
    fn renewal_keeps_the_queue_position() {
        let h = ReceiptHandle::parse("10 1000 500 1 0 b 2 11 77").expect("parses");
        let r = h.renewed(2000, 60_000, 5);
        assert_eq!(r.to_string(), "10 2000 60000 5 0 b 2 11 77");
    }

    #[test]
    fn topic_type_follows_the_retry_prefix() {
        assert_eq!(topic_type_of("T"), "0");
        assert_eq!(topic_type_of("%RETRY%G_T"), "1");
        assert_eq!(topic_type_of("%RETRY%G+T"), "2");
    }
}
