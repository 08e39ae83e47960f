//! The ACL file as a document that the ACL admin requests edit (Java `PlainPermissionManager`
//! `updateAccessConfig`, `deleteAccessConfig`, `updateGlobalWhiteAddrsConfig`): the
//! parsed YAML with its keys in file order, plus its DataVersion (`dataVersion: [{counter, timestamp}]`).
//!
//! Every edit bumps the DataVersion (`nextVersion`: counter + 1, timestamp now) and replaces the file's
//! `dataVersion` entry, as Java's `updateAclConfigFileVersion` does. Comments of the file are lost, as in
//! Java, which re-dumps the whole map.

use serde_yaml::{Mapping, Value};

use super::config::scalar;

pub const ACCOUNTS: &str = "accounts";
pub const GLOBAL_WHITE: &str = "globalWhiteRemoteAddresses";
const DATA_VERSION: &str = "dataVersion";

/// Java's 4.9.x `DataVersion` of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    pub counter: i64,
    pub timestamp: i64,
}

/// The document and its version.
#[derive(Debug, Clone)]
pub struct AclFile {
    pub doc: Value,
    pub version: FileVersion,
}

/// One UPDATE_AND_CREATE_ACL_CONFIG, as Java's `PlainAccessConfig` built from the request header:
/// the lists are the header's comma-separated text split as `UtilAll.split` does.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub access_key: String,
    pub secret_key: Option<String>,
    pub white_remote_address: Option<String>,
    pub admin: bool,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Option<Vec<String>>,
    pub group_perms: Option<Vec<String>>,
}

/// Java `UtilAll.split(text, ",")`: `String.split`, which keeps inner empty pieces and drops trailing
/// ones ("" is one empty piece).
pub fn java_split(text: Option<&str>) -> Option<Vec<String>> {
    let text = text?;
    if text.is_empty() {
        return Some(vec![String::new()]);
    }
    let mut pieces: Vec<String> = text.split(',').map(String::from).collect();
    while pieces.last().is_some_and(String::is_empty) {
        pieces.pop();
    }
    Some(pieces)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn key(name: &str) -> Value {
    Value::String(name.to_string())
}

fn strings(list: &[String]) -> Value {
    Value::Sequence(list.iter().cloned().map(Value::String).collect())
}

impl AclFile {
    /// The version is the file's first `dataVersion` entry, or counter 0 and now (Java's `new DataVersion()`)
    /// when there is none.
    pub fn new(doc: Value) -> AclFile {
        let first = doc
            .get(DATA_VERSION)
            .and_then(Value::as_sequence)
            .and_then(|s| s.first());
        let number = |name: &str| {
            first
                .and_then(|v| v.get(name))
                .and_then(|v| scalar(Some(v)))
                .and_then(|s| s.trim().parse::<i64>().ok())
        };
        let version = match (number("counter"), number("timestamp")) {
            (Some(counter), Some(timestamp)) => FileVersion { counter, timestamp },
            (counter, _) => FileVersion {
                counter: counter.unwrap_or(0),
                timestamp: now_ms(),
            },
        };
        AclFile { doc, version }
    }

    fn map_mut(&mut self) -> &mut Mapping {
        if !self.doc.is_mapping() {
            self.doc = Value::Mapping(Mapping::new());
        }
        match &mut self.doc {
            Value::Mapping(map) => map,
            _ => unreachable!("made a mapping above"),
        }
    }

    /// Java `updateAccessConfig` on the file: an existing account keeps its map, gets the given fields set
    /// over its own, and moves to the end of `accounts`; a new account is appended with its fields in
    /// Java's order (accessKey, secretKey, whiteRemoteAddress, admin, defaultTopicPerm, defaultGroupPerm,
    /// topicPerms, groupPerms), absent and empty ones left out.
    pub fn upsert_account(&mut self, update: &AccountUpdate) {
        let map = self.map_mut();
        let mut accounts = match map.get(ACCOUNTS) {
            Some(Value::Sequence(seq)) => seq.clone(),
            _ => Vec::new(),
        };
        let existing = accounts.iter().position(|a| {
            scalar(a.get("accessKey")).as_deref() == Some(update.access_key.as_str())
        });
        let mut account = match existing {
            Some(i) => match accounts.remove(i) {
                Value::Mapping(m) => m,
                _ => Mapping::new(),
            },
            None => Mapping::new(),
        };
        fill_account(&mut account, update);
        accounts.push(Value::Mapping(account));
        map.insert(key(ACCOUNTS), Value::Sequence(accounts));
    }

    /// Java `deleteAccessConfig` on the file; false when no account has the key.
    pub fn delete_account(&mut self, access_key: &str) -> bool {
        let map = self.map_mut();
        let Some(Value::Sequence(accounts)) = map.get_mut(ACCOUNTS) else {
            return false;
        };
        let Some(i) = accounts
            .iter()
            .position(|a| scalar(a.get("accessKey")).as_deref() == Some(access_key))
        else {
            return false;
        };
        accounts.remove(i);
        true
    }

    /// Java `updateGlobalWhiteAddrsConfig`: the list replaces `globalWhiteRemoteAddresses`.
    pub fn replace_global_white(&mut self, addrs: &[String]) {
        self.map_mut().insert(key(GLOBAL_WHITE), strings(addrs));
    }

    /// Java `updateAclConfigFileVersion`: next version, written as the only `dataVersion` entry.
    pub fn next_version(&mut self) {
        self.version = FileVersion {
            counter: self.version.counter + 1,
            timestamp: now_ms(),
        };
        let mut entry = Mapping::new();
        entry.insert(key("counter"), Value::Number(self.version.counter.into()));
        entry.insert(
            key("timestamp"),
            Value::Number(self.version.timestamp.into()),
        );
        let version = Value::Sequence(vec![Value::Mapping(entry)]);
        self.map_mut().insert(key(DATA_VERSION), version);
    }
}

/// Java `createAclAccessConfigMap`.
fn fill_account(account: &mut Mapping, update: &AccountUpdate) {
    let mut set = |name: &str, value: Value| {
        account.insert(key(name), value);
    };
    set("accessKey", Value::String(update.access_key.clone()));
    if let Some(secret) = update.secret_key.as_ref().filter(|s| !s.is_empty()) {
        set("secretKey", Value::String(secret.clone()));
    }
    if let Some(white) = &update.white_remote_address {
        set("whiteRemoteAddress", Value::String(white.clone()));
    }
    set("admin", Value::Bool(update.admin));
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    if let Some(perm) = non_empty(&update.default_topic_perm) {
        set("defaultTopicPerm", Value::String(perm));
    }
    if let Some(perm) = non_empty(&update.default_group_perm) {
        set("defaultGroupPerm", Value::String(perm));
    }
    if let Some(perms) = &update.topic_perms {
        set("topicPerms", strings(perms));
    }
    if let Some(perms) = &update.group_perms {
        set("groupPerms", strings(perms));
    }
}
