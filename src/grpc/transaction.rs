//! EndTransaction (Java proxy's `EndTransactionActivity`, `TransactionProcessor` and
//! `AbstractTransactionService.genEndTransactionRequestHeader`): the half message's offsets are remembered
//! when it is sent (or when the broker asks the client to check it) and END_TRANSACTION goes to the broker
//! oneway, as `LocalMessageService.endTransactionOneway` sends it.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, EndTransactionRequestHeader};
use rmq_codec::message::sys_flag;
use rmq_proto::v2::{
    Code, EndTransactionRequest, EndTransactionResponse, TransactionResolution, TransactionSource,
};

use super::context::ClientContext;
use super::status::{ok, GrpcError, GrpcResult};
use super::GrpcEndpoint;

/// Half messages remembered at once; the oldest leave first (Java's `TransactionDataManager` also
/// expires them).
const MAX_TRANSACTIONS: usize = 100_000;

/// Where a half message is: what END_TRANSACTION must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionData {
    pub topic: String,
    pub transaction_id: String,
    pub message_id: String,
    /// Queue offset of the half message in `RMQ_SYS_TRANS_HALF_TOPIC`.
    pub tran_state_table_offset: i64,
    pub commit_log_offset: i64,
}

/// Half messages by (producer group, transaction id); gRPC producers use the topic as their group.
#[derive(Default)]
pub struct TransactionTable {
    inner: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_key: HashMap<(String, String), TransactionData>,
    order: VecDeque<(String, String)>,
}

impl TransactionTable {
    pub fn insert(&self, producer_group: &str, data: TransactionData) {
        let key = (producer_group.to_string(), data.transaction_id.clone());
        let mut table = self.inner.lock();
        if table.by_key.insert(key.clone(), data).is_none() {
            table.order.push_back(key);
        }
        while table.order.len() > MAX_TRANSACTIONS {
            if let Some(old) = table.order.pop_front() {
                table.by_key.remove(&old);
            }
        }
    }

    /// Takes the entry (`pollNoExpireTransactionData`).
    pub fn take(&self, producer_group: &str, transaction_id: &str) -> Option<TransactionData> {
        let key = (producer_group.to_string(), transaction_id.to_string());
        let mut table = self.inner.lock();
        let data = table.by_key.remove(&key)?;
        table.order.retain(|k| k != &key);
        Some(data)
    }
}

pub async fn end_transaction(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    request: EndTransactionRequest,
) -> EndTransactionResponse {
    let status = match try_end(ep, ctx, &request) {
        Ok(()) => ok(),
        Err(e) => e.status(),
    };
    EndTransactionResponse {
        status: Some(status),
    }
}

fn try_end(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    request: &EndTransactionRequest,
) -> GrpcResult<()> {
    let topic = request.topic.clone().unwrap_or_default().name;
    super::client::check_topic(&ep.broker, &topic)?;
    if request.transaction_id.trim().is_empty() {
        return Err(GrpcError::new(
            Code::InvalidTransactionId,
            "transaction id cannot be empty",
        ));
    }
    let Some(data) = ep.transactions.take(&topic, &request.transaction_id) else {
        return Err(GrpcError::new(
            Code::InternalServerError,
            "cannot found transaction data",
        ));
    };
    let cmd = end_transaction_command(&topic, &topic, request, &data);
    ep.bridge.call_oneway(&ctx.client_id, ctx.peer, cmd)?;
    Ok(())
}

/// `buildCommitOrRollback`: COMMIT 8, ROLLBACK 12, anything else 0 (the broker ignores it).
pub fn commit_or_rollback(resolution: i32) -> i32 {
    match TransactionResolution::try_from(resolution) {
        Ok(TransactionResolution::Commit) => sys_flag::TRANSACTION_COMMIT,
        Ok(TransactionResolution::Rollback) => sys_flag::TRANSACTION_ROLLBACK,
        _ => sys_flag::TRANSACTION_NOT,
    }
}

/// The END_TRANSACTION request `genEndTransactionRequestHeader` builds.
pub fn end_transaction_command(
    topic: &str,
    producer_group: &str,
    request: &EndTransactionRequest,
    data: &TransactionData,
) -> RemotingCommand {
    let header = EndTransactionRequestHeader {
        topic: Some(topic.to_string()),
        producer_group: producer_group.to_string(),
        tran_state_table_offset: data.tran_state_table_offset,
        commit_log_offset: data.commit_log_offset,
        commit_or_rollback: commit_or_rollback(request.resolution),
        from_transaction_check: request.source == TransactionSource::SourceServerCheck as i32,
        msg_id: request.message_id.clone(),
        transaction_id: Some(request.transaction_id.clone()),
    };
    RemotingCommand::new_request(RequestCode::EndTransaction, header.to_ext_fields())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(id: &str) -> TransactionData {
        TransactionData {
            topic: "T".into(),
            transaction_id: id.into(),
            message_id: "m".into(),
            tran_state_table_offset: 7,
            commit_log_offset: 1234,
        }
    }

    #[test]
    fn a_half_message_is_taken_once() {
        let table = TransactionTable::default();
        table.insert("T", data("tx1"));
        assert!(table.take("other", "tx1").is_none(), "keyed by group too");
        assert_eq!(table.take("T", "tx1"), Some(data("tx1")));
        assert!(table.take("T", "tx1").is_none());
    }

    #[test]
    fn end_transaction_names_the_half_message_as_the_proxy_does() {
        let request = EndTransactionRequest {
            message_id: "m".into(),
            transaction_id: "tx1".into(),
            resolution: TransactionResolution::Rollback as i32,
            source: TransactionSource::SourceServerCheck as i32,
            ..Default::default()
        };
        let cmd = end_transaction_command("T", "T", &request, &data("tx1"));
        assert_eq!(cmd.code, i32::from(RequestCode::EndTransaction));
        let header = EndTransactionRequestHeader::decode(&cmd.ext_fields).unwrap();
        assert_eq!(header.commit_or_rollback, 12);
        assert!(header.from_transaction_check);
        assert_eq!(header.tran_state_table_offset, 7);
        assert_eq!(header.commit_log_offset, 1234);
        assert_eq!(header.msg_id, "m");
        assert_eq!(header.producer_group, "T");
    }
}
