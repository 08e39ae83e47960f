//! The strings pop hands to clients and gets back (Java's `ExtraInfoUtil`, `KeyBuilder`).
//!
//! A popped message's `POP_CK` property is
//! `ckStartOffset popTime invisibleTime reviveQid retry brokerName queueId msgOffset`, space-separated,
//! where `retry` is "0" for the topic itself and "1" for the pop retry topic `%RETRY%<group>_<topic>`.
//! The client builds it from the response's `startOffsetInfo` (`retry qid start;...`) and
//! `msgOffsetInfo` (`retry qid o1,o2;...`) and sends it back in ACK and CHANGE_INVISIBLETIME.

use std::fmt::Write;

use crate::broker::topics::RETRY_GROUP_TOPIC_PREFIX;

/// `NORMAL_TOPIC` / `RETRY_TOPIC` markers of the retry field.
const NORMAL: &str = "0";
const RETRY_V1: &str = "1";
const RETRY_V2: &str = "2";

/// The pop retry topic of `topic` for `group` (`KeyBuilder.buildPopRetryTopicV1`).
pub fn pop_retry_topic(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}")
}

/// The retry marker of a topic as the client computes it: any `%RETRY%` topic is "1" (V2 topics,
/// which use a `+` separator, are never created by rmqd).
fn retry_mark(topic: &str) -> &'static str {
    if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        RETRY_V1
    } else {
        NORMAL
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed extraInfo {0:?}")]
pub struct BadExtraInfo(pub String);

/// A parsed `POP_CK` / `extraInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    pub ck_start_offset: i64,
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// True when the message came from the pop retry topic.
    pub retry: bool,
    pub broker_name: String,
    pub queue_id: i32,
    /// Absent in the 7-field form of old clients.
    pub msg_offset: Option<i64>,
}

impl ExtraInfo {
    pub fn parse(s: &str) -> Result<Self, BadExtraInfo> {
        let bad = || BadExtraInfo(s.to_string());
        let parts: Vec<&str> = s.split(' ').collect();
        if parts.len() < 7 {
            return Err(bad());
        }
        let num = |i: usize| parts[i].trim().parse::<i64>().map_err(|_| bad());
        let retry = match parts[4] {
            NORMAL => false,
            RETRY_V1 | RETRY_V2 => true,
            _ => return Err(bad()),
        };
        Ok(ExtraInfo {
            ck_start_offset: num(0)?,
            pop_time: num(1)?,
            invisible_time: num(2)?,
            revive_qid: i32::try_from(num(3)?).map_err(|_| bad())?,
            retry,
            broker_name: parts[5].to_string(),
            queue_id: i32::try_from(num(6)?).map_err(|_| bad())?,
            msg_offset: parts.get(7).map(|_| num(7)).transpose()?,
        })
    }

    /// The topic the checkpoint was taken on: `topic` itself or its pop retry topic.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        if self.retry && !topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            pop_retry_topic(topic, group)
        } else {
            topic.to_string()
        }
    }
}

impl std::fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_start_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            if self.retry { RETRY_V1 } else { NORMAL },
            self.broker_name,
            self.queue_id
        )?;
        if let Some(offset) = self.msg_offset {
            write!(f, " {offset}")?;
        }
        Ok(())
    }
}

/// Appends `retry qid start` to a `startOffsetInfo` string.
pub fn push_start_offset(out: &mut String, topic: &str, queue_id: i32, start: i64) {
    if !out.is_empty() {
        out.push(';');
    }
    let _ = write!(out, "{} {queue_id} {start}", retry_mark(topic));
}

/// Appends `retry qid count` to an `orderCountInfo` string (`ExtraInfoUtil.buildQueueIdOrderCountInfo`).
pub fn push_order_count(out: &mut String, topic: &str, queue_id: i32, count: i32) {
    if !out.is_empty() {
        out.push(';');
    }
    let _ = write!(out, "{} {queue_id} {count}", retry_mark(topic));
}

/// Appends `retry qid o1,o2,...` to a `msgOffsetInfo` string.
pub fn push_msg_offsets(out: &mut String, topic: &str, queue_id: i32, offsets: &[i64]) {
    if !out.is_empty() {
        out.push(';');
    }
    let _ = write!(out, "{} {queue_id} ", retry_mark(topic));
    for (i, offset) in offsets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{offset}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_eight_field_form() {
        let s = "12 1700000000000 60000 3 1 broker-a 0 14";
        let info = ExtraInfo::parse(s).expect("parses");
        assert_eq!(info.ck_start_offset, 12);
        assert_eq!(info.revive_qid, 3);
        assert!(info.retry);
        assert_eq!(info.queue_id, 0);
        assert_eq!(info.msg_offset, Some(14));
        assert_eq!(info.to_string(), s);
        assert_eq!(info.real_topic("T", "G"), "%RETRY%G_T");
        assert_eq!(info.real_topic("%RETRY%G_T", "G"), "%RETRY%G_T");
    }

    #[test]
    fn seven_fields_have_no_message_offset() {
        let info = ExtraInfo::parse("0 5 6 7 0 b 2").expect("parses");
        assert_eq!(info.msg_offset, None);
        assert_eq!(info.real_topic("T", "G"), "T");
    }

    #[test]
    fn rejects_short_or_garbled_strings() {
        assert!(ExtraInfo::parse("0 5 6 7 0 b").is_err());
        assert!(ExtraInfo::parse("x 5 6 7 0 b 2").is_err());
        assert!(ExtraInfo::parse("0 5 6 7 9 b 2").is_err());
        assert!(ExtraInfo::parse("0 5 6 99999999999 0 b 2").is_err());
    }

    #[test]
    fn offset_infos_match_the_client_parser_format() {
        let mut start = String::new();
        push_start_offset(&mut start, "T", 1, 10);
        push_start_offset(&mut start, "%RETRY%G_T", 0, 3);
        assert_eq!(start, "0 1 10;1 0 3");
        let mut msgs = String::new();
        push_msg_offsets(&mut msgs, "T", 1, &[10, 11, 13]);
        push_msg_offsets(&mut msgs, "%RETRY%G_T", 0, &[3]);
        assert_eq!(msgs, "0 1 10,11,13;1 0 3");
    }
}
