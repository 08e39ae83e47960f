//! The one place where failures become RocketMQ response codes.
//!
//! Processors return `Result<_, ServiceError>`; the dispatcher turns an `Err` into the response a Java
//! broker or name server would send for the same failure.

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
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
        StoreError::ShutDown | StoreError::Poisoned | StoreError::DiskFull { .. } => {
            ResponseCode::ServiceNotAvailable
        }
        // Flow control: the client retries SYSTEM_BUSY (Java's fast-failure code).
        StoreError::PageCacheBusy | StoreError::PutQueueTimeout { .. } => ResponseCode::SystemBusy,
        _ => ResponseCode::SystemError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_control_refusals_are_system_busy_with_javas_remarks() {
        let busy = ServiceError::Store(StoreError::PageCacheBusy).into_response();
        assert_eq!(busy.code, i32::from(ResponseCode::SystemBusy));
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
}
