//! The name server's KV config (PUT/GET/DELETE_KV_CONFIG, 100/101/102), persisted after every change to
//! `kvConfig.json` like Java's `KVConfigManager`: `{"configTable":{"namespace":{"key":"value"}}}`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rmq_codec::fastjson::{self, Key, Value};

type Table = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Default)]
pub struct KvConfig {
    /// Where the table is persisted; None keeps it in memory only.
    path: Option<PathBuf>,
    table: Table,
}

impl KvConfig {
    /// Loads `path` when it exists; a missing file is an empty table, as in Java.
    pub fn load(path: Option<PathBuf>) -> io::Result<Self> {
        let mut table = Table::new();
        if let Some(p) = path.as_deref() {
            match std::fs::read_to_string(p) {
                Ok(text) => table = parse(&text).map_err(io::Error::other)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(KvConfig { path, table })
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&String> {
        self.table.get(namespace).and_then(|ns| ns.get(key))
    }

    pub fn put(&mut self, namespace: String, key: String, value: String) -> io::Result<()> {
        self.table.entry(namespace).or_default().insert(key, value);
        self.persist()
    }

    pub fn delete(&mut self, namespace: &str, key: &str) -> io::Result<()> {
        let Some(ns) = self.table.get_mut(namespace) else {
            return Ok(());
        };
        if ns.remove(key).is_none() {
            return Ok(());
        }
        if ns.is_empty() {
            self.table.remove(namespace);
        }
        self.persist()
    }

    /// The namespace's entries (GET_KVLIST_BY_NAMESPACE).
    #[allow(dead_code)]
    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace)
    }

    fn persist(&self) -> io::Result<()> {
        let Some(path) = self.path.as_deref() else {
            return Ok(());
        };
        write_atomically(path, &fastjson::to_string(&to_value(&self.table)))
    }
}

fn to_value(table: &Table) -> Value {
    let namespaces = table
        .iter()
        .map(|(ns, entries)| {
            let kv = entries
                .iter()
                .map(|(k, v)| (Key::Str(k.clone()), Value::Str(v.clone())))
                .collect();
            (Key::Str(ns.clone()), Value::Object(kv))
        })
        .collect();
    Value::Object(vec![(
        Key::Str("configTable".into()),
        Value::Object(namespaces),
    )])
}

fn parse(text: &str) -> Result<Table, String> {
    let doc = fastjson::parse(text).map_err(|e| format!("kvConfig.json: {e}"))?;
    let mut table = Table::new();
    let Some(Value::Object(namespaces)) = doc.get("configTable") else {
        return Ok(table);
    };
    for (ns, entries) in namespaces {
        let (Some(ns), Value::Object(entries)) = (ns.as_str(), entries) else {
            continue;
        };
        let out = table.entry(ns.to_string()).or_default();
        for (k, v) in entries {
            if let (Some(k), Value::Str(v)) = (k.as_str(), v) {
                out.insert(k.to_string(), v.clone());
            }
        }
    }
    Ok(table)
}

/// Writes a temporary file next to `path` and renames it over `path`, so a crash leaves either version.
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_a_reload_in_javas_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let mut kv = KvConfig::load(Some(path.clone())).expect("load");
        kv.put(
            "ORDER_TOPIC_CONFIG".into(),
            "t1".into(),
            "broker-a:4".into(),
        )
        .expect("put");
        kv.put("ns".into(), "k\u{e9}".into(), "v \u{4e16}".into())
            .expect("put");
        kv.put("ns".into(), "gone".into(), "x".into()).expect("put");
        kv.delete("ns", "gone").expect("delete");

        let text = std::fs::read_to_string(&path).expect("file written");
        assert!(text.starts_with("{\"configTable\":{"), "{text}");
        let again = KvConfig::load(Some(path)).expect("reload");
        assert_eq!(
            again.get("ORDER_TOPIC_CONFIG", "t1").map(String::as_str),
            Some("broker-a:4")
        );
        assert_eq!(
            again.get("ns", "k\u{e9}").map(String::as_str),
            Some("v \u{4e16}")
        );
        assert_eq!(again.get("ns", "gone"), None);
    }

    #[test]
    fn reads_a_java_written_file() {
        let java =
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicTest":"broker-a:8;broker-b:8"}}}"#;
        let table = parse(java).expect("parse");
        assert_eq!(
            table["ORDER_TOPIC_CONFIG"]["TopicTest"],
            "broker-a:8;broker-b:8"
        );
    }

    #[test]
    fn missing_file_is_empty_and_memory_only_never_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvConfig::load(Some(dir.path().join("none.json"))).expect("load");
        assert_eq!(kv.get("a", "b"), None);
        let mut mem = KvConfig::load(None).expect("load");
        mem.put("a".into(), "b".into(), "c".into()).expect("put");
        assert_eq!(mem.get("a", "b").map(String::as_str), Some("c"));
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
