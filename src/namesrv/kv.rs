//! The name server's KV config (PUT/GET/DELETE_KV_CONFIG, 100/101/102) in `kvConfig.json` like Java's
//! `KVConfigManager`: `{"configTable":{"namespace":{"key":"value"}}}`. Java writes the file inside the
//! request after every change; here a change marks it for the name server's persister thread, and like
//! Java a failed write is logged while the request still succeeds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_codec::fastjson::{Key, Value};
use rmq_store::config::{ConfigError, PersistedFile, Persister, Unwritten};

type Table = BTreeMap<String, BTreeMap<String, String>>;

pub struct KvConfig {
    table: Arc<Mutex<Table>>,
    /// The thread writing `kvConfig.json` and the file's handle; None keeps the table in memory only.
    persisted: Option<(Persister, PersistedFile)>,
}

impl KvConfig {
    /// Loads `path` (or its `.bak`) when it exists; a missing file is an empty table, as in Java.
    pub fn load(path: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut table = Table::new();
        if let Some(p) = path.as_deref() {
            if let Some(doc) = rmq_store::config::load_json_file(p)? {
                table = parse(&doc);
            }
        }
        let table = Arc::new(Mutex::new(table));
        let persisted = match path {
            Some(path) => {
                let persister = Persister::start().map_err(|source| ConfigError::Io {
                    path: path.clone(),
                    source,
                })?;
                let file = {
                    let table = Arc::clone(&table);
                    persister.register(path, move || Some(to_value(&table.lock())))
                };
                Some((persister, file))
            }
            None => None,
        };
        Ok(KvConfig { table, persisted })
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.table.lock().get(namespace)?.get(key).cloned()
    }

    pub fn put(&self, namespace: String, key: String, value: String) {
        self.table
            .lock()
            .entry(namespace)
            .or_default()
            .insert(key, value);
        self.mark_changed();
    }

    pub fn delete(&self, namespace: &str, key: &str) {
        {
            let mut table = self.table.lock();
            let Some(ns) = table.get_mut(namespace) else {
                return;
            };
            if ns.remove(key).is_none() {
                return;
            }
            if ns.is_empty() {
                table.remove(namespace);
            }
        }
        self.mark_changed();
    }

    /// The namespace's entries (GET_KVLIST_BY_NAMESPACE).
    pub fn namespace(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.table.lock().get(namespace).cloned()
    }

    /// Writes what changed and stops the persister thread.
    pub fn shutdown(&self) -> Result<(), Unwritten> {
        match &self.persisted {
            Some((persister, _)) => persister.stop(),
            None => Ok(()),
        }
    }

    fn mark_changed(&self) {
        if let Some((_, file)) = &self.persisted {
            file.mark_changed();
        }
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

fn parse(doc: &Value) -> Table {
    let mut table = Table::new();
    let Some(Value::Object(namespaces)) = doc.get("configTable") else {
        return table;
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
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_codec::fastjson;

    #[test]
    fn changes_survive_a_reload_in_javas_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let kv = KvConfig::load(Some(path.clone())).expect("load");
        kv.put(
            "ORDER_TOPIC_CONFIG".into(),
            "t1".into(),
            "broker-a:4".into(),
        );
        kv.put("ns".into(), "k\u{e9}".into(), "v \u{4e16}".into());
        kv.put("ns".into(), "gone".into(), "x".into());
        kv.delete("ns", "gone");
        kv.shutdown().expect("written");

        let text = std::fs::read_to_string(&path).expect("file written");
        let doc = fastjson::parse(&text).expect("json");
        assert!(doc.get("configTable").is_some(), "{text}");
        let again = KvConfig::load(Some(path)).expect("reload");
        assert_eq!(
            again.get("ORDER_TOPIC_CONFIG", "t1").as_deref(),
            Some("broker-a:4")
        );
        assert_eq!(again.get("ns", "k\u{e9}").as_deref(), Some("v \u{4e16}"));
        assert_eq!(again.get("ns", "gone"), None);
    }

    #[test]
    fn reads_a_java_written_file() {
        let java =
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicTest":"broker-a:8;broker-b:8"}}}"#;
        let table = parse(&fastjson::parse(java).expect("json"));
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
        let mem = KvConfig::load(None).expect("load");
        mem.put("a".into(), "b".into(), "c".into());
        assert_eq!(mem.get("a", "b").as_deref(), Some("c"));
        mem.shutdown().expect("nothing to write");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
