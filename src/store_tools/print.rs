//! How `rmqd store dump` prints a message: one JSON object per line (`--json`) or a text block.

use std::collections::BTreeMap;

use base64::Engine;
use rmq_codec::message::{properties, StoredMessage};
use serde::Serialize;

/// One message as `--json` prints it. `msgId` is Java's offset message id (`MessageDecoder.createMessageId`:
/// store host + commit-log offset); the client's message id is the `UNIQ_KEY` property.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageJson<'a> {
    topic: &'a str,
    queue_id: i32,
    queue_offset: i64,
    commit_log_offset: i64,
    store_size: usize,
    born_timestamp: i64,
    store_timestamp: i64,
    born_host: String,
    store_host: String,
    flag: i32,
    sys_flag: i32,
    reconsume_times: i32,
    prepared_transaction_offset: i64,
    properties: BTreeMap<&'a str, &'a str>,
    keys: Vec<&'a str>,
    tags: Option<&'a str>,
    msg_id: String,
    /// `utf8` when the body is valid UTF-8 (printed as text), else `base64`.
    body_encoding: &'static str,
    body: String,
    #[serde(rename = "bodyCRC")]
    body_crc: i32,
    /// Whether the body still matches BODYCRC.
    body_crc_ok: bool,
}

impl<'a> MessageJson<'a> {
    pub fn new(m: &'a StoredMessage, store_size: usize, crc_ok: bool) -> Self {
        let (body_encoding, body) = match std::str::from_utf8(&m.body) {
            Ok(text) => ("utf8", text.to_owned()),
            Err(_) => (
                "base64",
                base64::engine::general_purpose::STANDARD.encode(&m.body),
            ),
        };
        let props = &m.properties;
        MessageJson {
            topic: &m.topic,
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            commit_log_offset: m.commit_log_offset,
            store_size,
            born_timestamp: m.born_timestamp,
            store_timestamp: m.store_timestamp,
            born_host: m.born_host.to_string(),
            store_host: m.store_host.to_string(),
            flag: m.flag,
            sys_flag: m.sys_flag,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
            properties: properties::iter(props).collect(),
            keys: properties::get(props, properties::KEYS)
                .map(|k| k.split(' ').filter(|k| !k.is_empty()).collect())
                .unwrap_or_default(),
            tags: properties::get(props, properties::TAGS),
            msg_id: m.offset_msg_id(),
            body_encoding,
            body,
            body_crc: m.body_crc,
            body_crc_ok: crc_ok,
        }
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "commitLogOffset={} storeSize={} topic={} queueId={} queueOffset={} msgId={}\n",
            self.commit_log_offset,
            self.store_size,
            self.topic,
            self.queue_id,
            self.queue_offset,
            self.msg_id
        );
        out += &format!(
            "  born={} @{} store={} @{} flag={} sysFlag={} reconsumeTimes={} bodyCRC={}{}\n",
            self.born_host,
            self.born_timestamp,
            self.store_host,
            self.store_timestamp,
            self.flag,
            self.sys_flag,
            self.reconsume_times,
            self.body_crc,
            if self.body_crc_ok { "" } else { " (MISMATCH)" }
        );
        for (k, v) in &self.properties {
            out += &format!("  {k}={v}\n");
        }
        out += &format!(
            "  body ({}, {}): {}\n",
            self.body_encoding,
            self.body.len(),
            self.body
        );
        out
    }
}
