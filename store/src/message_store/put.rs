//! The put entry points: checks, encoding, and the wait for durability that follows the append
//! (`append_locked` in the parent module does the append itself).

use std::sync::atomic::Ordering;

use bytes::BytesMut;
use rmq_codec::message::{crc32_masked, magic_for_topic, StoredMessage};

use super::{FlushDiskType, FlushWaiter, MessageStore, PutResult};
use crate::error::StoreError;

impl MessageStore {
    fn check_writable(&self) -> Result<(), StoreError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        Ok(())
    }

    /// Fills what the broker owns (magic, host v6 bits, body CRC) and checks the size limits.
    fn prepare(&self, msg: &mut StoredMessage) -> Result<(), StoreError> {
        let max = self.inner.config.max_message_size;
        if msg.body.len() > max {
            return Err(StoreError::MessageTooLarge {
                size: msg.body.len(),
                limit: max,
            });
        }
        if msg.properties.len() > i16::MAX as usize {
            return Err(StoreError::PropertiesTooLarge(msg.properties.len()));
        }
        msg.magic = magic_for_topic(&msg.topic);
        msg.sys_flag = msg.sys_flag_for_hosts();
        msg.body_crc = crc32_masked(&msg.body);
        let record_limit = max.saturating_add(64 * 1024);
        if msg.encoded_len() > record_limit {
            return Err(StoreError::MessageTooLarge {
                size: msg.encoded_len(),
                limit: record_limit,
            });
        }
        Ok(())
    }

    /// Appends one message: assigns the queue offset (dense per topic/queue), commit-log offset, store
    /// timestamp and body CRC, writes the record and its consume-queue unit (`tags_code` as given).
    /// PREPARED and ROLLBACK records get queue offset 0 and no unit. On success `msg` holds the stored values.
    /// With SYNC_FLUSH this blocks the calling thread until the record is on disk or `syncFlushTimeout`
    /// passes (`status` says which); [`put_deferred`](Self::put_deferred) does not block.
    pub fn put(&self, msg: &mut StoredMessage, tags_code: i64) -> Result<PutResult, StoreError> {
        let mut results = self.put_batch(std::slice::from_mut(msg), &[tags_code])?;
        results
            .pop()
            .ok_or_else(|| StoreError::InvalidArgument("empty put".into()))
    }

    /// Appends messages of one topic and queue as consecutive records in one commit-log file, with consecutive
    /// queue offsets and one store timestamp. `tags_codes[i]` belongs to `msgs[i]`. Waits like [`put`](Self::put).
    pub fn put_batch(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
    ) -> Result<Vec<PutResult>, StoreError> {
        let (mut results, waiter) = self.put_batch_deferred(msgs, tags_codes, true)?;
        if let Some(waiter) = waiter {
            let status = waiter.wait().put_status()?;
            for result in &mut results {
                result.status = status;
            }
        }
        Ok(results)
    }

    /// [`put`](Self::put) without blocking for durability. With SYNC_FLUSH and `wait` (the message's WAIT
    /// property, default true) it returns a [`FlushWaiter`] that decides the put's status; the put lock is
    /// already released, so other senders append while this one waits. Otherwise (ASYNC_FLUSH, or WAIT=false)
    /// it only wakes the flusher and returns `None`: the put is answered PUT_OK as soon as it is written.
    pub fn put_deferred(
        &self,
        msg: &mut StoredMessage,
        tags_code: i64,
        wait: bool,
    ) -> Result<(PutResult, Option<FlushWaiter>), StoreError> {
        let (mut results, waiter) =
            self.put_batch_deferred(std::slice::from_mut(msg), &[tags_code], wait)?;
        let result = results
            .pop()
            .ok_or_else(|| StoreError::InvalidArgument("empty put".into()))?;
        Ok((result, waiter))
    }

    /// [`put_batch`](Self::put_batch) without blocking for durability; see [`put_deferred`](Self::put_deferred).
    /// One waiter covers the whole batch.
    pub fn put_batch_deferred(
        &self,
        msgs: &mut [StoredMessage],
        tags_codes: &[i64],
        wait: bool,
    ) -> Result<(Vec<PutResult>, Option<FlushWaiter>), StoreError> {
        self.check_writable()?;
        validate_batch(msgs, tags_codes)?;
        let total_body: usize = msgs.iter().map(|m| m.body.len()).sum();
        if total_body > self.inner.config.max_message_size {
            return Err(StoreError::MessageTooLarge {
                size: total_body,
                limit: self.inner.config.max_message_size,
            });
        }
        let mut buf = BytesMut::new();
        let mut lens = Vec::with_capacity(msgs.len());
        for msg in msgs.iter_mut() {
            self.prepare(msg)?;
            let before = buf.len();
            msg.encode(&mut buf)?;
            lens.push(buf.len() - before);
        }
        let results = self.append_locked(msgs, tags_codes, &mut buf, &lens)?;
        let end = results
            .last()
            .map_or(0, |r| r.commit_log_offset as u64 + r.wrote_bytes as u64);
        let waiter = if self.inner.config.flush_disk_type == FlushDiskType::Sync && wait {
            // `None`: the flusher stopped under us (shutdown racing this put), so flush here.
            Some(
                self.flusher
                    .register(end)
                    .unwrap_or_else(|| self.inner.flush_inline(end)),
            )
        } else {
            self.flusher.wake();
            None
        };
        Ok((results, waiter))
    }
}

fn validate_batch(msgs: &[StoredMessage], tags_codes: &[i64]) -> Result<(), StoreError> {
    let Some(first) = msgs.first() else {
        return Err(StoreError::InvalidArgument("empty batch".into()));
    };
    if msgs.len() != tags_codes.len() {
        return Err(StoreError::InvalidArgument(format!(
            "{} messages but {} tags codes",
            msgs.len(),
            tags_codes.len()
        )));
    }
    if msgs
        .iter()
        .any(|m| m.topic != first.topic || m.queue_id != first.queue_id)
    {
        return Err(StoreError::InvalidArgument(
            "batch mixes topics or queues".into(),
        ));
    }
    Ok(())
}
