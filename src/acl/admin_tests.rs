use std::net::IpAddr;

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;

use super::*;
use crate::acl::file::java_split;
use crate::acl::permission::{PUB, SUB};

const DISTRIBUTION_EXAMPLE: &str = include_str!("../../config/plain_acl.yml");

fn acl_with(dir: &tempfile::TempDir, text: &str) -> Arc<Acl> {
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(&path, text).unwrap();
    Acl::load(&path).unwrap()
}

fn on_disk(acl: &Acl) -> String {
    std::fs::read_to_string(&acl.path).unwrap()
}

fn new_user(key: &str) -> AccountUpdate {
    AccountUpdate {
        access_key: key.into(),
        secret_key: Some("newSecret1".into()),
        admin: false,
        default_topic_perm: Some("DENY".into()),
        default_group_perm: Some("SUB".into()),
        topic_perms: java_split(Some("topicA=PUB,topicB=PUB|SUB")),
        group_perms: None,
        white_remote_address: None,
    }
}

/// The timestamp varies; everything else is fixed.
fn without_timestamp(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("timestamp: ") {
            Some(i) => format!("{}timestamp: T", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_created_account_is_written_as_java_writes_it_and_in_force_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, "globalWhiteRemoteAddresses:\naccounts:\n  - accessKey: adminKey1\n    secretKey: 12345678\n    admin: true\n");
    acl.update_account(&new_user("newUser1")).unwrap();
    let expected = "\
globalWhiteRemoteAddresses: null
accounts:
- accessKey: adminKey1
  secretKey: 12345678
  admin: true
- accessKey: newUser1
  secretKey: newSecret1
  admin: false
  defaultTopicPerm: DENY
  defaultGroupPerm: SUB
  topicPerms:
  - topicA=PUB
  - topicB=PUB|SUB
dataVersion:
- counter: 1
  timestamp: T";
    assert_eq!(without_timestamp(&on_disk(&acl)), expected);
    let account = &acl.rules.read().accounts["newUser1"].clone();
    assert_eq!(account.resource_perms["topicB"], PUB | SUB);
    assert_eq!(account.default_topic_perm, DENY);
    let reloaded = Rules::load(&acl.path).unwrap();
    assert_eq!(reloaded.accounts["newUser1"].secret_key, "newSecret1");
    assert_eq!(acl.version().0.counter, 1);
    assert!(
        !acl.reload_if_changed(),
        "our own write is not a change to reload"
    );
}

#[test]
fn an_updated_account_keeps_its_fields_in_place_and_moves_last() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, DISTRIBUTION_EXAMPLE);
    let mut update = new_user("RocketMQ");
    update.default_topic_perm = Some("PUB".into());
    update.topic_perms = None;
    acl.update_account(&update).unwrap();
    let text = on_disk(&acl);
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let accounts = doc["accounts"].as_sequence().unwrap();
    let last = accounts.last().unwrap();
    assert_eq!(last["accessKey"].as_str(), Some("RocketMQ"));
    let keys: Vec<&str> = last
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "accessKey",
            "secretKey",
            "whiteRemoteAddress",
            "admin",
            "defaultTopicPerm",
            "defaultGroupPerm",
            "topicPerms",
            "groupPerms"
        ],
        "the file's order, nothing added"
    );
    assert_eq!(
        last["topicPerms"].as_sequence().unwrap().len(),
        3,
        "absent in the request: kept"
    );
    assert_eq!(last["defaultTopicPerm"].as_str(), Some("PUB"));
    assert_eq!(
        acl.rules.read().accounts["RocketMQ"].default_topic_perm,
        PUB
    );
    assert!(!text.contains('#'), "comments are gone, as in Java");
    assert_eq!(accounts.len(), 2);
}

#[test]
fn a_deleted_account_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, DISTRIBUTION_EXAMPLE);
    assert!(acl.delete_account("rocketmq2").unwrap());
    assert!(!acl.delete_account("rocketmq2").unwrap(), "gone");
    assert!(!acl.delete_account("").unwrap());
    assert_eq!(
        acl.version().0.counter,
        3,
        "every write bumps the version, as Java's"
    );
    let mut req =
        RemotingCommand::new_request(RequestCode::GetBrokerRuntimeInfo, Default::default());
    req.ext_fields
        .insert("AccessKey".into(), "rocketmq2".into());
    let peer: IpAddr = "127.0.0.1".parse().unwrap();
    let denied = acl.check(peer, &req).unwrap_err();
    assert_eq!(denied.message, "No acl config for rocketmq2");
    assert!(!on_disk(&acl).contains("rocketmq2"));
}

#[test]
fn global_white_list_replaces_the_files_and_only_our_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, DISTRIBUTION_EXAMPLE);
    let list = java_split(Some("10.1.1.*,127.0.0.1")).unwrap();
    assert!(acl.update_global_white(&list, "").unwrap());
    assert!(acl
        .check(
            "127.0.0.1".parse().unwrap(),
            &RemotingCommand::new_request(RequestCode::GetBrokerRuntimeInfo, Default::default())
        )
        .is_ok());
    let path = acl.path.display().to_string();
    assert!(acl.update_global_white(&list, &path).unwrap());
    let other = dir.path().join("other.yml").display().to_string();
    assert!(!acl.update_global_white(&list, &other).unwrap());
    assert!(on_disk(&acl)
        .starts_with("globalWhiteRemoteAddresses:\n- 10.1.1.*\n- 127.0.0.1\naccounts:\n"));
}

#[test]
fn refusals_have_javas_messages_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, DISTRIBUTION_EXAMPLE);
    let mut short = new_user("shortie1");
    short.secret_key = Some("abc".into());
    assert_eq!(
        acl.update_account(&short).unwrap_err().0,
        "The accessKey=shortie1 and secretKey=abc cannot be null and length should longer than 6"
    );
    let mut bad = new_user("newUser1");
    bad.topic_perms = java_split(Some("topicA"));
    assert!(acl
        .update_account(&bad)
        .unwrap_err()
        .0
        .starts_with("Parse Resource format error for topicA.\n"));
    bad.topic_perms = java_split(Some("topicA=ALL"));
    assert!(acl
        .update_account(&bad)
        .unwrap_err()
        .0
        .starts_with("Parse resource permission error for topicA=ALL.\n"));
    let mut bad_addr = new_user("newUser1");
    bad_addr.white_remote_address = Some("10.10.300.*".into());
    assert!(acl.update_account(&bad_addr).is_err());
    assert_eq!(on_disk(&acl), DISTRIBUTION_EXAMPLE, "untouched");
    assert_eq!(acl.version().0.counter, 0);
}

#[test]
fn java_split_is_string_split() {
    assert_eq!(java_split(None), None);
    assert_eq!(java_split(Some("")), Some(vec![String::new()]));
    assert_eq!(
        java_split(Some("a,,b,,")),
        Some(vec!["a".into(), String::new(), "b".into()])
    );
    assert_eq!(java_split(Some(",")), Some(vec![]));
}

/// A file as Java's snakeyaml `dumpAsMap` writes it after UPDATE_AND_CREATE_ACL_CONFIG (quoted and
/// unquoted scalars, dashes at the key's column, a dataVersion entry) is read back by our loader with
/// its version, and written again unchanged.
#[test]
fn reads_and_rewrites_javas_layout() {
    let java = "\
globalWhiteRemoteAddresses:
- 10.10.103.*
- 192.168.0.*
accounts:
- accessKey: RocketMQ
  secretKey: 12345678
  whiteRemoteAddress: null
  admin: false
  defaultTopicPerm: DENY
  defaultGroupPerm: SUB
  topicPerms:
  - topicA=DENY
  groupPerms:
  - groupA=DENY
- accessKey: aclAdminUser1
  secretKey: '12345678'
  admin: true
dataVersion:
- counter: 4
  timestamp: 1700000000000
";
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, java);
    assert_eq!(
        acl.version().0,
        FileVersion {
            counter: 4,
            timestamp: 1_700_000_000_000
        }
    );
    assert_eq!(
        acl.rules.read().accounts["aclAdminUser1"].secret_key,
        "12345678"
    );
    assert_eq!(to_yaml(&acl.file.lock().doc), java);
}

/// `testdata/java-4.9.7-written_plain_acl.yml` is the file the Java 4.9.7 broker wrote after AclAdminTest's
/// requests (from java-client-tests' acl-test-plain_acl.yml): our loader reads it, and our writer writes
/// the same document byte for byte.
#[test]
fn the_file_java_wrote_reads_back_and_is_written_identically() {
    let java = include_str!("testdata/java-4.9.7-written_plain_acl.yml");
    let dir = tempfile::tempdir().unwrap();
    let acl = acl_with(&dir, java);
    assert!(acl.version().0.counter > 0);
    assert_eq!(acl.rules.read().accounts.len(), 3);
    assert_eq!(to_yaml(&acl.file.lock().doc), java);
}
