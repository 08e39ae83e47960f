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
use crate::broker::Broker;

/// A gRPC client calling through the bridge, and the broker it reaches.
pub struct Caller<'a> {
    pub broker: &'a Broker,
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
            broker: &ep.broker,
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

/// `GrpcValidator.validateTopic` of a request's topic resource (`client::check_topic`: Java's messages and
/// this broker's system topics).
pub fn validate_topic(broker: &Broker, topic: Option<&v2::Resource>) -> Result<String, Refusal> {
    let name = topic.map_or("", |t| t.name.as_str());
    super::client::check_topic(broker, name)?;
    Ok(name.to_string())
}

/// `GrpcValidator.validateConsumerGroup` of a request's group resource (`client::check_group`).
pub fn validate_group(group: Option<&v2::Resource>) -> Result<String, Refusal> {
    let name = group.map_or("", |g| g.name.as_str());
    super::client::check_group(name)?;
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
