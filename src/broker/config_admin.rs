//! The broker's own config over the wire: GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25), Java's
//! `AdminBrokerProcessor.getBrokerConfig` / `updateBrokerConfig` over its `Configuration`.
//!
//! An update applies its keys to the config as last set, writes the whole config (every key, plus the keys
//! of the config file rmqd does not know) as properties to the `-c` file, or to
//! `<storePathRootDir>/config/broker.properties` without one (Java writes `~/store/config/broker.properties`),
//! and bumps the config's DataVersion. The keys in [`RUNTIME_KEYS`] take effect at once, as Java reads them
//! at each use. Every other key is written and reported at once but takes effect at the next start: the
//! addresses and names (`listenPort`, `brokerIP1`, `brokerName`, `brokerClusterName`, `brokerId`,
//! `namesrvAddr`), the store layout and flushing (`storePathRootDir`, `mappedFileSize*`, `flushDiskType`,
//! `flush*`, retention and index keys, `messageDelayLevel`), the periods of background tasks
//! (`registerNameServerPeriod`, `flushConsumerOffsetInterval`, `transactionCheckInterval`), the limits sized
//! at start (`maxParkedRequests*`, `longPollingMaxTimeMills`, `maxInflightFrameBytes`,
//! `maxOutboundBytesPerConnection`, `autoCreate*Limit`, fast failure), `defaultTopicQueueNums` (TBW102 is made
//! at start), `timer*`, `regionId`, ACL and TLS.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::header::{CommandHeader, GetBrokerConfigResponseHeader};
use rmq_store::config::DataVersion;

use super::blocking::run_off_worker;
use super::{ok, reply_error, Broker, Reply};
use crate::config::{parse_properties, properties_text, read_properties, BrokerConfig};

/// Keys UPDATE_BROKER_CONFIG applies without a restart; [`RuntimeSettings`] holds their values.
pub const RUNTIME_KEYS: [&str; 16] = [
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "brokerPermission",
    "longPollingEnable",
    "shortPollingTimeMills",
    "transactionTimeOut",
    "transactionCheckMax",
    "rejectTransactionMessage",
    "enablePropertyFilter",
    "useServerSideResetOffset",
    "traceOn",
    "channelExpiredTimeout",
    "maxMessageSize",
    "slaveReadEnable",
    "accessMessageInMemoryMaxRatio",
    "offsetCheckInSlave",
];

/// Keys 5.3.3 always refuses to update (`AdminBrokerProcessor.initConfigBlackList`), besides the
/// `configBlackList` value.
const ALWAYS_BLACK_LISTED: [&str; 3] = ["brokerConfigPath", "rocketmqHome", "configBlackList"];

/// The values of [`RUNTIME_KEYS`] the broker runs with now; read where Java reads the key at each use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeSettings {
    /// Whether TBW102 still spawns topics (Java's `createTopicInSendMessageMethod` ignores its INHERIT
    /// bit when this is off).
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub broker_permission: i32,
    pub long_polling_enable: bool,
    pub short_polling_time_ms: u64,
    pub transaction_timeout_ms: u64,
    pub transaction_check_max: i32,
    pub reject_transaction_message: bool,
    pub enable_property_filter: bool,
    pub use_server_side_reset_offset: bool,
    pub trace_on: bool,
    pub channel_expired_timeout_ms: u64,
    pub max_message_size: usize,
    /// Pull redirection and a slave's offset answers (`slave_role`), read at each pull as in Java.
    pub slave_read_enable: bool,
    pub access_message_in_memory_max_ratio: i32,
    pub offset_check_in_slave: bool,
}

impl RuntimeSettings {
    pub fn of(c: &BrokerConfig) -> RuntimeSettings {
        RuntimeSettings {
            auto_create_topic_enable: c.auto_create_topic_enable,
            auto_create_subscription_group: c.auto_create_subscription_group,
            broker_permission: c.broker_permission,
            long_polling_enable: c.long_polling_enable,
            short_polling_time_ms: c.short_polling_time_ms,
            transaction_timeout_ms: c.transaction_timeout_ms,
            transaction_check_max: c.transaction_check_max,
            reject_transaction_message: c.reject_transaction_message,
            enable_property_filter: c.enable_property_filter,
            use_server_side_reset_offset: c.use_server_side_reset_offset,
            trace_on: c.trace_on,
            channel_expired_timeout_ms: c.channel_expired_timeout_ms,
            max_message_size: c.store.max_message_size,
            slave_read_enable: c.slave_read_enable,
            access_message_in_memory_max_ratio: c.access_message_in_memory_max_ratio,
            offset_check_in_slave: c.offset_check_in_slave,
        }
    }
}

/// The config as the last update left it, with Java's `Configuration` bookkeeping.
struct ConfigState {
    config: BrokerConfig,
    /// The config file's properties: kept in what GET answers and in what an update writes, also the
    /// keys rmqd does not know (Java's `allConfigs` starts from them).
    file: BTreeMap<String, String>,
    version: DataVersion,
}

pub struct ConfigAdmin {
    state: Mutex<ConfigState>,
    runtime: RwLock<RuntimeSettings>,
}

impl ConfigAdmin {
    pub fn new(config: &BrokerConfig) -> ConfigAdmin {
        let file = read_properties(config.config_file.as_deref()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot re-read the config file: only known keys listed");
            BTreeMap::new()
        });
        ConfigAdmin {
            runtime: RwLock::new(RuntimeSettings::of(config)),
            state: Mutex::new(ConfigState {
                config: config.clone(),
                file,
                version: DataVersion::new(),
            }),
        }
    }

    pub fn runtime(&self) -> RuntimeSettings {
        *self.runtime.read()
    }
}

/// Where an update writes the config: the `-c` file, else `<storePathRootDir>/config/broker.properties`.
fn config_file_path(config: &BrokerConfig) -> PathBuf {
    config.config_file.clone().unwrap_or_else(|| {
        rmq_store::config::config_dir(&config.store.root_dir).join("broker.properties")
    })
}

/// The first key of `update` that may not be changed, if any.
fn black_listed<'a>(update: &'a BTreeMap<String, String>, black_list: &str) -> Option<&'a str> {
    update.keys().map(String::as_str).find(|key| {
        ALWAYS_BLACK_LISTED.contains(key)
            || black_list.split(';').any(|b| !b.is_empty() && b == *key)
    })
}

/// `config` with `update` applied, and the file properties to keep. Keys rmqd does not know change `file`
/// only when it has them (Java's `mergeIfExist`) and are ignored otherwise. A value that does not parse
/// refuses the whole update (Java skips it silently).
fn apply_update(
    config: &BrokerConfig,
    file: &BTreeMap<String, String>,
    update: &BTreeMap<String, String>,
) -> anyhow::Result<(BrokerConfig, BTreeMap<String, String>)> {
    let mut next = config.clone();
    let mut next_file = file.clone();
    for (key, value) in update {
        if next.apply(key, value)? {
            // Kept as given too: a key `apply` reads but `to_properties` does not render still reaches the
            // file (rendered keys are overlaid with their parsed value).
            next_file.insert(key.clone(), value.clone());
            continue;
        }
        if let Some(kept) = next_file.get_mut(key) {
            value.clone_into(kept);
        } else {
            tracing::info!(key, "UPDATE_BROKER_CONFIG: unknown key ignored");
        }
    }
    Ok((next, next_file))
}

impl Broker {
    /// What the broker runs with now for the keys an update changes at run time.
    pub(super) fn runtime(&self) -> RuntimeSettings {
        self.config_admin.runtime()
    }

    /// GET_BROKER_CONFIG (26): every key as `key=value` lines, sorted; header `version` = DataVersion JSON.
    pub(super) fn broker_config(&self) -> Reply {
        let state = self.config_admin.state.lock();
        let mut resp = ok();
        resp.body = Bytes::from(properties_text(&state.config.all_properties(&state.file)));
        GetBrokerConfigResponseHeader {
            version: fastjson::to_string(&state.version.to_value()),
        }
        .encode(&mut resp.ext_fields);
        Ok(resp)
    }

    /// UPDATE_BROKER_CONFIG (25): the body is properties text. An empty body changes nothing (SUCCESS, as
    /// Java). A black-listed key is NO_PERMISSION (5.3.3); a bad value or a file that cannot be written is
    /// SYSTEM_ERROR and changes nothing.
    pub(super) fn update_broker_config(&self, req: &RemotingCommand) -> Reply {
        if req.body.is_empty() {
            return Ok(ok());
        }
        let update = parse_properties(&String::from_utf8_lossy(&req.body));
        if let Some(key) = black_listed(&update, &self.config.config_black_list) {
            tracing::warn!(key, "UPDATE_BROKER_CONFIG of a black-listed key refused");
            return Err(reply_error(
                ResponseCode::NoPermission,
                "Can not update config in black list.",
            ));
        }
        let mut state = self.config_admin.state.lock();
        let (next, next_file) = apply_update(&state.config, &state.file, &update)
            .map_err(|e| reply_error(ResponseCode::SystemError, e.to_string()))?;
        let text = properties_text(&next.all_properties(&next_file));
        let path = config_file_path(&self.config);
        let mut written = Ok(());
        run_off_worker(&mut || written = rmq_store::config::persist_text_file(&path, &text));
        written?;
        let at_restart: Vec<&str> = (update.keys().map(String::as_str))
            .filter(|key| !RUNTIME_KEYS.contains(key))
            .collect();
        // `at_restart`: keys written now that take effect at the next start.
        tracing::info!(?update, ?at_restart, path = %path.display(), "broker config updated");
        let runtime = RuntimeSettings::of(&next);
        *self.config_admin.runtime.write() = runtime;
        state.config = next;
        state.file = next_file;
        state.version.next_version();
        drop(state);
        self.groups
            .allow_auto_create(runtime.auto_create_subscription_group);
        self.topics
            .allow_auto_create(runtime.auto_create_topic_enable);
        self.store.limit_message_size(runtime.max_message_size);
        if update.contains_key("brokerPermission") {
            // Java bumps the topic DataVersion and registers at once, so routes carry the new permission;
            // a changed topic table makes `dispatch` answer after that registration.
            self.topics.touch();
        }
        Ok(ok())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rmq_codec::code::RequestCode;

    use super::*;

    fn broker(dir: &tempfile::TempDir, conf_text: &str) -> (Arc<Broker>, PathBuf) {
        let conf = dir.path().join("broker.conf");
        let root = dir.path().join("store");
        std::fs::write(
            &conf,
            format!(
                "storePathRootDir={}\nnamesrvListenPort=9877\n{conf_text}",
                root.display()
            ),
        )
        .unwrap();
        let mut config = crate::config::load_broker(Some(&conf)).unwrap();
        config.store.mapped_file_size_commit_log = 1 << 20;
        (Broker::open(config).expect("opens"), conf)
    }

    fn update(b: &Broker, body: &str) -> RemotingCommand {
        let mut req =
            RemotingCommand::new_request(RequestCode::UpdateBrokerConfig, Default::default());
        req.body = Bytes::from(body.to_owned());
        b.update_broker_config(&req)
            .unwrap_or_else(|e| e.into_response())
    }

    fn get(b: &Broker) -> (BTreeMap<String, String>, String) {
        let resp = b.broker_config().unwrap();
        let version = resp
            .ext_fields
            .get("version")
            .cloned()
            .expect("version header");
        (
            parse_properties(std::str::from_utf8(&resp.body).unwrap()),
            version,
        )
    }

    #[test]
    fn broker_config_lists_every_key_with_the_file_keys_and_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let (b, _) = broker(&dir, "someFutureKey=1\n");
        let (props, version) = get(&b);
        assert_eq!(props["brokerName"], "broker-a");
        assert_eq!(props["maxMessageSize"], "4194304");
        assert_eq!(props["namesrvListenPort"], "9877", "file keys kept");
        assert_eq!(props["someFutureKey"], "1");
        let v = fastjson::parse(&version).unwrap();
        assert_eq!(v.get("counter"), Some(&fastjson::Value::Int(0)));
    }

    #[test]
    fn runtime_keys_take_effect_and_everything_is_written_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (b, conf) = broker(&dir, "someFutureKey=1\n");
        let resp = update(
            &b,
            "autoCreateSubscriptionGroup=false\nmaxMessageSize=1024\nlistenPort=20000\n\
             someFutureKey=2\nnewKey=3\n",
        );
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
        assert!(!b.runtime().auto_create_subscription_group);
        assert_eq!(b.store.max_message_size(), 1024);
        assert!(
            b.groups.ensure("brand_new_group").is_none(),
            "auto-creation off now"
        );
        assert_eq!(
            b.config.listen_port, 10911,
            "listenPort waits for a restart"
        );
        let (props, version) = get(&b);
        assert_eq!(
            props["listenPort"], "20000",
            "but is reported as set, as Java does"
        );
        assert!(version.contains("\"counter\":1"), "{version}");
        assert!(
            !props.contains_key("newKey"),
            "unknown keys not in the file are ignored"
        );

        let reread = crate::config::load_broker(Some(&conf)).unwrap();
        assert!(!reread.auto_create_subscription_group);
        assert_eq!(reread.store.max_message_size, 1024);
        assert_eq!(reread.listen_port, 20000);
        let file = read_properties(Some(&conf)).unwrap();
        assert_eq!(file["someFutureKey"], "2");
        assert_eq!(file["namesrvListenPort"], "9877");
    }

    #[test]
    fn refusals_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (b, conf) = broker(&dir, "");
        let before = std::fs::read_to_string(&conf).unwrap();
        for key in ["brokerConfigPath", "configBlackList", "rocketmqHome"] {
            let resp = update(&b, &format!("traceOn=false\n{key}=x\n"));
            assert_eq!(resp.code, i32::from(ResponseCode::NoPermission), "{key}");
            assert_eq!(
                resp.remark.as_deref(),
                Some("Can not update config in black list.")
            );
        }
        let resp = update(&b, "traceOn=false\nlistenPort=abc\n");
        assert_eq!(resp.code, i32::from(ResponseCode::SystemError));
        assert!(b.runtime().trace_on);
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);
        assert_eq!(update(&b, "").code, 0, "empty body: SUCCESS");
        assert!(get(&b).1.contains("\"counter\":0"));
    }

    #[test]
    fn the_config_black_list_key_adds_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (b, _) = broker(&dir, "configBlackList=traceOn;brokerConfigPath\n");
        assert_eq!(
            update(&b, "traceOn=false\n").code,
            i32::from(ResponseCode::NoPermission)
        );
        assert_eq!(update(&b, "enablePropertyFilter=true\n").code, 0);
        assert!(b.runtime().enable_property_filter);
    }

    #[test]
    fn broker_permission_masks_the_registered_routes_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (b, _) = broker(&dir, "");
        let registered_perm = |b: &Broker| {
            let body = super::super::register::register_body(b);
            let doc = fastjson::parse_slice(&body).unwrap();
            let tbw = doc
                .get("topicConfigSerializeWrapper")
                .and_then(|w| w.get("topicConfigTable"))
                .and_then(|t| t.get("TBW102"))
                .expect("TBW102 registered")
                .clone();
            tbw.get("perm").and_then(fastjson::Value::as_i64)
        };
        assert_eq!(registered_perm(&b), Some(7));
        let changes = b.topics.change_count();
        assert_eq!(update(&b, "brokerPermission=4\n").code, 0);
        assert_eq!(b.runtime().broker_permission, 4);
        assert!(
            b.topics.change_count() > changes,
            "the answer waits for a registration"
        );
        assert_eq!(registered_perm(&b), Some(4), "read-only routes");
    }

    /// Each runtime key, set to a value other than its default, shows in [`RuntimeSettings`].
    #[test]
    fn every_runtime_key_reaches_the_runtime_settings() {
        let base = BrokerConfig::default();
        let defaults = base.to_properties();
        for key in RUNTIME_KEYS {
            let value = match defaults[key].as_str() {
                "true" => "false".to_string(),
                "false" => "true".to_string(),
                number => (number.parse::<i64>().unwrap() + 1).to_string(),
            };
            let mut changed = base.clone();
            assert!(changed.apply(key, &value).unwrap(), "{key}");
            assert_ne!(
                RuntimeSettings::of(&changed),
                RuntimeSettings::of(&base),
                "{key} does not reach RuntimeSettings"
            );
        }
    }
}
