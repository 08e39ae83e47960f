//! gRPC `Status` values and the mapping from remoting response codes (Java proxy's `ResponseBuilder` and
//! `GrpcProxyException`): every RPC answers a status inside its response message, and a failure of the
//! call itself (bad metadata, broker gone) still becomes such a status, never a transport error.

use rmq_codec::code::ResponseCode;
use rmq_proto::v2::{Code, Status};

use super::bridge::BridgeError;

/// A refusal with the code and message Java's proxy answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcError {
    pub code: Code,
    pub message: String,
}

impl GrpcError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        GrpcError {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> Status {
        status(self.code, &self.message)
    }

    /// A remoting response that is not a success, as `ResponseBuilder.buildStatus(int, remark)`.
    pub fn from_remoting(code: i32, remark: Option<&str>) -> Self {
        let message = remark
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| code.to_string());
        GrpcError::new(code_of_remoting(code), message)
    }
}

impl From<BridgeError> for GrpcError {
    /// A request the broker did not answer in time is Java's `RemotingTimeoutException`: PROXY_TIMEOUT.
    fn from(e: BridgeError) -> Self {
        let code = match e {
            BridgeError::Timeout(_) => Code::ProxyTimeout,
            BridgeError::TooManyClients => Code::TooManyRequests,
            BridgeError::Closed | BridgeError::NoAnswer(_) => Code::InternalServerError,
        };
        GrpcError::new(code, e.to_string())
    }
}

pub type GrpcResult<T> = Result<T, GrpcError>;

pub fn status(code: Code, message: &str) -> Status {
    Status {
        code: code as i32,
        message: message.to_string(),
    }
}

/// `Code.OK` with the message Java puts there: the code's name.
pub fn ok() -> Status {
    status(Code::Ok, "OK")
}

/// `ResponseBuilder.buildCode`: the few remoting codes with a gRPC counterpart; everything else is
/// INTERNAL_SERVER_ERROR; TOPIC_NOT_EXIST is TOPIC_NOT_FOUND as `TopicRouteHelper.isTopicNotExistError` finds it.
pub fn code_of_remoting(code: i32) -> Code {
    match ResponseCode::from(code) {
        ResponseCode::Success => Code::Ok,
        ResponseCode::SystemBusy => Code::TooManyRequests,
        ResponseCode::RequestCodeNotSupported => Code::NotImplemented,
        ResponseCode::SubscriptionGroupNotExist => Code::ConsumerGroupNotFound,
        ResponseCode::TopicNotExist => Code::TopicNotFound,
        _ => Code::InternalServerError,
    }
}

/// The name Java prints for a code in status messages (`Code.name()`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::MultipleResults => "MULTIPLE_RESULTS",
        Code::MasterPersistenceTimeout => "MASTER_PERSISTENCE_TIMEOUT",
        Code::SlavePersistenceTimeout => "SLAVE_PERSISTENCE_TIMEOUT",
        Code::HaNotAvailable => "HA_NOT_AVAILABLE",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remoting_codes_map_as_the_proxys_response_builder() {
        assert_eq!(code_of_remoting(0), Code::Ok);
        assert_eq!(code_of_remoting(2), Code::TooManyRequests);
        assert_eq!(code_of_remoting(3), Code::NotImplemented);
        assert_eq!(code_of_remoting(26), Code::ConsumerGroupNotFound);
        assert_eq!(code_of_remoting(17), Code::TopicNotFound);
        assert_eq!(code_of_remoting(1), Code::InternalServerError);
        assert_eq!(code_of_remoting(13), Code::InternalServerError);
    }

    #[test]
    fn a_missing_remark_becomes_the_code_number() {
        let e = GrpcError::from_remoting(1, None);
        assert_eq!(
            (e.code, e.message.as_str()),
            (Code::InternalServerError, "1")
        );
        let e = GrpcError::from_remoting(2, Some("busy"));
        assert_eq!(
            (e.code, e.message.as_str()),
            (Code::TooManyRequests, "busy")
        );
    }

    #[test]
    fn a_broker_timeout_is_proxy_timeout() {
        let e = GrpcError::from(BridgeError::Timeout(3000));
        assert_eq!(e.code, Code::ProxyTimeout);
    }
}
