//! The one place where failures become RocketMQ response codes.
//!
//! Processors return `Result<_, ServiceError>`; the dispatcher turns an `Err` into the response a Java
//! broker or name server would send for the same failure.

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::Value;
use rmq_codec::CodecError;
use rmq_store::config::ConfigError;
use rmq_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A header or body that does not decode. Java throws from `decodeCommandCustomHeader` and the
    /// remoting layer answers SYSTEM_ERROR with the exception text.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A config file could not be written (topics.json, subscriptionGroup.json, ...).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A processor decided the answer itself (e.g. TOPIC_NOT_EXIST with Java's remark).
    #[error("{remark}")]
    Reply { code: ResponseCode, remark: String },
}

impl ServiceError {
    pub fn reply(code: ResponseCode, remark: impl Into<String>) -> Self {
        ServiceError::Reply {
            code,
            remark: remark.into(),
        }
    }

    /// The response code Java sends for this failure.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            ServiceError::Codec(_) | ServiceError::Config(_) => ResponseCode::SystemError,
            ServiceError::Store(e) => store_error_code(e),
            ServiceError::Reply { code, .. } => *code,
        }
    }

    pub fn into_response(self) -> RemotingCommand {
        let code = self.response_code();
        RemotingCommand::new_response(code, Some(self.to_string()))
    }
}

fn store_error_code(e: &StoreError) -> ResponseCode {
    match e {
        StoreError::MessageTooLarge { .. } | StoreError::PropertiesTooLarge(_) => {
            ResponseCode::MessageIllegal
        }
        StoreError::ShutDown
        | StoreError::Poisoned
        | StoreError::DiskFull { .. }
        | StoreError::PutOnSlave { .. } => ResponseCode::ServiceNotAvailable,
        // Page cache busy is SYSTEM_ERROR in 4.9.8 and up to 5.2 (`SendMessageProcessor`, status
        // OS_PAGECACHE_BUSY), SYSTEM_BUSY from 5.3.0 (apache/rocketmq#8053). 4.x producers retry 1 but not 2
        // (2 is missing from their `retryResponseCodes`); 5.x producers retry both, so 1 loses no message.
        StoreError::PageCacheBusy => ResponseCode::SystemError,
        // Java's fast failure (`BrokerFastFailure`, [TIMEOUT_CLEAN_QUEUE]) is SYSTEM_BUSY in every version.
        StoreError::PutQueueTimeout { .. } => ResponseCode::SystemBusy,
        _ => ResponseCode::SystemError,
    }
}

/// What fastjson's `JSON.parseObject(text, Bean.class)` makes of a parsed body or field: `Ok(None)` where
/// Java gets a null bean (`null`, `[]`, `""`), `Ok(Some(_))` for an object, and for any other value the
/// SYSTEM_ERROR Java's remoting layer answers when fastjson throws "syntax error, expect {, actual ...".
pub fn java_bean<'a>(
    value: &'a Value,
    what: &'static str,
) -> Result<Option<&'a Value>, ServiceError> {
    Ok(rmq_codec::body::java_bean(value, what)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_control_refusals_answer_javas_codes_and_remarks() {
        let busy = ServiceError::Store(StoreError::PageCacheBusy).into_response();
        assert_eq!(busy.code, i32::from(ResponseCode::SystemError));
        assert_eq!(
            busy.remark.as_deref(),
            Some("[PC_SYNCHRONIZED]broker busy, start flow control for a while")
        );
        let queued = ServiceError::Store(StoreError::PutQueueTimeout {
            waited_ms: 250,
            queue_len: 3,
        })
        .into_response();
        assert_eq!(queued.code, 2);
        assert_eq!(
            queued.remark.as_deref(),
            Some(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: \
                 250ms, size of queue: 3"
            )
        );
    }

    #[test]
    fn a_put_on_a_slave_answers_service_not_available_with_javas_remark() {
        let refused = ServiceError::Store(StoreError::PutOnSlave {
            commit_log: 0.5,
            consume_queue: 0.5,
            index: 0.5,
        })
        .into_response();
        assert_eq!(refused.code, i32::from(ResponseCode::ServiceNotAvailable));
        assert_eq!(
            refused.remark.as_deref(),
            Some(
                "service not available now. It may be caused by one of the following reasons: the broker's \
                 disk is full [CL:  0.50 CQ:  0.50 INDEX:  0.50], messages are put to the slave, message store \
                 has been shut down, etc."
            )
        );
    }

    #[test]
    fn bodies_fastjson_refuses_or_nulls() {
        use rmq_codec::fastjson::parse;
        for text in ["null", "[]", "\"\""] {
            assert!(
                java_bean(&parse(text).unwrap(), "b").unwrap().is_none(),
                "{text}"
            );
        }
        assert!(java_bean(&parse("{\"a\":1}").unwrap(), "b")
            .unwrap()
            .is_some());
        for text in ["[1,2]", "7", "1.5", "true", "\"x\""] {
            let err = java_bean(&parse(text).unwrap(), "b").unwrap_err();
            assert_eq!(err.response_code(), ResponseCode::SystemError, "{text}");
        }
    }
}
