//! What the consumer calls share: the caller (a gRPC client on the bridge), the refusal a call ends
//! with, and Java's resource checks (`GrpcValidator.validateTopic` / `validateConsumerGroup`).

use std::net::SocketAddr;
use std::time::Duration;

use rmq_codec::command::RemotingCommand;
use rmq_proto::v2::{self, Code};

use super::bridge::{Bridge, RemotingResponse};
use super::context::ClientContext;
use super::status::GrpcError;
use super::GrpcEndpoint;

/// `Validators.TOPIC_MAX_LENGTH` and `CHARACTER_MAX_LENGTH` (group names).
const TOPIC_MAX_LEN: usize = 127;
const GROUP_MAX_LEN: usize = 255;
/// `MixAll.CID_SYS_RMQ_SYS_PREFIX`: groups the proxy refuses (`MixAll.isSysConsumerGroup`).
const SYS_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// A gRPC client calling through the bridge, and the broker it reaches.
pub struct Caller<'a> {
    pub bridge: &'a Bridge,
    pub client_id: &'a str,
    pub peer: SocketAddr,
    /// The broker's `brokerName`, which receipt handles and queues carry.
    pub broker_name: &'a str,
    /// `x-mq-client-version`; empty when unknown.
    pub client_version: &'a str,
}

impl<'a> Caller<'a> {
    /// The client of one call on the endpoint's bridge.
    pub fn of(ep: &'a GrpcEndpoint, ctx: &'a ClientContext) -> Self {
        Caller {
            bridge: &ep.bridge,
            client_id: &ctx.client_id,
            peer: ctx.peer,
            broker_name: &ep.broker.config.broker_name,
            client_version: &ctx.client_version,
        }
    }

    pub async fn call(&self, cmd: RemotingCommand) -> Result<RemotingResponse, Refusal> {
        self.bridge
            .call(self.client_id, self.peer, cmd)
            .await
            .map_err(Refusal::from)
    }

    pub async fn call_with_timeout(
        &self,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingResponse, Refusal> {
        self.bridge
            .call_with_timeout(self.client_id, self.peer, cmd, timeout)
            .await
            .map_err(Refusal::from)
    }
}

/// A call that ends with a status other than OK before or instead of its normal answer.
pub type Refusal = GrpcError;

pub fn illegal(code: Code, message: impl Into<String>) -> Refusal {
    GrpcError::new(code, message)
}

pub fn status(code: Code, message: impl Into<String>) -> v2::Status {
    v2::Status {
        code: code as i32,
        message: message.into(),
    }
}

/// Java's `Code.name()`: the proto enum value name (`INVALID_RECEIPT_HANDLE`), from the Rust variant.
pub fn code_name(code: Code) -> String {
    if code == Code::Unspecified {
        return "CODE_UNSPECIFIED".into();
    }
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

pub fn now_ms() -> i64 {
    crate::remoting::connection::now_ms() as i64
}

/// `Validators.checkTopic` / `checkGroup`'s character rule: `^[%|a-zA-Z0-9_-]+$`.
fn legal_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// `TopicValidator.SYSTEM_TOPIC_SET` (5.3.3, before a broker adds its own names) and the `rmq_sys_`
/// prefix: topics a client may not consume (`TopicValidator.isSystemTopic`).
const SYSTEM_TOPICS: [&str; 10] = [
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

fn is_system_topic(name: &str) -> bool {
    name.starts_with("rmq_sys_") || SYSTEM_TOPICS.contains(&name)
}

/// `GrpcValidator.validateTopic`: ILLEGAL_TOPIC for a blank, too long or ill-formed name, or a system
/// topic.
pub fn validate_topic(topic: Option<&v2::Resource>) -> Result<String, Refusal> {
    let name = topic.map_or("", |t| t.name.as_str());
    let refuse = |why: String| Err(illegal(Code::IllegalTopic, why));
    if name.trim().is_empty() {
        return refuse("topic name cannot be blank".into());
    }
    if name.len() > TOPIC_MAX_LEN {
        return refuse(format!(
            "topic name is longer than topic max length {TOPIC_MAX_LEN}"
        ));
    }
    if !legal_chars(name) {
        return refuse(format!(
            "topic name {name} is illegal, it contains illegal characters"
        ));
    }
    if is_system_topic(name) {
        return refuse(format!("cannot access system topic: {name}"));
    }
    Ok(name.to_string())
}

/// `GrpcValidator.validateConsumerGroup`: ILLEGAL_CONSUMER_GROUP for a blank, too long or
/// ill-formed name, or a system group.
pub fn validate_group(group: Option<&v2::Resource>) -> Result<String, Refusal> {
    let name = group.map_or("", |g| g.name.as_str());
    let refuse = |why: String| Err(illegal(Code::IllegalConsumerGroup, why));
    if name.trim().is_empty() {
        return refuse("the specified group is blank".into());
    }
    if name.len() > GROUP_MAX_LEN {
        return refuse("the specified group is longer than group max length 255.".into());
    }
    if !legal_chars(name) {
        return refuse(format!(
            "the specified group[{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if name.starts_with(SYS_GROUP_PREFIX) {
        return refuse("cannot use system consumer group".into());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(name: &str) -> v2::Resource {
        v2::Resource {
            resource_namespace: String::new(),
            name: name.to_string(),
        }
    }

    #[test]
    fn topic_rules() {
        assert_eq!(validate_topic(Some(&res("T-1_a"))), Ok("T-1_a".into()));
        for bad in ["", " ", "a b", "t.x", &"x".repeat(128)] {
            let err = validate_topic(Some(&res(bad))).unwrap_err();
            assert_eq!(err.code, Code::IllegalTopic, "{bad:?}");
        }
        assert_eq!(validate_topic(None).unwrap_err().code, Code::IllegalTopic);
        assert_eq!(
            validate_topic(Some(&res("SCHEDULE_TOPIC_XXXX")))
                .unwrap_err()
                .code,
            Code::IllegalTopic
        );
    }

    #[test]
    fn code_names_are_the_proto_names() {
        assert_eq!(code_name(Code::Ok), "OK");
        assert_eq!(
            code_name(Code::InvalidReceiptHandle),
            "INVALID_RECEIPT_HANDLE"
        );
        assert_eq!(code_name(Code::HaNotAvailable), "HA_NOT_AVAILABLE");
        assert_eq!(code_name(Code::Unspecified), "CODE_UNSPECIFIED");
    }

    #[test]
    fn group_rules() {
        assert_eq!(validate_group(Some(&res("G_1"))), Ok("G_1".into()));
        for bad in ["", "g/1", "CID_RMQ_SYS_X", &"g".repeat(256)] {
            let err = validate_group(Some(&res(bad))).unwrap_err();
            assert_eq!(err.code, Code::IllegalConsumerGroup, "{bad:?}");
        }
    }
}
