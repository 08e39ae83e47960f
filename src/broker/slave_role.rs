//! What a broker does differently as a slave (`brokerRole=SLAVE`), and the pull redirection both roles
//! answer (`suggestWhichBrokerId`).
//!
//! - Sends are refused by the store, opened as a slave's (`StoreConfig::slave`, set by `Broker::open`):
//!   Java's `DefaultMessageStore.putMessage` on a SLAVE → SERVICE_NOT_AVAILABLE with SendMessageProcessor's
//!   remark. A consumer send-back is refused here, with its own answer.
//! - Pulls are served, but a slave never stores the offset a pull commits (4.9.7
//!   `PullMessageProcessor`: `storeOffsetEnable && brokerRole != SLAVE`). UPDATE_CONSUMER_OFFSET is stored
//!   on a slave too (neither Java version checks the role there); the next slave sync overwrites it
//!   with the master's.
//! - Delayed/timer delivery, transaction check-back and pop revive do not run (`Broker::start`).
//! - Requests a slave answers before processing them ([`Broker::slave_refusal`]).

use std::sync::OnceLock;

use bytes::Bytes;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_store::config::SubscriptionGroupConfig;
use rmq_store::GetStatus;

use super::{reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::Answer;

/// `MixAll.MASTER_ID`.
pub const MASTER_ID: i64 = 0;

impl Broker {
    /// What a slave answers, unprocessed, to requests only a master may carry out; None on a master and
    /// for every other request.
    /// - UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    ///   DELETE_SUBSCRIPTIONGROUP: 4.9.7 `AdminBrokerProcessor.validateSlave` (5.3.3 keeps the method but
    ///   no longer calls it; a slave's change would be undone by its next sync anyway).
    /// - END_TRANSACTION: SLAVE_NOT_AVAILABLE without a remark (`EndTransactionProcessor`, both versions).
    pub(super) fn slave_refusal(&self, req: &RemotingCommand) -> Option<Answer> {
        if !self.config.is_slave() {
            return None;
        }
        let refusal = match RequestCode::from(req.code) {
            RequestCode::UpdateAndCreateTopic
            | RequestCode::DeleteTopicInBroker
            | RequestCode::UpdateAndCreateSubscriptiongroup
            | RequestCode::DeleteSubscriptiongroup => RemotingCommand::new_response(
                ResponseCode::SystemError,
                Some(
                    "Can't modify topic or subscription group from slave broker, please execute it \
                     from master broker."
                        .into(),
                ),
            ),
            RequestCode::EndTransaction => {
                tracing::warn!("Message store is slave mode, so end transaction is forbidden.");
                RemotingCommand::new_response(ResponseCode::SlaveNotAvailable, None)
            }
            _ => return None,
        };
        Some(if req.is_oneway() {
            Answer::Nothing
        } else {
            refusal.into()
        })
    }

    /// CONSUMER_SEND_MSG_BACK on a slave: `consumerSendMsgBack` answers a failed put SYSTEM_ERROR with the
    /// put status's name (4.9.7 and 5.3.3).
    pub(super) fn refuse_send_back_on_slave(&self) -> Result<(), ServiceError> {
        if self.config.is_slave() {
            return Err(reply_error(
                ResponseCode::SystemError,
                "SERVICE_NOT_AVAILABLE",
            ));
        }
        Ok(())
    }

    /// Whether a pull commits the offset it carries (`storeOffsetEnable`): never on a slave (4.9.7).
    pub(super) fn stores_pulled_offsets(&self) -> bool {
        !self.config.is_slave()
    }

    /// `DefaultMessageStore.nextOffsetCorrection`: where the store corrects a pull's next offset (empty or
    /// missing queue, offset below the minimum or past the maximum, nothing found at it), a slave without
    /// `offsetCheckInSlave` keeps the requested offset, so a consumer is never moved by what a slave has
    /// not replicated yet.
    pub(super) fn next_offset_correction(
        &self,
        status: GetStatus,
        requested: i64,
        corrected: i64,
    ) -> i64 {
        let correctable = matches!(
            status,
            GetStatus::NoMessageInQueue
                | GetStatus::NoMatchedLogicQueue
                | GetStatus::OffsetTooSmall
                | GetStatus::OffsetOverflowOne
                | GetStatus::OffsetOverflowBadly
                | GetStatus::OffsetFoundNull
        );
        if correctable && self.config.is_slave() && !self.runtime().offset_check_in_slave {
            requested
        } else {
            corrected
        }
    }

    /// A pull answer's code and `suggestWhichBrokerId` (`PullMessageProcessor`, 4.9.7 and 5.3.3), given the
    /// code its status maps to and the records it carries:
    /// - PULL_OFFSET_MOVED on a slave without `offsetCheckInSlave` becomes PULL_RETRY_IMMEDIATELY
    ///   suggesting the group's `brokerId`, so a consumer ahead of what the slave replicated so far keeps
    ///   its offset;
    /// - otherwise the suggestion of [`suggest_which_broker_id`](Self::suggest_which_broker_id).
    ///
    /// The group's config is read only when the answer depends on it (not on the usual master pull).
    pub(super) fn pull_redirect(
        &self,
        group: &str,
        code: ResponseCode,
        records: &[Bytes],
    ) -> (ResponseCode, i64) {
        let runtime = self.runtime();
        let moved_on_slave = code == ResponseCode::PullOffsetMoved
            && self.config.is_slave()
            && !runtime.offset_check_in_slave;
        if !moved_on_slave && !runtime.slave_read_enable {
            return (code, MASTER_ID);
        }
        let Some(group) = self.groups.get(group) else {
            return (code, MASTER_ID);
        };
        if moved_on_slave {
            return (ResponseCode::PullRetryImmediately, group.broker_id);
        }
        let last_pulled = records.last().and_then(|r| record_commit_log_offset(r));
        (code, self.suggest_which_broker_id(&group, last_pulled))
    }

    /// PULL_MESSAGE's `suggestWhichBrokerId` (`PullMessageProcessor`, 4.9.7 and 5.3.3): with
    /// `slaveReadEnable`, the group's `whichBrokerWhenConsumeSlowly` when the pull reads further behind
    /// the commit log's end than `accessMessageInMemoryMaxRatio`% of the machine's memory, else the
    /// group's `brokerId`; without it, the master.
    fn suggest_which_broker_id(
        &self,
        group: &SubscriptionGroupConfig,
        last_pulled_commit_log_offset: Option<i64>,
    ) -> i64 {
        if !self.runtime().slave_read_enable {
            return MASTER_ID;
        }
        let behind = last_pulled_commit_log_offset.is_some_and(|pulled| {
            let ratio = self.runtime().access_message_in_memory_max_ratio;
            is_consuming_slowly(
                self.store.max_commit_log_offset(),
                pulled,
                ratio,
                total_memory_bytes(),
            )
        });
        if behind {
            group.which_broker_when_consume_slowly
        } else {
            group.broker_id
        }
    }
}

/// `DefaultMessageStore.getMessage`'s `suggestPullingFromSlave`: the bytes between the last message a pull
/// read and the commit log's end exceed `ratio_percent` of `memory_bytes`.
fn is_consuming_slowly(
    max_offset: i64,
    pulled: i64,
    ratio_percent: i32,
    memory_bytes: u64,
) -> bool {
    let memory = (memory_bytes as f64 * (f64::from(ratio_percent) / 100.0)) as i64;
    max_offset - pulled > memory
}

/// The machine's physical memory (`StoreUtil.TOTAL_PHYSICAL_MEMORY_SIZE`), from /proc/meminfo; i64::MAX
/// bytes when unknown, so no pull is ever called slow.
fn total_memory_bytes() -> u64 {
    static TOTAL: OnceLock<u64> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| parse_mem_total(&text))
            .unwrap_or(i64::MAX as u64)
    })
}

fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The commit-log offset of a raw stored record (`PHYSICALOFFSET`, bytes 28..36 of Java's layout).
fn record_commit_log_offset(record: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = record.get(28..36)?.try_into().ok()?;
    Some(i64::from_be_bytes(bytes))
}

#[cfg(test)]
#[path = "slave_role_tests.rs"]
mod tests;
