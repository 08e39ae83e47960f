//! The message store as both ends of replication (`MessageStore::commit_log_chunk` on a master,
//! `MessageStore::append_replicated` on a slave).

use bytes::Bytes;
use rmq_store::MessageStore;

use super::{CommitLogSource, ReplicaSink};

impl CommitLogSource for MessageStore {
    fn max_offset(&self) -> u64 {
        self.max_commit_log_offset().max(0) as u64
    }

    fn file_size(&self) -> u64 {
        self.config().mapped_file_size_commit_log
    }

    fn chunk(&self, from: u64, max: usize) -> Option<Bytes> {
        self.commit_log_chunk(from, max)
    }
}

impl ReplicaSink for MessageStore {
    fn max_offset(&self) -> u64 {
        self.max_commit_log_offset().max(0) as u64
    }

    fn append(&self, at: u64, data: &[u8]) -> anyhow::Result<Vec<(String, i32)>> {
        Ok(self.append_replicated(at, data)?.arrived)
    }
}
