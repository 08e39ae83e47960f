//! Everything that can go wrong in the store. Mapping to response codes happens in the server, not here.

use std::io;
use std::path::PathBuf;

use rmq_codec::CodecError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// A record that cannot be encoded (topic or properties too long for the layout).
    #[error("message encoding: {0}")]
    Codec(#[from] CodecError),
    /// Body or record over the configured limit, or a record that could never fit in one commit-log file
    /// (Java: MESSAGE_ILLEGAL).
    #[error("message too large: {size} bytes, limit {limit}")]
    MessageTooLarge { size: usize, limit: usize },
    /// The property string does not fit in the int16 length field (Java: PROPERTIES_SIZE_EXCEEDED).
    #[error("properties too large: {0} bytes")]
    PropertiesTooLarge(usize),
    /// Arguments that break the API contract (mixed topics in a batch, length mismatches).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Another process (or another `MessageStore` in this process) holds `<root>/lock`.
    #[error("lock failed, store {0} is already in use")]
    Locked(PathBuf),
    /// A file on disk that breaks the format (wrong size, bad name) and that we refuse to guess about.
    #[error("corrupt store file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// An earlier flush failed; the store accepts no more writes (retrying a failed msync/fsync and reporting
    /// success could acknowledge data that never reached the disk).
    #[error("store poisoned by an earlier flush failure")]
    Poisoned,
    /// `shutdown` has been called.
    #[error("store is shut down")]
    ShutDown,
    /// The store's filesystem is above `diskSpaceWarningLevelRatio`: puts are refused until the cleaner sees
    /// usage back below it; reads go on (Java: SERVICE_NOT_AVAILABLE).
    #[error("disk full: {used_percent}% used, puts refused above {limit_percent}%")]
    DiskFull {
        used_percent: u32,
        limit_percent: u32,
    },
    /// The append lock has been held longer than `osPageCacheBusyTimeOutMills` (a put stalled on page
    /// faults or dirty-page throttling); new puts are refused instead of piling up (Java: OS_PAGECACHE_BUSY,
    /// answered SYSTEM_BUSY). The text is Java's remark.
    #[error("[PC_SYNCHRONIZED]broker busy, start flow control for a while")]
    PageCacheBusy,
    /// A put waited longer than `waitTimeMillsInSendQueue` for the append lock (Java's fast failure of a
    /// send that sat too long in the send thread pool's queue). The text is Java's remark.
    #[error(
        "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {waited_ms}ms, \
         size of queue: {queue_len}"
    )]
    PutQueueTimeout { waited_ms: u64, queue_len: usize },
    /// A put on a store opened as a slave (`StoreConfig::slave`; Java's `DefaultMessageStore.putMessage` on a
    /// SLAVE answers SERVICE_NOT_AVAILABLE). The text is the remark of Java's `SendMessageProcessor`, with
    /// its `diskUtil()` part: the used fraction of the filesystems holding the commit log, the consume queues
    /// and the index (-1 when unknown).
    #[error(
        "service not available now. It may be caused by one of the following reasons: the broker's disk is \
         full [CL: {commit_log:5.2} CQ: {consume_queue:5.2} INDEX: {index:5.2}], messages are put to the \
         slave, message store has been shut down, etc."
    )]
    PutOnSlave {
        commit_log: f64,
        consume_queue: f64,
        index: f64,
    },
    /// `append_replicated` on a store not opened as a slave.
    #[error("replicated data refused: the store is not a slave")]
    NotSlave,
    /// Replicated data that does not continue the commit log (Java's `HAClient` drops the connection when the
    /// master's offset is not its own max offset).
    #[error("replicated data for commit-log offset {got}, expected {expected}")]
    ReplicaOffset { expected: u64, got: u64 },
    /// Replicated bytes that are not commit-log records where records must start; nothing was written.
    #[error("replicated data at commit-log offset {offset} is not a valid record: {reason}")]
    ReplicaData { offset: u64, reason: String },
}
