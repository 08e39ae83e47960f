//! In-flight pops: one checkpoint per (group, topic, queue, pop), holding which of its messages are
//! acked. Java keeps the same facts as CK/ACK records in `rmq_sys_REVIVE_LOG_<cluster>`; rmqd keeps
//! them in memory and in `<store>/config/popCheckpoints.json`, written every revive tick when
//! something changed and at shutdown, so un-acked messages are still redelivered after a restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_store::config::{PersistedFile, Persister};
use serde::{Deserialize, Serialize};

/// At most this many checkpoints are held; a pop past it answers "no message" until acks or revives
/// make room (Java bounds its CK buffer the same way).
pub const MAX_CHECKPOINTS: usize = 200_000;

/// What identifies a checkpoint in an ack: group, real topic, queue, first offset, pop time.
pub type CkKey = (String, String, i32, i64, i64);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub group: String,
    /// The topic the messages were popped from (the pop retry topic for retried messages).
    pub topic: String,
    pub queue_id: i32,
    pub start_offset: i64,
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// Queue offsets of the popped messages, ascending (filters may leave gaps).
    pub offsets: Vec<i64>,
    /// `acked[i]` is true once `offsets[i]` was acked.
    pub acked: Vec<bool>,
}

/// The result of acking one offset.
#[derive(Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// Marked; more messages of the checkpoint are still in flight.
    Marked,
    /// That was the last one; the checkpoint is gone.
    Completed,
    /// No such checkpoint (already revived or fully acked) or offset.
    Unknown,
}

impl Checkpoint {
    pub fn key(&self) -> CkKey {
        (
            self.group.clone(),
            self.topic.clone(),
            self.queue_id,
            self.start_offset,
            self.pop_time,
        )
    }

    /// When un-acked messages become visible again.
    pub fn revive_time(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }

    /// Marks `offset`; false when it is not one of this checkpoint's messages.
    pub fn ack(&mut self, offset: i64) -> bool {
        match self.offsets.binary_search(&offset) {
            Ok(i) => {
                self.acked[i] = true;
                true
            }
            Err(_) => false,
        }
    }

    pub fn all_acked(&self) -> bool {
        self.acked.iter().all(|a| *a)
    }

    pub fn unacked(&self) -> impl Iterator<Item = i64> + '_ {
        self.offsets
            .iter()
            .zip(&self.acked)
            .filter(|(_, acked)| !**acked)
            .map(|(offset, _)| *offset)
    }
}

#[derive(Default, Serialize, Deserialize)]
struct CheckpointFile {
    checkpoints: Vec<Checkpoint>,
}

pub struct CheckpointTable {
    map: Arc<Mutex<BTreeMap<CkKey, Checkpoint>>>,
    persisted: PersistedFile,
    /// Changed since the last [`persist`](Self::persist).
    dirty: AtomicBool,
}

impl CheckpointTable {
    pub fn load(config_dir: &Path, persister: &Persister) -> anyhow::Result<Self> {
        let path = config_dir.join("popCheckpoints.json");
        let mut map = BTreeMap::new();
        if let Some(file) = super::load_json::<CheckpointFile>(&path)? {
            for ck in file.checkpoints {
                if ck.offsets.len() == ck.acked.len() {
                    map.insert(ck.key(), ck);
                }
            }
        }
        let map = Arc::new(Mutex::new(map));
        let persisted = {
            let map = Arc::clone(&map);
            persister.register(path.clone(), move || {
                let file = CheckpointFile {
                    checkpoints: map.lock().values().cloned().collect(),
                };
                super::json_document(&path, &file)
            })
        };
        Ok(CheckpointTable {
            map,
            persisted,
            dirty: AtomicBool::new(false),
        })
    }

    pub fn has_room(&self) -> bool {
        self.map.lock().len() < MAX_CHECKPOINTS
    }

    pub fn add(&self, ck: Checkpoint) {
        self.map.lock().insert(ck.key(), ck);
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub fn ack(&self, key: &CkKey, offset: i64) -> AckOutcome {
        let mut map = self.map.lock();
        let Some(ck) = map.get_mut(key) else {
            return AckOutcome::Unknown;
        };
        if !ck.ack(offset) {
            return AckOutcome::Unknown;
        }
        self.dirty.store(true, Ordering::Relaxed);
        if ck.all_acked() {
            map.remove(key);
            AckOutcome::Completed
        } else {
            AckOutcome::Marked
        }
    }

    /// Removes and returns the checkpoints whose invisible time has passed at `now_ms`.
    pub fn take_due(&self, now_ms: i64) -> Vec<Checkpoint> {
        let mut map = self.map.lock();
        let due: Vec<CkKey> = map
            .values()
            .filter(|ck| ck.revive_time() <= now_ms)
            .map(Checkpoint::key)
            .collect();
        if !due.is_empty() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        due.iter().filter_map(|k| map.remove(k)).collect()
    }

    /// Hands the checkpoints to the persister thread when they changed since the last call.
    pub fn persist(&self) {
        if self.dirty.swap(false, Ordering::Relaxed) {
            self.persisted.mark_changed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(start: i64, offsets: &[i64], pop_time: i64) -> Checkpoint {
        Checkpoint {
            group: "G".into(),
            topic: "T".into(),
            queue_id: 1,
            start_offset: start,
            pop_time,
            invisible_time: 1_000,
            revive_qid: 0,
            offsets: offsets.to_vec(),
            acked: vec![false; offsets.len()],
        }
    }

    fn table(dir: &Path, persister: &Persister) -> CheckpointTable {
        CheckpointTable::load(dir, persister).expect("loads")
    }

    #[test]
    fn acks_complete_a_checkpoint_and_unknown_offsets_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let persister = Persister::start().expect("starts");
        let t = table(dir.path(), &persister);
        let c = ck(10, &[10, 11, 13], 100);
        let key = c.key();
        t.add(c);
        assert_eq!(t.ack(&key, 12), AckOutcome::Unknown);
        assert_eq!(t.ack(&key, 10), AckOutcome::Marked);
        assert_eq!(t.ack(&key, 13), AckOutcome::Marked);
        assert_eq!(t.ack(&key, 11), AckOutcome::Completed);
        assert_eq!(t.ack(&key, 11), AckOutcome::Unknown);
        assert!(t.take_due(i64::MAX).is_empty());
    }

    #[test]
    fn only_due_checkpoints_are_taken_with_their_unacked_offsets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let persister = Persister::start().expect("starts");
        let t = table(dir.path(), &persister);
        let early = ck(0, &[0, 1, 2], 100);
        t.add(ck(5, &[5], 500));
        t.ack(&early.key(), 1);
        t.add(early);
        // The ack above came before the add: it must not have marked anything.
        let due = t.take_due(1_100);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].unacked().collect::<Vec<_>>(), vec![0, 1, 2]);
        assert!(t.take_due(1_499).is_empty());
        assert_eq!(t.take_due(1_500).len(), 1);
    }

    #[test]
    fn checkpoints_survive_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let persister = Persister::start().expect("starts");
        let t = table(dir.path(), &persister);
        let c = ck(7, &[7, 8], 100);
        t.add(c.clone());
        t.ack(&c.key(), 8);
        t.persist();
        persister.flush().expect("written");
        let again = table(dir.path(), &persister);
        let due = again.take_due(i64::MAX);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].unacked().collect::<Vec<_>>(), vec![7]);
    }
}
