//! Consumer offsets (`config/consumerOffset.json`) and the offset requests: 14, 15, 30, 31, 32.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_store::config::{ConsumerOffsetFile, PersistedFile, Persister};

use super::reset_offset::ResetTable;
use super::{ok, reply_error, Broker, Reply};
use crate::config::BrokerConfig;

pub struct OffsetTable {
    file: Arc<Mutex<ConsumerOffsetFile>>,
    /// `config/consumerOffset.json`, handed to the broker's persister thread by [`persist`](Self::persist).
    persisted: PersistedFile,
    /// Offsets changed since the last [`persist`](Self::persist).
    dirty: AtomicBool,
    /// Server-side resets not yet taken by a pull (memory only, like Java). Lock order: `resets`, then
    /// `file`, so a commit cannot slip between a reset's two writes.
    resets: Mutex<ResetTable>,
}

impl OffsetTable {
    pub fn load(config: &BrokerConfig, persister: &Persister) -> anyhow::Result<Self> {
        let path = rmq_store::config::consumer_offset_path(&config.store.root_dir);
        let file = Arc::new(Mutex::new(ConsumerOffsetFile::load(&path)?));
        let persisted = {
            let file = Arc::clone(&file);
            persister.register(path, move || {
                let mut file = file.lock();
                file.data_version.next_version();
                Some(file.to_value())
            })
        };
        Ok(OffsetTable {
            file,
            persisted,
            dirty: AtomicBool::new(false),
            resets: Mutex::new(ResetTable::default()),
        })
    }

    pub fn query(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let key = format!("{topic}@{group}");
        self.file.lock().offsets.get(&key)?.get(&queue_id).copied()
    }

    pub fn commit(&self, topic: &str, group: &str, queue_id: i32, offset: i64) {
        let key = format!("{topic}@{group}");
        self.file
            .lock()
            .offsets
            .entry(key)
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Records a server-side reset: pending until the next pull, and committed at once so that it
    /// survives a restart (Java's `assignResetOffset`). False for an illegal queue id or offset.
    pub fn assign_reset(&self, topic: &str, group: &str, queue_id: i32, offset: i64) -> bool {
        let mut resets = self.resets.lock();
        if !resets.assign(topic, group, queue_id, offset) {
            return false;
        }
        self.commit(topic, group, queue_id, offset);
        true
    }

    /// Takes the pending reset of a queue out (the pull that is redirected to it).
    pub fn take_reset(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        self.resets.lock().take(topic, group, queue_id)
    }

    pub fn has_reset(&self, topic: &str, group: &str, queue_id: i32) -> bool {
        self.resets.lock().pending(topic, group, queue_id).is_some()
    }

    /// What QUERY_CONSUMER_OFFSET answers: a pending reset first, else the committed offset.
    pub fn query_consumer(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let resets = self.resets.lock();
        resets
            .pending(topic, group, queue_id)
            .or_else(|| self.query(topic, group, queue_id))
    }

    /// A consumer's commit, ignored (false) while a reset of that queue is pending.
    pub fn commit_unless_reset(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
    ) -> bool {
        let resets = self.resets.lock();
        if resets.pending(topic, group, queue_id).is_some() {
            return false;
        }
        self.commit(topic, group, queue_id, offset);
        true
    }

    /// Hands the offsets to the persister thread when they changed since the last call.
    pub fn persist(&self) {
        if self.dirty.swap(false, Ordering::Relaxed) {
            self.persisted.mark_changed();
        }
    }
}

fn offset_response(offset: i64) -> RemotingCommand {
    let mut resp = ok();
    OffsetResponseHeader { offset }.encode(&mut resp.ext_fields);
    resp
}

impl Broker {
    pub(super) fn query_consumer_offset(&self, req: &RemotingCommand) -> Reply {
        let h = QueryConsumerOffsetRequestHeader::decode(&req.ext_fields)?;
        let found = self
            .offsets
            .query_consumer(&h.topic, &h.consumer_group, h.queue_id);
        if let Some(offset) = found {
            if offset >= 0 {
                return Ok(offset_response(offset));
            }
        }
        if h.set_zero_if_not_found == Some(false) {
            return Err(reply_error(
                ResponseCode::QueryNotFound,
                "Not found, do not set to zero, maybe this group boot first",
            ));
        }
        // Java starts a new group at 0 while the queue's head is still young (compat-map §3.5);
        // otherwise the client falls back to its ConsumeFromWhere.
        let min = self.store.min_offset_in_queue(&h.topic, h.queue_id);
        if min <= 0 {
            return Ok(offset_response(0));
        }
        Err(reply_error(
            ResponseCode::QueryNotFound,
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
        ))
    }

    pub(super) fn update_consumer_offset(&self, req: &RemotingCommand) -> Reply {
        let h = UpdateConsumerOffsetRequestHeader::decode(&req.ext_fields)?;
        let committed = self.offsets.commit_unless_reset(
            &h.topic,
            &h.consumer_group,
            h.queue_id,
            h.commit_offset,
        );
        if !committed {
            // 5.x acknowledges but ignores it: the consumer learns the reset from its next pull.
            let mut resp = ok();
            resp.remark = Some("Offset has been previously reset".into());
            return Ok(resp);
        }
        Ok(ok())
    }

    pub(super) fn max_offset(&self, req: &RemotingCommand) -> Reply {
        let h = GetMaxOffsetRequestHeader::decode(&req.ext_fields)?;
        Ok(offset_response(
            self.store.max_offset_in_queue(&h.topic, h.queue_id),
        ))
    }

    pub(super) fn min_offset(&self, req: &RemotingCommand) -> Reply {
        let h = GetMinOffsetRequestHeader::decode(&req.ext_fields)?;
        Ok(offset_response(
            self.store.min_offset_in_queue(&h.topic, h.queue_id),
        ))
    }

    pub(super) fn earliest_store_time(&self, req: &RemotingCommand) -> Reply {
        let h = GetEarliestMsgStoretimeRequestHeader::decode(&req.ext_fields)?;
        let min = self.store.min_offset_in_queue(&h.topic, h.queue_id);
        let timestamp = self
            .store
            .store_time_at(&h.topic, h.queue_id, min)
            .unwrap_or(-1);
        let mut resp = ok();
        GetEarliestMsgStoretimeResponseHeader { timestamp }.encode(&mut resp.ext_fields);
        Ok(resp)
    }

    /// Called by pull with COMMIT_OFFSET: the consumer's progress rides on its pulls.
    pub(super) fn commit_offset(&self, topic: &str, group: &str, queue_id: i32, offset: i64) {
        self.offsets.commit(topic, group, queue_id, offset);
    }
}
