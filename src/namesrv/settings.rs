//! GET_NAMESRV_CONFIG (319) and UPDATE_NAMESRV_CONFIG (318): the name server's configuration as Java's
//! `Configuration` keeps it for NamesrvController.
//!
//! - The table holds every property of the `-c` file (known or not) and, over them, the keys rmqd knows
//!   with their current values (`NamesrvConfig::known_properties`).
//! - GET answers the table as a properties text, `key=value` lines sorted by key (5.x sorts; 4.x writes
//!   Hashtable order, and clients read either with `Properties.load`). No body when the table is empty.
//! - UPDATE refuses a body naming a key of the black list (NO_PERMISSION, 5.x's remark). Keys the table
//!   does not hold are ignored (Java's `mergeIfExist`). Unlike Java, which keeps a value its setter cannot
//!   parse as text and ignores it, a value a known key cannot take refuses the whole update
//!   (INVALID_PARAMETER) and changes nothing. `scanNotActiveBrokerInterval` takes effect at once; the
//!   other known keys are read at start, so they take effect at the next start from the persisted file.
//! - After an update the whole table is written to `configStorePath` (the `-c` file itself when there is
//!   one, as in Java), inside the request as Java does (off the tokio worker); a failed write is logged and the update still
//!   succeeds, as Java's `Configuration.persist` logs and carries on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rmq_codec::code::ResponseCode;

use crate::config::{parse_properties, NamesrvConfig};
use crate::error::ServiceError;
use crate::remoting::off_worker::run_off_worker;

/// Keys UPDATE_NAMESRV_CONFIG always refuses, whatever `configBlackList` says
/// (`DefaultRequestProcessor.initConfigBlackList`, 5.x; 4.x refuses the two paths only).
const ALWAYS_BLACK_LISTED: [&str; 4] = [
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

pub struct Settings {
    /// Java's `allConfigs`, and the config the known keys were last applied to.
    state: Mutex<State>,
    store_path: PathBuf,
    black_list: BTreeSet<String>,
    /// `scanNotActiveBrokerInterval`, read by the expiry task before every scan.
    scan_interval_ms: AtomicU64,
}

struct State {
    table: BTreeMap<String, String>,
    config: NamesrvConfig,
}

impl Settings {
    pub fn new(config: &NamesrvConfig) -> Self {
        let mut table = config.file_properties.clone();
        table.extend(config.known_properties());
        let black_list = ALWAYS_BLACK_LISTED
            .iter()
            .map(|k| k.to_string())
            .chain(
                config
                    .config_black_list
                    .split(';')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(String::from),
            )
            .collect();
        Settings {
            state: Mutex::new(State {
                table,
                config: config.clone(),
            }),
            store_path: config.config_store_path.clone(),
            black_list,
            scan_interval_ms: AtomicU64::new(config.scan_not_active_broker_interval_ms),
        }
    }

    pub fn scan_interval_ms(&self) -> u64 {
        self.scan_interval_ms.load(Ordering::Relaxed)
    }

    /// The GET_NAMESRV_CONFIG body (`Configuration.getAllConfigsFormatString`).
    pub fn render(&self) -> String {
        render(&self.state.lock().table)
    }

    /// UPDATE_NAMESRV_CONFIG with a properties text body.
    pub fn update(&self, body: &[u8]) -> Result<(), ServiceError> {
        // Java decodes the body as UTF-8 (`MixAll.string2Properties`), replacing what is not.
        let properties = parse_properties(&String::from_utf8_lossy(body));
        if properties.keys().any(|k| self.black_list.contains(k)) {
            return Err(ServiceError::reply(
                ResponseCode::NoPermission,
                "Can not update config in black list.",
            ));
        }
        // The write happens under the lock, so two updates reach the file in the order they were applied.
        let mut state = self.state.lock();
        let changes: Vec<(String, String)> = properties
            .into_iter()
            .filter(|(key, _)| state.table.contains_key(key))
            .collect();
        state.config = with_changes(&state.config, &changes)?;
        self.scan_interval_ms.store(
            state.config.scan_not_active_broker_interval_ms,
            Ordering::Relaxed,
        );
        for (key, value) in changes {
            tracing::info!(key, value, "name server config updated");
            state.table.insert(key, value);
        }
        let text = render(&state.table);
        // Written inside the request as Java does, but off the worker: an fsync can take milliseconds.
        let mut written = Ok(());
        run_off_worker(&mut || {
            written = rmq_store::config::persist_text_file(&self.store_path, &text)
        });
        if let Err(e) = written {
            tracing::error!(error = %e, "persisting the name server config failed");
        }
        Ok(())
    }
}

/// `config` with `changes` applied to the keys it knows; INVALID_PARAMETER for a value one cannot take.
fn with_changes(
    config: &NamesrvConfig,
    changes: &[(String, String)],
) -> Result<NamesrvConfig, ServiceError> {
    let mut changed = config.clone();
    for (key, value) in changes {
        let applied = match changed.apply(key, value) {
            Ok(false) => changed.tls.apply(key, value),
            other => other,
        };
        if let Err(e) = applied {
            return Err(ServiceError::reply(
                ResponseCode::InvalidParameter,
                format!("{e:#}"),
            ));
        }
    }
    Ok(changed)
}

/// `MixAll.properties2String(properties, true)`: `key=value\n` per entry, sorted by key.
fn render(table: &BTreeMap<String, String>) -> String {
    table.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &std::path::Path) -> NamesrvConfig {
        let mut config = NamesrvConfig {
            listen_port: 19876,
            config_store_path: dir.join("namesrv.conf"),
            kv_config_path: dir.join("kv.json"),
            ..NamesrvConfig::default()
        };
        config.file_properties = parse_properties("listenPort=19876\ncustomKey=x\n");
        config
    }

    fn table_of(settings: &Settings) -> BTreeMap<String, String> {
        parse_properties(&settings.render())
    }

    #[test]
    fn namesrv_config_lists_file_keys_and_known_keys_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::new(&config_in(dir.path()));
        let text = settings.render();
        let keys: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let table = table_of(&settings);
        assert_eq!(table["listenPort"], "19876");
        assert_eq!(table["customKey"], "x");
        assert_eq!(table["scanNotActiveBrokerInterval"], "5000");
        assert_eq!(table["productEnvName"], "center");
        assert_eq!(
            table["kvConfigPath"],
            dir.path().join("kv.json").display().to_string()
        );
    }

    #[test]
    fn update_changes_existing_keys_applies_the_scan_interval_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::new(&config_in(dir.path()));
        settings
            .update(
                b"scanNotActiveBrokerInterval=7000\nproductEnvName=test\nnotAKey=1\ncustomKey=y\n",
            )
            .unwrap();
        assert_eq!(settings.scan_interval_ms(), 7000);
        let table = table_of(&settings);
        assert_eq!(table["productEnvName"], "test");
        assert_eq!(table["customKey"], "y");
        assert!(!table.contains_key("notAKey"), "mergeIfExist");
        let persisted = std::fs::read_to_string(dir.path().join("namesrv.conf")).unwrap();
        assert_eq!(persisted, settings.render());
        // The persisted file loads as the next start's config.
        let reloaded = crate::config::load_namesrv(Some(&dir.path().join("namesrv.conf"))).unwrap();
        assert_eq!(reloaded.scan_not_active_broker_interval_ms, 7000);
        assert_eq!(reloaded.product_env_name, "test");
    }

    #[test]
    fn black_listed_keys_and_bad_values_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.config_black_list = "productEnvName; listenPort".into();
        let settings = Settings::new(&config);
        let before = settings.render();
        for body in [
            "kvConfigPath=/tmp/x",
            "configStorePath=/tmp/x",
            "rocketmqHome=/tmp",
            "configBlackList=",
            "productEnvName=x",
            "listenPort=1",
        ] {
            let e = settings.update(body.as_bytes()).unwrap_err();
            assert_eq!(e.response_code(), ResponseCode::NoPermission, "{body}");
        }
        let e = settings
            .update(b"scanNotActiveBrokerInterval=soon\ncustomKey=z")
            .unwrap_err();
        assert_eq!(e.response_code(), ResponseCode::InvalidParameter);
        assert_eq!(settings.render(), before);
        assert_eq!(settings.scan_interval_ms(), 5000);
        assert!(!dir.path().join("namesrv.conf").exists());
    }
}
