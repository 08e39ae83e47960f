//! Broker and name-server configuration, read from Java `broker.conf` / `namesrv.conf` property files.
//!
//! Keys are the Java property names (`listenPort`, `storePathRootDir`, ...). Unknown keys are logged and
//! ignored, like Java. Unlike Java, a value that does not parse is an error rather than silently ignored:
//! an operator should hear about `listenPort=10911x` at start, not discover it later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::remoting::tls::TlsMode;

mod broker;
mod namesrv;
mod render;

pub use broker::{BrokerConfig, MQ_VERSION_KEY};
pub use namesrv::NamesrvConfig;
pub use render::{format_delay_levels, properties_text};

/// Broker settings from a broker.conf (or defaults when `path` is None).
pub fn load_broker(path: Option<&Path>) -> anyhow::Result<BrokerConfig> {
    let mut config = BrokerConfig::default();
    for (key, value) in read_properties(path)? {
        if !config.apply(&key, &value)?
            && !config.tls.apply(&key, &value)?
            && key != "namesrvListenPort"
        {
            tracing::info!(key, "ignoring unknown broker config key");
        }
    }
    config.settle_role()?;
    config.tls.merge_config_file()?;
    if let Some(dir) = path.and_then(Path::parent) {
        config.acl_file_path = dir.join(&config.acl_file_path);
    }
    config.config_file = path.map(Path::to_path_buf);
    Ok(config)
}

/// Name-server settings from a namesrv.conf (the `-c` file, which is then also `configStorePath`).
pub fn load_namesrv(path: Option<&Path>) -> anyhow::Result<NamesrvConfig> {
    let mut config = NamesrvConfig::default();
    let properties = read_properties(path)?;
    for (key, value) in &properties {
        if !config.apply(key, value)? && !config.tls.apply(key, value)? {
            tracing::info!(key, "ignoring unknown name server config key");
        }
    }
    config.tls.merge_config_file()?;
    if let Some(path) = path {
        config.config_store_path = path.to_path_buf();
    }
    config.file_properties = properties;
    Ok(config)
}

/// Standalone mode: broker settings plus `namesrvListenPort` for the embedded name server.
pub fn load_standalone(path: Option<&Path>) -> anyhow::Result<(BrokerConfig, NamesrvConfig)> {
    let mut broker = load_broker(path)?;
    let mut namesrv = NamesrvConfig::default();
    let properties = read_properties(path)?;
    if let Some(port) = properties.get("namesrvListenPort") {
        namesrv.listen_port = parse("namesrvListenPort", port)?;
    }
    let namesrv_dir = broker.store.root_dir.join("namesrv");
    namesrv.kv_config_path = match properties.get("kvConfigPath") {
        Some(kv) => PathBuf::from(kv),
        None => namesrv_dir.join("kvConfig.json"),
    };
    namesrv.config_store_path = match properties.get("configStorePath") {
        Some(file) => PathBuf::from(file),
        None => namesrv_dir.join("namesrv.properties"),
    };
    namesrv.mq_version = broker.mq_version;
    // Both listeners share the TLS settings. An enforcing embedded name server refuses plain TCP, so
    // the broker has to register with it over TLS.
    if broker.tls.effective_mode() == TlsMode::Enforcing {
        broker.tls.enable = true;
    }
    namesrv.tls = broker.tls.clone();
    Ok((broker, namesrv))
}

pub(crate) fn read_properties(path: Option<&Path>) -> anyhow::Result<BTreeMap<String, String>> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    Ok(parse_properties(&text))
}

/// Parses the Java `.properties` format: `key=value`, `key: value` or `key value`; `#`/`!` comments;
/// a trailing backslash continues the line.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(stripped) = line.strip_suffix('\\') {
            logical.push_str(stripped);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let split = entry.find(['=', ':', ' ', '\t']).unwrap_or(entry.len());
        let key = entry[..split].trim();
        let rest = entry[split..].trim_start();
        let value = rest
            .strip_prefix(['=', ':'])
            .unwrap_or(rest)
            .trim()
            .to_string();
        if !key.is_empty() {
            out.insert(key.to_string(), value);
        }
    }
    out
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> anyhow::Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("config key {key} has an invalid value {value:?}"))
}

/// `messageDelayLevel`, e.g. "1s 5s 10s 30s 1m 2m": one duration per level (level 1 first), each a number
/// with unit `s`, `m`, `h` or `d`, in milliseconds. Java fails to start on a bad list; so do we.
pub fn parse_delay_levels(value: &str) -> anyhow::Result<Vec<i64>> {
    let levels = value
        .split_whitespace()
        .map(|token| {
            let unit_ms: i64 = match token.chars().last() {
                Some('s') => 1_000,
                Some('m') => 60_000,
                Some('h') => 3_600_000,
                Some('d') => 86_400_000,
                _ => bail!("messageDelayLevel: {token:?} lacks a unit (s, m, h or d)"),
            };
            let number: i64 = token[..token.len() - 1]
                .parse()
                .with_context(|| format!("messageDelayLevel: {token:?} is not a number"))?;
            number
                .checked_mul(unit_ms)
                .filter(|ms| *ms >= 0)
                .with_context(|| format!("messageDelayLevel: {token:?} is out of range"))
        })
        .collect::<anyhow::Result<Vec<i64>>>()?;
    if levels.is_empty() {
        bail!("messageDelayLevel is empty");
    }
    Ok(levels)
}

/// Java `Boolean.parseBoolean`: only "true" (any case) is true.
fn parse_bool(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

#[cfg(test)]
mod tests;
