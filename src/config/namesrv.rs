//! The name-server role's settings (`NamesrvConfig` and `NettyServerConfig` keys of Java).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::broker::{parse_mq_version, MQ_VERSION_KEY};
use super::parse;
use crate::remoting::tls::TlsSettings;

/// Settings of the name-server role.
#[derive(Debug, Clone)]
pub struct NamesrvConfig {
    pub listen_port: u16,
    /// `scanNotActiveBrokerInterval`: how often expired brokers are dropped (5 s); UPDATE_NAMESRV_CONFIG
    /// changes it at run time.
    pub scan_not_active_broker_interval_ms: u64,
    pub tls: TlsSettings,
    /// `kvConfigPath`: where PUT_KV_CONFIG values persist, default `~/namesrv/kvConfig.json` like Java
    /// (standalone: `<storePathRootDir>/namesrv/kvConfig.json`, so one directory holds all state).
    pub kv_config_path: PathBuf,
    /// `configStorePath`: where UPDATE_NAMESRV_CONFIG writes the whole configuration. As in Java's
    /// NamesrvStartup it is the `-c` file itself when there is one, else `~/namesrv/namesrv.properties`
    /// (standalone: `<storePathRootDir>/namesrv/namesrv.properties`, never the broker.conf). Java never
    /// reads this file back unless it is the `-c` file.
    pub config_store_path: PathBuf,
    /// `productEnvName` ("center"): kept, reported and persisted as Java does; Java reads it only in its
    /// `clusterTest` mode, which rmqd does not have.
    pub product_env_name: String,
    /// `configBlackList`: `;`-separated keys UPDATE_NAMESRV_CONFIG refuses (NO_PERMISSION), on top of
    /// `configBlackList`, `configStorePath`, `kvConfigPath` and `rocketmqHome` (Java 5.x).
    pub config_black_list: String,
    /// The MQVersion ordinal the process announces ([`MQ_VERSION_KEY`]).
    pub mq_version: i32,
    /// Every property of the `-c` file, known or not: Java registers them with the name server's
    /// `Configuration`, so GET_NAMESRV_CONFIG shows them and UPDATE_NAMESRV_CONFIG may change them.
    pub file_properties: BTreeMap<String, String>,
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_port: 9876,
            scan_not_active_broker_interval_ms: 5_000,
            tls: TlsSettings::default(),
            kv_config_path: home_dir().join("namesrv/kvConfig.json"),
            config_store_path: home_dir().join("namesrv/namesrv.properties"),
            product_env_name: "center".into(),
            config_black_list: "configBlackList;configStorePath;kvConfigPath".into(),
            mq_version: rmq_codec::code::RMQD_VERSION,
            file_properties: BTreeMap::new(),
        }
    }
}

impl NamesrvConfig {
    /// Applies one property. Returns false for a key this role does not know.
    pub fn apply(&mut self, key: &str, value: &str) -> anyhow::Result<bool> {
        match key {
            "listenPort" => self.listen_port = parse(key, value)?,
            "scanNotActiveBrokerInterval" => {
                self.scan_not_active_broker_interval_ms = parse(key, value)?
            }
            "kvConfigPath" => self.kv_config_path = PathBuf::from(value),
            "configStorePath" => self.config_store_path = PathBuf::from(value),
            "productEnvName" => self.product_env_name = value.to_string(),
            "configBlackList" => self.config_black_list = value.to_string(),
            MQ_VERSION_KEY => self.mq_version = parse_mq_version(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The keys this role knows with their current values, as Java's `MixAll.object2Properties` lists
    /// the fields of NamesrvConfig and NettyServerConfig.
    pub fn known_properties(&self) -> BTreeMap<String, String> {
        let path = |p: &Path| p.display().to_string();
        [
            ("listenPort", self.listen_port.to_string()),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            ("kvConfigPath", path(&self.kv_config_path)),
            ("configStorePath", path(&self.config_store_path)),
            ("productEnvName", self.product_env_name.clone()),
            ("configBlackList", self.config_black_list.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
