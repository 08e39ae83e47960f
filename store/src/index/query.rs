//! Index lookups: `IndexService.queryOffset` and `DefaultMessageStore.queryMessage`.

use bytes::Bytes;
use rmq_codec::message::{peek_record, properties, RecordPeek};

use super::{index_key, key_hash, Index, MAX_MSGS_NUM_BATCH};

/// The answer to QUERY_MESSAGE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResult {
    /// Raw records (zero-copy views of the commit log), in commit-log order.
    pub messages: Vec<Bytes>,
    /// End timestamp of the newest index file (0 when nothing was found, as in Java).
    pub index_last_update_timestamp: i64,
    /// End offset of the newest index file (0 when nothing was found).
    pub index_last_update_phy_offset: i64,
}

/// Offsets found in the index, newest files first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetQuery {
    pub offsets: Vec<i64>,
    pub last_update_timestamp: i64,
    pub last_update_phy_offset: i64,
}

/// Whether a raw record belongs to `topic` and carries `key` as its `UNIQ_KEY` or one of its `KEYS`: what the
/// index stood for before hash collisions. Returns the record's store timestamp too, `None` if unreadable.
fn record_has_key(record: &[u8], topic: &str, key: &str) -> Option<(bool, i64)> {
    let Ok(RecordPeek::Message(view)) = peek_record(record) else {
        return None;
    };
    let props: &str = &view.properties;
    let matches = view.topic == topic
        && (properties::get(props, properties::UNIQ_KEY) == Some(key)
            || properties::get(props, properties::KEYS)
                .is_some_and(|keys| keys.split(' ').any(|k| k == key)));
    Some((matches, view.store_timestamp))
}

impl Index {
    /// `IndexService.queryOffset`: offsets of entries for `topic#key` stored within `[begin, end]`, walking the
    /// files newest first and stopping at a file that begins before `begin` or once `max_num` (capped at
    /// [`MAX_MSGS_NUM_BATCH`]) offsets are found. The offsets may belong to other keys with the same hash.
    pub fn query_offsets(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> OffsetQuery {
        let max_num = max_num.min(MAX_MSGS_NUM_BATCH);
        let hash = key_hash(&index_key(topic, key));
        let files = self.files();
        let mut out = OffsetQuery::default();
        if let Some(last) = files.last() {
            out.last_update_timestamp = last.end_timestamp();
            out.last_update_phy_offset = last.end_phy_offset();
        }
        for file in files.iter().rev() {
            if file.time_matches(begin, end) {
                file.select(hash, max_num, begin, end, &mut out.offsets);
            }
            if file.begin_timestamp() < begin || out.offsets.len() >= max_num {
                break;
            }
        }
        out
    }

    /// `DefaultMessageStore.queryMessage`: up to 3 rounds of [`query_offsets`](Self::query_offsets); a round that
    /// yields no readable matching record retries with the end time moved to the store time of its oldest hit.
    /// Records are read with `read` and kept only if they really carry the key (hash collisions are dropped).
    pub fn query_messages(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
        read: &dyn Fn(i64) -> Option<Bytes>,
    ) -> QueryResult {
        let mut result = QueryResult::default();
        let mut last_query_time = end;
        for _round in 0..3 {
            let mut found = self.query_offsets(topic, key, max_num, begin, last_query_time);
            if found.offsets.is_empty() {
                break;
            }
            found.offsets.sort_unstable();
            // A record whose UNIQ_KEY is also one of its KEYS, or one re-indexed after a crash, has two entries.
            found.offsets.dedup();
            result.index_last_update_timestamp = found.last_update_timestamp;
            result.index_last_update_phy_offset = found.last_update_phy_offset;
            for (i, &offset) in found.offsets.iter().enumerate() {
                let Some(record) = read(offset) else { continue };
                let Some((matches, store_timestamp)) = record_has_key(&record, topic, key) else {
                    continue;
                };
                if i == 0 {
                    last_query_time = store_timestamp;
                }
                if matches {
                    result.messages.push(record);
                }
            }
            if !result.messages.is_empty() || last_query_time < begin {
                break;
            }
        }
        result
    }
}
