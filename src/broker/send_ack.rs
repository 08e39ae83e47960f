//! When a stored send is answered: at once, after the SYNC_FLUSH flush, after a SYNC_MASTER slave's ack,
//! or after both (Java's `CommitLog.handleDiskFlushAndHA`: the flush and replica futures combined, a
//! replica failure overriding a flush timeout).

use std::future::Future;
use std::pin::Pin;

use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::SendMessageResponseHeader;
use rmq_store::{FlushOutcome, FlushWaiter, StoreError};

use super::send::{add_send_ext_fields, send_response};
use super::Broker;
use crate::error::ServiceError;
use crate::remoting::{Answer, Connection, Outbound, Responder};

/// What a SYNC_MASTER send waits for from the slaves (`CommitLog.submitReplicaRequest`).
enum ReplicaWait {
    /// No slave connected, or the slave is `haMaxGapNotInSync` behind: SLAVE_NOT_AVAILABLE.
    NotAvailable,
    /// Resolves true once a slave acked the message's end; false after `slaveTimeout`.
    Ack(Pin<Box<dyn Future<Output = bool> + Send>>),
}

/// How the replica wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplicaOutcome {
    Acked,
    TimedOut,
    NotAvailable,
}

impl Broker {
    /// Answers a stored send: now, or later from the flusher and/or the slave's ack. `replica_end` is the
    /// commit-log offset past the message when the sender waits for the store (WAIT not false).
    pub(super) fn answer_stored(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
        header: SendMessageResponseHeader,
        flush: Option<FlushWaiter>,
        replica_end: Option<u64>,
    ) -> Answer {
        let trace_on = self.runtime().trace_on;
        let region = self.config.region_id.clone();
        // A oneway send waits for nobody; the flusher and the slaves get the record all the same.
        let (flush, replica) = match req.is_oneway() {
            true => (None, None),
            false => (flush, replica_end.and_then(|end| self.replica_wait(end))),
        };
        let answer = move |flushed: FlushOutcome, replica: Option<ReplicaOutcome>| {
            send_outcome(&header, &region, trace_on, flushed, replica)
        };
        let replica = match replica {
            None => None,
            Some(ReplicaWait::NotAvailable) if flush.is_none() => {
                return answer(FlushOutcome::Flushed, Some(ReplicaOutcome::NotAvailable)).into();
            }
            Some(wait) => Some(wait),
        };
        let responder = conn.responder(req);
        let broker = self.me.clone();
        let late = move |resp: RemotingCommand| {
            if let Some(broker) = broker.upgrade() {
                broker.metrics.record_late_rpc(&responder, resp.code, false);
            }
            answer_late(responder, resp);
        };
        match (flush, replica) {
            (None, None) => return answer(FlushOutcome::Flushed, None).into(),
            (Some(flush), None) => flush.on_complete(move |flushed| late(answer(flushed, None))),
            (flush, Some(replica)) => {
                let (flushed_tx, flushed_rx) = tokio::sync::oneshot::channel();
                match flush {
                    Some(flush) => flush.on_complete(move |flushed| {
                        let _ = flushed_tx.send(flushed);
                    }),
                    None => {
                        let _ = flushed_tx.send(FlushOutcome::Flushed);
                    }
                }
                tokio::spawn(async move {
                    let replica = match replica {
                        ReplicaWait::NotAvailable => ReplicaOutcome::NotAvailable,
                        ReplicaWait::Ack(acked) => match acked.await {
                            true => ReplicaOutcome::Acked,
                            false => ReplicaOutcome::TimedOut,
                        },
                    };
                    let flushed = flushed_rx.await.unwrap_or(FlushOutcome::Failed);
                    late(answer(flushed, Some(replica)));
                });
            }
        }
        Answer::Later
    }

    /// Java's `submitReplicaRequest`: only a SYNC_MASTER waits; it needs a slave within
    /// `haMaxGapNotInSync` of the message's end.
    fn replica_wait(&self, end: u64) -> Option<ReplicaWait> {
        if !crate::ha::is_sync_master(&self.config) {
            return None;
        }
        match &self.ha_master {
            Some(master) if master.is_slave_ok(end) => {
                Some(ReplicaWait::Ack(Box::pin(master.wait_replicated(end))))
            }
            _ => Some(ReplicaWait::NotAvailable),
        }
    }
}

/// The one door late send answers leave by.
fn answer_late(responder: Responder, resp: RemotingCommand) {
    responder.answer(Outbound::Command(resp));
}

/// The response for a stored message. A poisoned store answers its error; otherwise a replica failure
/// (FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE) wins over FLUSH_DISK_TIMEOUT, as Java sets the replica
/// status last. All of them carry the message's ids: it is stored.
fn send_outcome(
    header: &SendMessageResponseHeader,
    region: &str,
    trace_on: bool,
    flushed: FlushOutcome,
    replica: Option<ReplicaOutcome>,
) -> RemotingCommand {
    let code = match (flushed, replica) {
        (FlushOutcome::Failed, _) => {
            let mut resp = ServiceError::Store(StoreError::Poisoned).into_response();
            add_send_ext_fields(&mut resp, region, trace_on);
            return resp;
        }
        (_, Some(ReplicaOutcome::NotAvailable)) => ResponseCode::SlaveNotAvailable,
        (_, Some(ReplicaOutcome::TimedOut)) => ResponseCode::FlushSlaveTimeout,
        (FlushOutcome::TimedOut, _) => ResponseCode::FlushDiskTimeout,
        (FlushOutcome::Flushed, _) => ResponseCode::Success,
    };
    send_response(code, header, region, trace_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SendMessageResponseHeader {
        SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".into(),
            queue_id: 1,
            queue_offset: 5,
            transaction_id: None,
            batch_uniq_id: None,
        }
    }

    #[test]
    fn replica_failure_wins_over_flush_timeout() {
        let code = |f, r| send_outcome(&header(), "R", true, f, r).code;
        let ok = i32::from(ResponseCode::Success);
        assert_eq!(code(FlushOutcome::Flushed, None), ok);
        assert_eq!(code(FlushOutcome::Flushed, Some(ReplicaOutcome::Acked)), ok);
        assert_eq!(
            code(FlushOutcome::TimedOut, Some(ReplicaOutcome::Acked)),
            i32::from(ResponseCode::FlushDiskTimeout)
        );
        assert_eq!(
            code(FlushOutcome::TimedOut, Some(ReplicaOutcome::TimedOut)),
            i32::from(ResponseCode::FlushSlaveTimeout)
        );
        assert_eq!(
            code(FlushOutcome::TimedOut, Some(ReplicaOutcome::NotAvailable)),
            i32::from(ResponseCode::SlaveNotAvailable)
        );
        let resp = send_outcome(
            &header(),
            "R",
            true,
            FlushOutcome::Flushed,
            Some(ReplicaOutcome::NotAvailable),
        );
        assert_eq!(
            resp.ext_fields.get("msgId").map(String::as_str),
            Some("7F00000100002A9F0000000000000000"),
            "the message is stored: the answer carries its id"
        );
    }
}
