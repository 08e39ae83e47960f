//! Reading a queue (`DefaultMessageStore.getMessage`).

use std::time::Instant;

use super::{GetResult, GetStatus, MessageStore};
use crate::consume_queue::ConsumeQueue;

/// Minimum number of units scanned per pull (Java `maxFilterMessageSize` 16000 bytes / 20).
const MIN_SCAN_UNITS: usize = 800;

/// The consume-queue level filter and the record level one of one read.
struct Filters<'a> {
    tags_code: &'a dyn Fn(i64) -> bool,
    record: &'a dyn Fn(&[u8]) -> bool,
}

impl MessageStore {
    /// Reads up to `max_msg_nums` records (and at most `max_total_bytes`, the first record always allowed) from
    /// the queue starting at logical `offset`, keeping those whose tags code passes `filter`. Status and
    /// `next_begin_offset` follow `DefaultMessageStore.getMessage`; filtered-out units count as scanned.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        max_total_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
    ) -> GetResult {
        self.get_messages_filtered(
            topic,
            queue_id,
            offset,
            max_msg_nums,
            max_total_bytes,
            filter,
            &|_| true,
        )
    }

    /// [`Self::get_messages`] with a second filter over each raw record that passed `filter` (SQL92
    /// property filters, `ExpressionMessageFilter.isMatchedByCommitLog`). Records it rejects count as
    /// scanned, like units the tags code rejects.
    #[allow(clippy::too_many_arguments)]
    pub fn get_messages_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        max_total_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
        record_filter: &dyn Fn(&[u8]) -> bool,
    ) -> GetResult {
        let started = Instant::now();
        let result = self.read_queue(
            topic,
            queue_id,
            offset,
            max_msg_nums,
            max_total_bytes,
            filter,
            record_filter,
        );
        let found = result.status == GetStatus::Found;
        let elapsed_ms = started.elapsed().as_millis() as i64;
        self.stats
            .record_get(found, result.messages.len() as i64, elapsed_ms);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn read_queue(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        max_total_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
        record_filter: &dyn Fn(&[u8]) -> bool,
    ) -> GetResult {
        let mut result = GetResult {
            status: GetStatus::NoMessageInQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
        };
        let Some(cq) = self.inner.queue(topic, queue_id) else {
            return result;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        result.min_offset = min;
        result.max_offset = max;
        let (status, next) = if max == 0 {
            (GetStatus::NoMessageInQueue, 0)
        } else if offset < min {
            (GetStatus::OffsetTooSmall, min)
        } else if offset == max {
            (GetStatus::OffsetOverflowOne, offset)
        } else if offset > max {
            (GetStatus::OffsetOverflowBadly, max)
        } else {
            let filters = Filters {
                tags_code: filter,
                record: record_filter,
            };
            return self.scan_queue(&cq, offset, max_msg_nums, max_total_bytes, filters, result);
        };
        result.status = status;
        result.next_begin_offset = next;
        result
    }

    fn scan_queue(
        &self,
        cq: &ConsumeQueue,
        offset: i64,
        max_msg_nums: i32,
        max_total_bytes: usize,
        filters: Filters<'_>,
        mut result: GetResult,
    ) -> GetResult {
        let max_msgs = usize::try_from(max_msg_nums).unwrap_or(0).max(1);
        let Some(units) = cq.units_from(offset, MIN_SCAN_UNITS.max(max_msgs)) else {
            result.status = GetStatus::OffsetFoundNull;
            result.next_begin_offset = cq.next_file_offset(offset);
            return result;
        };
        result.status = GetStatus::NoMatchedMessage;
        let mut total_bytes = 0usize;
        let mut scanned = 0usize;
        for unit in &units {
            let size = usize::try_from(unit.size).unwrap_or(0);
            let full = !result.messages.is_empty()
                && (result.messages.len() >= max_msgs || total_bytes + size > max_total_bytes);
            if full {
                break;
            }
            scanned += 1;
            if unit.is_blank() || !(filters.tags_code)(unit.tags_code) {
                continue;
            }
            match self
                .inner
                .commit_log
                .read(unit.commit_log_offset as u64, size)
            {
                Some(record) if !(filters.record)(&record) => {}
                Some(record) => {
                    total_bytes += record.len();
                    result.messages.push(record);
                    result.status = GetStatus::Found;
                }
                None if result.messages.is_empty() => result.status = GetStatus::MessageWasRemoving,
                None => {}
            }
        }
        result.next_begin_offset = offset + scanned as i64;
        result
    }
}
