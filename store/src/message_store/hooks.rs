//! What the store's owner plugs into a store when it opens it ([`MessageStore::open_with`]).

use std::sync::Arc;

#[cfg(doc)]
use super::MessageStore;

/// Runs work that may block for milliseconds, see [`StoreHooks::blocking`].
pub type BlockingHook = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// Told the commit log's new end after every append, see [`StoreHooks::appended`].
pub type AppendedHook = Arc<dyn Fn(u64) + Send + Sync>;

/// Per-store hooks, given at open. The default runs everything inline.
#[derive(Clone, Default)]
pub struct StoreHooks {
    /// How the store runs the put work that may block for milliseconds: the rest of a wait for a contended
    /// append lock, and making a new consume queue (mkdir, file create, mmap). An async server passes a
    /// function that moves its thread's other tasks away first (tokio's `block_in_place`); `None` runs the
    /// work inline.
    pub blocking: Option<BlockingHook>,
    /// Called after every put or batch with the commit-log offset just past it, outside the append lock:
    /// the broker wakes its HA transfers with it (Java's `HAService.notifyTransferSome` wake-up), so every
    /// writer (sends, schedule, transactions, retries) reaches the slaves without polling.
    pub appended: Option<AppendedHook>,
    /// Holds the index catch-up thread at its batches and hand-over (`index/catch_up.rs`).
    #[cfg(test)]
    pub(crate) index_pause: Option<Arc<crate::index::Pause>>,
}

impl std::fmt::Debug for StoreHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHooks")
            .field("blocking", &self.blocking.is_some())
            .field("appended", &self.appended.is_some())
            .finish()
    }
}

impl StoreHooks {
    /// Installs `index_pause` in a store being opened, before its catch-up starts.
    #[cfg(test)]
    pub(super) fn pause_index(&self, mut inner: super::Inner) -> super::Inner {
        if let Some(pause) = &self.index_pause {
            inner.index.use_pause(Arc::clone(pause));
        }
        inner
    }

    /// Runs `work` through the blocking hook, or right here without one.
    pub(crate) fn run_blocking(&self, work: &mut dyn FnMut()) {
        match &self.blocking {
            Some(hook) => hook(work),
            None => work(),
        }
    }
}
