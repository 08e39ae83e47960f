use std::net::IpAddr;

use bytes::Bytes;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};

use super::signature::{sign, signed_content, ACCESS_KEY, SIGNATURE};
use super::*;

const RULES: &str = "\
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms: [topicA=DENY, topicB=PUB|SUB, topicC=SUB]
    groupPerms: [groupA=DENY, groupB=PUB|SUB]
  - accessKey: adminKey1
    secretKey: adminSecret
    admin: true
  - accessKey: trustedKey
    secretKey: trustedSecret
    whiteRemoteAddress: 192.168.1.*
    defaultTopicPerm: DENY
";

fn acl(dir: &tempfile::TempDir, text: &str) -> Arc<Acl> {
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(&path, text).unwrap();
    Acl::load(&path).unwrap()
}

fn request(code: RequestCode, fields: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
    let ext: ExtFields = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut req = RemotingCommand::new_request(code, ext);
    req.body = Bytes::copy_from_slice(body);
    req
}

/// What `AclClientRPCHook.doBeforeRequest` does.
fn signed(mut req: RemotingCommand, access_key: &str, secret: &str) -> RemotingCommand {
    req.ext_fields.insert(ACCESS_KEY.into(), access_key.into());
    let sig = sign(&signed_content(&req.ext_fields, &req.body), secret);
    req.ext_fields.insert(SIGNATURE.into(), sig);
    req
}

fn send_v2(topic: &str, group: &str) -> RemotingCommand {
    request(
        RequestCode::SendMessageV2,
        &[("a", group), ("b", topic), ("c", "TBW102")],
        b"payload",
    )
}

fn pull(topic: &str, group: &str) -> RemotingCommand {
    request(
        RequestCode::PullMessage,
        &[("topic", topic), ("consumerGroup", group), ("queueId", "0")],
        b"",
    )
}

fn local() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn denied(acl: &Acl, req: &RemotingCommand) -> String {
    let d = acl.check(local(), req).expect_err("must be refused");
    let resp = d.clone().into_response();
    assert_eq!(resp.code, i32::from(ResponseCode::SystemError));
    let remark = resp.remark.unwrap();
    assert!(
        remark.starts_with("org.apache.rocketmq.acl.common.AclException: "),
        "{remark}"
    );
    d.message
}

#[test]
fn signed_requests_within_their_permissions_pass() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    let ok = |req| acl.check(local(), &signed(req, "RocketMQ", "12345678"));
    assert_eq!(ok(send_v2("topicB", "anyGroup")), Ok(()));
    assert_eq!(
        ok(pull("topicC", "groupB")),
        Ok(()),
        "default group perm SUB"
    );
    assert_eq!(ok(pull("topicB", "someGroup")), Ok(()));
    let admin = |req| acl.check(local(), &signed(req, "adminKey1", "adminSecret"));
    assert_eq!(
        admin(send_v2("anyTopic", "g")),
        Ok(()),
        "admin without perms may do anything"
    );
    let create = request(
        RequestCode::UpdateAndCreateTopic,
        &[("topic", "newTopic")],
        b"",
    );
    assert_eq!(admin(create), Ok(()));
}

#[test]
fn refuses_unsigned_unknown_and_badly_signed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    assert_eq!(
        denied(&acl, &send_v2("topicB", "g")),
        "No accessKey is configured"
    );
    let unknown = signed(send_v2("topicB", "g"), "nobodyKey", "12345678");
    assert_eq!(denied(&acl, &unknown), "No acl config for nobodyKey");
    let wrong_secret = signed(send_v2("topicB", "g"), "RocketMQ", "87654321");
    assert_eq!(
        denied(&acl, &wrong_secret),
        "Check signature failed for accessKey=RocketMQ"
    );
    let mut tampered = signed(send_v2("topicB", "g"), "RocketMQ", "12345678");
    tampered.ext_fields.insert("b".into(), "topicC".into());
    assert!(denied(&acl, &tampered).starts_with("Check signature failed"));
    let mut body_changed = signed(send_v2("topicB", "g"), "RocketMQ", "12345678");
    body_changed.body = Bytes::from_static(b"other payload");
    assert!(denied(&acl, &body_changed).starts_with("Check signature failed"));
    let mut no_sig = signed(send_v2("topicB", "g"), "RocketMQ", "12345678");
    no_sig.ext_fields.remove(SIGNATURE);
    assert!(denied(&acl, &no_sig).starts_with("Check signature failed"));
}

#[test]
fn refuses_missing_permissions_like_java() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    let user = |req| signed(req, "RocketMQ", "12345678");
    assert_eq!(
        denied(&acl, &user(send_v2("topicA", "g"))),
        "No default permission for topic:topicA"
    );
    assert_eq!(
        denied(&acl, &user(send_v2("topicC", "g"))),
        "No default permission for topic:topicC"
    );
    assert_eq!(
        denied(&acl, &user(send_v2("unlisted", "g"))),
        "No default permission for topic:unlisted"
    );
    assert_eq!(
        denied(&acl, &user(pull("topicB", "groupA"))),
        "No default permission for group:groupA"
    );
    let batch = request(
        RequestCode::SendBatchMessage,
        &[("a", "g"), ("b", "topicA")],
        b"x",
    );
    assert!(
        denied(&acl, &user(batch)).ends_with("topic:topicA"),
        "batch needs PUB too"
    );
    let retry_send = send_v2("%RETRY%groupA", "groupA");
    assert_eq!(
        denied(&acl, &user(retry_send)),
        "No default permission for group:groupA"
    );
    let create = request(RequestCode::UpdateAndCreateTopic, &[("topic", "t")], b"");
    assert_eq!(
        denied(&acl, &user(create)),
        "Need admin permission for request code=17, but accessKey=RocketMQ is not"
    );
    let offsets = request(
        RequestCode::UpdateConsumerOffset,
        &[("consumerGroup", "groupB"), ("topic", "topicA")],
        b"",
    );
    assert_eq!(
        denied(&acl, &user(offsets)),
        "No default permission for topic:topicA"
    );
}

#[test]
fn heartbeat_needs_sub_on_groups_and_subscribed_topics() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    let hb = |group: &str, topic: &str| {
        let body = format!(
            r#"{{"clientID":"c1","consumerDataSet":[{{"groupName":"{group}","subscriptionDataSet":[{{"topic":"{topic}","subString":"*"}}]}}],"producerDataSet":[]}}"#
        );
        signed(
            request(RequestCode::HeartBeat, &[], body.as_bytes()),
            "RocketMQ",
            "12345678",
        )
    };
    assert_eq!(acl.check(local(), &hb("groupB", "topicC")), Ok(()));
    assert_eq!(
        denied(&acl, &hb("groupA", "topicC")),
        "No default permission for group:groupA"
    );
    assert_eq!(
        denied(&acl, &hb("groupB", "topicA")),
        "No default permission for topic:topicA"
    );
    let garbage = signed(
        request(RequestCode::HeartBeat, &[], b"{not json"),
        "RocketMQ",
        "12345678",
    );
    assert!(
        acl.check("10.10.103.7".parse().unwrap(), &garbage).is_err(),
        "parse precedes the white list"
    );
}

#[test]
fn white_addresses_skip_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    let white: IpAddr = "10.10.103.42".parse().unwrap();
    assert_eq!(
        acl.check(white, &send_v2("topicA", "g")),
        Ok(()),
        "global white list"
    );
    let trusted = request(
        RequestCode::SendMessageV2,
        &[("b", "topicA"), (ACCESS_KEY, "trustedKey")],
        b"",
    );
    assert_eq!(acl.check("192.168.1.9".parse().unwrap(), &trusted), Ok(()));
    assert!(
        acl.check(local(), &trusted).is_err(),
        "not from its white address: signature needed"
    );
    let trace = signed(send_v2(TRACE_TOPIC, "g"), "RocketMQ", "12345678");
    assert_eq!(
        acl.check(local(), &trace),
        Ok(()),
        "trace topic PUB is always allowed"
    );
}

#[test]
fn reload_picks_up_changes_and_keeps_rules_on_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    let path = dir.path().join("plain_acl.yml");
    let user = || signed(send_v2("topicA", "g"), "RocketMQ", "12345678");
    assert!(acl.check(local(), &user()).is_err());
    assert!(!acl.reload_if_changed(), "unchanged file");
    std::fs::write(&path, RULES.replace("topicA=DENY", "topicA=PUB")).unwrap();
    assert!(acl.reload_if_changed());
    assert_eq!(acl.check(local(), &user()), Ok(()));
    std::fs::write(&path, "accounts:\n  - accessKey: x\n").unwrap();
    assert!(!acl.reload_if_changed(), "invalid file is not installed");
    assert_eq!(acl.check(local(), &user()), Ok(()), "previous rules stay");
}

#[test]
fn missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Acl::load(&dir.path().join("absent.yml")).is_err());
}

#[test]
fn broker_conf_keys_and_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, "aclEnable=true\n").unwrap();
    let config = crate::config::load_broker(Some(&conf)).unwrap();
    assert!(config.acl_enable);
    assert_eq!(
        config.acl_file_path,
        dir.path().join("plain_acl.yml"),
        "default: next to broker.conf"
    );
    std::fs::write(&conf, "aclFilePath=/etc/rmqd/acl.yml\n").unwrap();
    let config = crate::config::load_broker(Some(&conf)).unwrap();
    assert!(!config.acl_enable, "off unless asked for, as in Java");
    assert_eq!(config.acl_file_path, Path::new("/etc/rmqd/acl.yml"));
}

/// Remarks as captured from a Java 4.9.7 broker with ACL on (raw requests, see the ACL report).
#[test]
fn remarks_match_the_java_broker() {
    let dir = tempfile::tempdir().unwrap();
    let acl = acl(&dir, RULES);
    let remark = |req: RemotingCommand| {
        let resp = acl.check(local(), &req).unwrap_err().into_response();
        (resp.code, resp.remark.unwrap())
    };
    assert_eq!(
        remark(send_v2("topicB", "g")),
        (
            1,
            "org.apache.rocketmq.acl.common.AclException: No accessKey is configured, \
             org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:663)"
                .to_string()
        )
    );
    let user = |req| signed(req, "RocketMQ", "12345678");
    assert_eq!(
        remark(user(send_v2("topicA", "g"))).1,
        "org.apache.rocketmq.acl.common.AclException: No default permission for topic:topicA, \
         org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:610)"
    );
    assert!(remark(user(send_v2("unlisted", "g")))
        .1
        .ends_with("checkPerm(PlainPermissionManager.java:605)"));
}
