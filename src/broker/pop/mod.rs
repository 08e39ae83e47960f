//! 5.x pop consumption (POP_MESSAGE 200050, ACK_MESSAGE 200051, CHANGE_INVISIBLETIME
//! 200053, BATCH_ACK_MESSAGE 200151, QUERY_ASSIGNMENT 400, SET_MESSAGE_REQUEST_MODE 401).
//!
//! Layout: `pop_message` (POP with long polling), `ack` (ACK, batch ACK, CHANGE_INVISIBLETIME),
//! `revive` (redelivery through `%RETRY%<group>_<topic>` after the invisible time), `checkpoint`
//! (in-flight pops and their persistence), `extra_info` (the POP_CK string formats), `assignment`
//! (server-side rebalance and request modes).
//!
//! Like Java, a pop commits the group's offset past the popped messages at once; messages not acked
//! before their invisible time ends are re-put to the pop retry topic with one more reconsume time.

mod ack;
mod assignment;
mod checkpoint;
mod extra_info;
#[cfg(test)]
mod flow_tests;
mod order;
mod pop_message;
mod revive;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rmq_codec::fastjson::Value;
use rmq_store::config::Persister;

pub use assignment::ModeFile;
pub use extra_info::pop_retry_topic;
pub use revive::schedule;

/// `reviveQueueNum`: the revive queue id handed out rotates over this many values.
const REVIVE_QUEUE_NUM: u64 = 8;

pub struct PopState {
    checkpoints: checkpoint::CheckpointTable,
    modes: assignment::RequestModes,
    /// Queues blocked by unacked orderly pops.
    orders: order::OrderBlocks,
    revive_counter: AtomicU64,
    /// Serializes offset reads and commits of pops so two pops never hand out the same message.
    pop_lock: Mutex<()>,
}

impl PopState {
    pub fn load(config_dir: &Path, persister: &Persister) -> anyhow::Result<Self> {
        Ok(PopState {
            checkpoints: checkpoint::CheckpointTable::load(config_dir, persister)?,
            modes: assignment::RequestModes::load(config_dir, persister)?,
            orders: order::OrderBlocks::default(),
            revive_counter: AtomicU64::new(0),
            pop_lock: Mutex::new(()),
        })
    }

    /// Per-group request modes (SET/GET_ALL_MESSAGE_REQUEST_MODE).
    pub fn request_modes(&self) -> &assignment::RequestModes {
        &self.modes
    }

    fn next_revive_qid(&self) -> i32 {
        (self.revive_counter.fetch_add(1, Ordering::Relaxed) % REVIVE_QUEUE_NUM) as i32
    }

    /// Hands the in-flight checkpoints to the persister thread when they changed (shutdown and every
    /// revive tick).
    pub fn persist(&self) {
        self.checkpoints.persist()
    }
}

/// Reads a JSON config file with the store's loader (which falls back to `.bak`), into a serde type.
fn load_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    match rmq_store::config::load_json_file(path)? {
        Some(value) => {
            let text = rmq_codec::fastjson::to_standard_string(&value);
            Ok(Some(serde_json::from_str(&text)?))
        }
        None => Ok(None),
    }
}

/// A serde value as the JSON document the persister writes; `None` (logged) if it does not serialize.
fn json_document<T: serde::Serialize>(path: &Path, value: &T) -> Option<Value> {
    let text = serde_json::to_string(value).map_err(|e| e.to_string());
    match text.and_then(|t| rmq_codec::fastjson::parse(&t).map_err(|e| e.to_string())) {
        Ok(doc) => Some(doc),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "config document does not serialize");
            None
        }
    }
}
