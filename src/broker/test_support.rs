//! Scaffolding the broker's unit tests share: a broker on a temporary store, and messages put below the
//! request path as a client's send would store them.

use std::sync::Arc;

use bytes::Bytes;
use rmq_codec::message::{properties, tags_code, StoredMessage};
use rmq_store::PutResult;

use super::Broker;
use crate::config::BrokerConfig;

/// The commit-log file size of test stores: small, so that a test's store costs 1 MiB, not 1 GiB.
const TEST_COMMIT_LOG_FILE_SIZE: u64 = 1 << 20;

/// A broker whose store lives in `dir`, removed when this is dropped.
pub(crate) struct TempBroker {
    pub broker: Arc<Broker>,
    pub dir: tempfile::TempDir,
}

impl TempBroker {
    /// A broker on a new temporary store with default settings.
    pub fn open() -> Self {
        Self::open_with(|_| {})
    }

    /// A broker on a new temporary store, its config changed by `tune` before the broker opens.
    pub fn open_with(tune: impl FnOnce(&mut BrokerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config_in(&dir);
        tune(&mut config);
        let broker = Broker::open(config).expect("the broker opens");
        TempBroker { broker, dir }
    }
}

/// The default broker config with its store in `dir` and a small commit-log file.
pub(crate) fn config_in(dir: &tempfile::TempDir) -> BrokerConfig {
    let mut config = BrokerConfig::default();
    config.store.root_dir = dir.path().to_path_buf();
    config.store.mapped_file_size_commit_log = TEST_COMMIT_LOG_FILE_SIZE;
    config
}

/// A message for `topic`/`queue_id` born at a client on 127.0.0.1:40000, with a TAGS property when `tag`
/// is given.
pub(crate) fn message(
    broker: &Broker,
    topic: &str,
    queue_id: i32,
    body: impl Into<Bytes>,
    tag: Option<&str>,
) -> StoredMessage {
    let tags: Vec<(String, String)> = tag
        .map(|t| ("TAGS".to_string(), t.to_string()))
        .into_iter()
        .collect();
    StoredMessage {
        topic: topic.into(),
        queue_id,
        born_host: "127.0.0.1:40000".parse().expect("addr"),
        store_host: broker.store_host,
        body: body.into(),
        properties: properties::encode(&tags),
        ..StoredMessage::default()
    }
}

/// Stores [`message`] with its tag's hash code, as the send path does.
pub(crate) fn put_message(
    broker: &Broker,
    topic: &str,
    queue_id: i32,
    body: impl Into<Bytes>,
    tag: Option<&str>,
) -> PutResult {
    let mut msg = message(broker, topic, queue_id, body, tag);
    broker
        .store
        .put(&mut msg, tags_code(tag))
        .expect("the put succeeds")
}
