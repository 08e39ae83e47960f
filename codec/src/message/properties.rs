//! The message property string (`MessageDecoder.messageProperties2String` / `string2messageProperties`).
//!
//! Encoding: `key \u{1} value \u{2}` for every pair, with a separator after the last pair too.
//! Decoding: split on `\u{2}`; a segment is kept only when it has a non-empty key before its first `\u{1}` and a
//! non-empty value after it. Java collects into a `HashMap`, so a repeated key keeps its last value.
//! The separators are ASCII, so scanning UTF-8 bytes gives exactly the segments Java finds in UTF-16.

/// Separates a key from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminates every key/value pair.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

pub const KEYS: &str = "KEYS";
pub const TAGS: &str = "TAGS";
pub const WAIT: &str = "WAIT";
pub const DELAY: &str = "DELAY";
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
pub const REAL_TOPIC: &str = "REAL_TOPIC";
pub const REAL_QUEUE_ID: &str = "REAL_QID";
pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
pub const PRODUCER_GROUP: &str = "PGROUP";
pub const MIN_OFFSET: &str = "MIN_OFFSET";
pub const MAX_OFFSET: &str = "MAX_OFFSET";
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
pub const MSG_REGION: &str = "MSG_REGION";
pub const TRACE_SWITCH: &str = "TRACE_ON";
pub const UNIQ_KEY: &str = "UNIQ_KEY";
pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
pub const CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
pub const TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
pub const TRANSACTION_ID: &str = "__transactionId__";
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
pub const INSTANCE_ID: &str = "INSTANCE_ID";
pub const CORRELATION_ID: &str = "CORRELATION_ID";
pub const MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
pub const MESSAGE_TTL: &str = "TTL";
pub const REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
pub const CLUSTER: &str = "CLUSTER";
pub const MESSAGE_TYPE: &str = "MSG_TYPE";
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
pub const BORN_HOST: &str = "__BORNHOST";
pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";
pub const CRC32: &str = "__CRC32#";
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
/// Separator between several keys inside the `KEYS` property.
pub const KEY_SEPARATOR: &str = " ";

/// Every pair Java would keep, in string order, duplicates included. Allocation-free.
pub fn iter(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(PROPERTY_SEPARATOR).filter_map(|segment| {
        let (key, value) = segment.split_once(NAME_VALUE_SEPARATOR)?;
        (!key.is_empty() && !value.is_empty()).then_some((key, value))
    })
}

/// Decodes a property string into pairs in first-appearance order; a repeated key keeps its last value.
pub fn decode(s: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in iter(s) {
        match out.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.to_owned(),
            None => out.push((key.to_owned(), value.to_owned())),
        }
    }
    out
}

/// Encodes pairs as `key\u{1}value\u{2}` each, in the given order.
pub fn encode(props: &[(String, String)]) -> String {
    let len = props.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (key, value) in props {
        push_pair(&mut out, key, value);
    }
    out
}

fn push_pair(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
}

/// Looks a key up without allocating. Like Java's map, the last occurrence wins.
pub fn get<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    iter(s).filter(|(k, _)| *k == key).last().map(|(_, v)| v)
}

/// Returns `s` with `key` set to `value`: earlier occurrences are removed and the pair is appended.
/// Segments Java would drop are dropped too, so the result is always well formed.
pub fn put(s: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(s.len() + key.len() + value.len() + 2);
    for (k, v) in iter(s).filter(|(k, _)| *k != key) {
        push_pair(&mut out, k, v);
    }
    push_pair(&mut out, key, value);
    out
}

/// Returns `s` without any pair for `key` (well-formed pairs only, as in [`put`]).
pub fn remove(s: &str, key: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (k, v) in iter(s).filter(|(k, _)| *k != key) {
        push_pair(&mut out, k, v);
    }
    out
}

/// The property string the 4.9.x broker stores for one element of a batch: the element's own string followed by
/// the batch-level string (the batch header's properties, plus `CLUSTER`), with a `\u{2}` inserted between them
/// when the element's string does not already end with one (`MessageExtEncoder.encode(MessageExtBatch)`).
pub fn append_batch(element: &str, batch: &str) -> String {
    let mut out = String::with_capacity(element.len() + batch.len() + 1);
    out.push_str(element);
    if !element.is_empty() && !batch.is_empty() && !element.ends_with(PROPERTY_SEPARATOR) {
        out.push(PROPERTY_SEPARATOR);
    }
    out.push_str(batch);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, val)| (k.to_string(), val.to_string()))
            .collect()
    }

    #[test]
    fn encode_puts_separator_after_every_pair() {
        let s = encode(&pairs(&[("TAGS", "TagA"), ("KEYS", "k1 k2")]));
        assert_eq!(s, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn decode_follows_java_rules() {
        // Empty keys, empty values, segments without a separator and a missing final separator.
        let s = "\u{1}v\u{2}k\u{1}\u{2}ab\u{2}TAGS\u{1}TagA\u{2}\u{2}X\u{1}a\u{1}b\u{2}LAST\u{1}z";
        assert_eq!(
            decode(s),
            pairs(&[("TAGS", "TagA"), ("X", "a\u{1}b"), ("LAST", "z")])
        );
        assert_eq!(decode(""), Vec::new());
    }

    #[test]
    fn duplicate_key_keeps_last_value() {
        let s = "K\u{1}1\u{2}J\u{1}2\u{2}K\u{1}3\u{2}";
        assert_eq!(decode(s), pairs(&[("K", "3"), ("J", "2")]));
        assert_eq!(get(s, "K"), Some("3"));
        assert_eq!(get(s, "J"), Some("2"));
        assert_eq!(get(s, "Z"), None);
    }

    #[test]
    fn round_trip_with_non_ascii() {
        let p = pairs(&[("UNIQ_KEY", "AC1100"), ("é", "日本")]);
        assert_eq!(decode(&encode(&p)), p);
    }

    #[test]
    fn put_and_remove() {
        let s = "A\u{1}1\u{2}B\u{1}2\u{2}";
        assert_eq!(put(s, "A", "9"), "B\u{1}2\u{2}A\u{1}9\u{2}");
        assert_eq!(put("", "CLUSTER", "c"), "CLUSTER\u{1}c\u{2}");
        assert_eq!(remove(s, "B"), "A\u{1}1\u{2}");
    }

    #[test]
    fn batch_append_inserts_missing_separator() {
        assert_eq!(
            append_batch("A\u{1}1", "C\u{1}x\u{2}"),
            "A\u{1}1\u{2}C\u{1}x\u{2}"
        );
        assert_eq!(
            append_batch("A\u{1}1\u{2}", "C\u{1}x\u{2}"),
            "A\u{1}1\u{2}C\u{1}x\u{2}"
        );
        assert_eq!(append_batch("", "C\u{1}x\u{2}"), "C\u{1}x\u{2}");
        assert_eq!(append_batch("A\u{1}1", ""), "A\u{1}1");
    }
}
