//! Plain ACL (Java's ACL 1.0, `aclEnable=true`): every request to the broker is checked before dispatch
//! against the accounts of a `plain_acl.yml`, the way Java's `PlainAccessValidator` +
//! `PlainPermissionManager` do it (compat with 4.9.x brokers; the 5.x client signs the same way).
//!
//! Order of the checks, as in Java: the global white list lets anything through; otherwise the request
//! must name a known `AccessKey`; the account's own white address lets it through without a signature;
//! otherwise the `Signature` must match ([`signature`]), and the account must hold the permissions the
//! request code needs ([`required_resources`]) and be an admin for admin codes.
//!
//! A refusal is answered like Java, whose server RPC hook throws an `AclException` that the remoting layer
//! turns into SYSTEM_ERROR with the exception's text and first stack frame as the remark; clients see
//! `MQBrokerException`/`MQClientException` with code 1 and that text.
//!
//! The ACL admin requests (UPDATE_AND_CREATE_ACL_CONFIG 50, DELETE_ACL_CONFIG 51, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
//! 53) edit the file and the rules in force together ([`admin`], [`file`]), and write it as Java does.
//!
//! Deliberate differences: SEND_BATCH_MESSAGE needs PUB on its topic and LITE_PULL_MESSAGE the same as
//! PULL_MESSAGE (Java 4.9.8 checks neither, leaving a way around topic permissions); only the one
//! configured file is read (Java also reads every yml under conf/acl/).

pub mod address;
pub mod admin;
pub mod config;
pub mod file;
pub mod permission;
pub mod signature;
mod yaml_writer;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Mutex, RwLock};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;

use config::{file_stamp, load_document, AclConfigError, Rules};
use file::AclFile;
use permission::{allows, describe, group_resource, is_group_resource, needs_admin, PUB, SUB};

/// How often the ACL file is checked for changes (Java's file watcher polls every 500 ms; a few seconds
/// is plenty for an operator editing a file).
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Java's `TopicValidator.RMQ_SYS_TRACE_TOPIC`: sending traces to it needs no topic permission.
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// A refused request: Java's exception message and the stack frame Java's remark names.
/// The frames are those of the 4.9.7 broker the client suites are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
    frame: &'static str,
}

impl Denied {
    fn new(frame: &'static str, message: String) -> Self {
        Denied { message, frame }
    }

    /// What Java's `NettyRemotingAbstract` answers when the ACL hook throws: SYSTEM_ERROR with
    /// `RemotingHelper.exceptionSimpleDesc(e)`.
    pub fn into_response(self) -> RemotingCommand {
        let remark = format!(
            "org.apache.rocketmq.acl.common.AclException: {}, {}",
            self.message, self.frame
        );
        RemotingCommand::new_response(ResponseCode::SystemError, Some(remark))
    }
}

const AT_VALIDATE_NO_KEY: &str =
    "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:663)";
const AT_VALIDATE_UNKNOWN_KEY: &str =
    "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:667)";
const AT_VALIDATE_SIGNATURE: &str =
    "org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:683)";
const AT_CHECK_ADMIN: &str =
    "org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:580)";
const AT_CHECK_DEFAULT_PERM: &str =
    "org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:605)";
const AT_CHECK_RESOURCE_PERM: &str =
    "org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:610)";
const AT_PARSE: &str =
    "org.apache.rocketmq.acl.plain.PlainAccessValidator.parse(PlainAccessValidator.java:134)";

/// The loaded ACL file and what is needed to notice that it changed.
pub struct Acl {
    path: PathBuf,
    rules: RwLock<Arc<Rules>>,
    /// The file as last read or written, which the ACL admin requests edit; its lock also orders those
    /// edits (Java's processor methods are `synchronized`) against reloads.
    file: Mutex<AclFile>,
    stamp: Mutex<Option<(SystemTime, u64)>>,
    /// When the last refusal was logged and how many were not logged since: a client retrying with a bad
    /// key must not be able to fill the disk with log lines.
    refusal_log: Mutex<(Option<Instant>, u64)>,
}

impl Acl {
    /// Reads `path`; a missing or invalid file is an error (Java creates an empty file and then refuses
    /// every client; an operator who enabled ACL is better served by a broker that says why it stops).
    pub fn load(path: &Path) -> Result<Arc<Acl>, AclConfigError> {
        let stamp = file_stamp(path);
        let (doc, rules) = load_document(path)?;
        tracing::info!(
            path = %path.display(),
            accounts = rules.accounts.len(),
            global_white = rules.global_white.len(),
            "ACL enabled"
        );
        Ok(Arc::new(Acl {
            path: path.to_path_buf(),
            rules: RwLock::new(Arc::new(rules)),
            file: Mutex::new(AclFile::new(doc)),
            stamp: Mutex::new(stamp),
            refusal_log: Mutex::new((None, 0)),
        }))
    }

    /// Checks the file's modification time and size (the broker calls this every [`RELOAD_POLL`]); on a
    /// change, re-reads it. A file that no longer parses (or is being rewritten) leaves the previous rules
    /// in force. Returns true when new rules were installed.
    pub fn reload_if_changed(&self) -> bool {
        let mut file = self.file.lock();
        let now = file_stamp(&self.path);
        if now.is_none() || now == *self.stamp.lock() {
            return false;
        }
        *self.stamp.lock() = now;
        match load_document(&self.path) {
            Ok((doc, rules)) => {
                tracing::info!(path = %self.path.display(), accounts = rules.accounts.len(), "ACL reloaded");
                *self.rules.write() = Arc::new(rules);
                *file = AclFile::new(doc);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "ACL file changed but cannot be used; keeping the previous rules");
                false
            }
        }
    }

    /// Logs a refusal (access key and reason, never a secret), at most one line per second.
    pub fn log_refusal(&self, peer: std::net::SocketAddr, code: i32, denied: &Denied) {
        let mut log = self.refusal_log.lock();
        let now = Instant::now();
        if log
            .0
            .is_some_and(|last| now.duration_since(last) < REFUSAL_LOG_INTERVAL)
        {
            log.1 += 1;
            return;
        }
        let suppressed = std::mem::take(&mut log.1);
        log.0 = Some(now);
        tracing::warn!(%peer, code, reason = denied.message, suppressed, "ACL refused a request");
    }

    /// Java `PlainPermissionManager.validate(PlainAccessValidator.parse(request, peer))`.
    pub fn check(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), Denied> {
        // Java parses before it validates: a heartbeat body that does not decode is refused even from
        // a white-listed address.
        let needed = required_resources(req)?;
        let rules = self.rules.read().clone();
        if rules.global_white.iter().any(|p| p.matches(peer)) {
            return Ok(());
        }
        let Some(access_key) = req.ext_fields.get(signature::ACCESS_KEY) else {
            return Err(Denied::new(
                AT_VALIDATE_NO_KEY,
                "No accessKey is configured".into(),
            ));
        };
        let Some(account) = rules.accounts.get(access_key) else {
            return Err(Denied::new(
                AT_VALIDATE_UNKNOWN_KEY,
                format!("No acl config for {access_key}"),
            ));
        };
        if account.white_address.matches(peer) {
            return Ok(());
        }
        let content = signature::signed_content(&req.ext_fields, &req.body);
        let claimed = req.ext_fields.get(signature::SIGNATURE).map(String::as_str);
        if !signature::verify(&content, &account.secret_key, claimed) {
            return Err(Denied::new(
                AT_VALIDATE_SIGNATURE,
                format!("Check signature failed for accessKey={access_key}"),
            ));
        }
        if needed.get(TRACE_TOPIC) == Some(&PUB) {
            return Ok(());
        }
        check_perm(req.code, &needed, account)
    }
}

/// Java `PlainPermissionManager.checkPerm`.
fn check_perm(
    code: i32,
    needed: &BTreeMap<String, u8>,
    account: &config::Account,
) -> Result<(), Denied> {
    if needs_admin(code) && !account.admin {
        return Err(Denied::new(
            AT_CHECK_ADMIN,
            format!(
                "Need admin permission for request code={code}, but accessKey={} is not",
                account.access_key
            ),
        ));
    }
    if account.resource_perms.is_empty() && account.admin {
        return Ok(());
    }
    for (resource, &perm) in needed {
        let default = if is_group_resource(resource) {
            account.default_group_perm
        } else {
            account.default_topic_perm
        };
        let (owned, frame) = match account.resource_perms.get(resource) {
            Some(&perm) => (perm, AT_CHECK_RESOURCE_PERM),
            None => (default, AT_CHECK_DEFAULT_PERM),
        };
        if !allows(owned, perm) {
            // Java words both refusals "No default permission", even for an explicitly listed resource.
            return Err(Denied::new(
                frame,
                format!("No default permission for {}", describe(resource)),
            ));
        }
    }
    Ok(())
}

/// The resources (topics, and groups as `%RETRY%<group>`) and permissions a request needs: Java
/// `PlainAccessValidator.parse`. A later entry for the same resource replaces an earlier one, as in Java.
pub fn required_resources(req: &RemotingCommand) -> Result<BTreeMap<String, u8>, Denied> {
    let ext = &req.ext_fields;
    let field = |k: &str| ext.get(k).map(String::as_str);
    let mut needed = BTreeMap::new();
    let mut add = |resource: Option<String>, perm: u8| {
        if let Some(r) = resource {
            needed.insert(r, perm);
        }
    };
    let group = |k: &str| field(k).map(group_resource);
    match RequestCode::from(req.code) {
        RequestCode::SendMessage => match field("topic") {
            // Sending to a retry topic is a consumer's resend: it needs SUB on the group. Java looks the
            // group up under "group", which SEND_MESSAGE headers do not have, so this adds nothing there.
            Some(t) if is_group_resource(t) => add(group("group"), SUB),
            t => add(t.map(String::from), PUB),
        },
        RequestCode::SendMessageV2 | RequestCode::SendBatchMessage => match field("b") {
            Some(t) if is_group_resource(t) => add(group("a"), SUB),
            t => add(t.map(String::from), PUB),
        },
        RequestCode::ConsumerSendMsgBack => add(group("group"), SUB),
        RequestCode::PullMessage | RequestCode::LitePullMessage => {
            add(field("topic").map(String::from), SUB);
            add(group("consumerGroup"), SUB);
        }
        RequestCode::QueryMessage => add(field("topic").map(String::from), SUB),
        RequestCode::HeartBeat => {
            let hb = crate::broker::clients::parse_heartbeat(&req.body)
                .map_err(|e| Denied::new(AT_PARSE, e.to_string()))?;
            for consumer in &hb.consumers {
                add(Some(group_resource(&consumer.group)), SUB);
                for sub in &consumer.subscriptions {
                    add(Some(sub.topic.clone()), SUB);
                }
            }
        }
        RequestCode::UnregisterClient | RequestCode::GetConsumerListByGroup => {
            add(group("consumerGroup"), SUB)
        }
        RequestCode::UpdateConsumerOffset => {
            add(group("consumerGroup"), SUB);
            add(field("topic").map(String::from), SUB);
        }
        _ => {}
    }
    Ok(needed)
}

#[cfg(test)]
mod tests;
