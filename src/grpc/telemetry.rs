//! The Telemetry stream (Java proxy's `ClientActivity.telemetry` and `GrpcClientChannel`): the client's
//! settings are answered with the server's; requests the broker starts for this client become commands
//! on the stream (CHECK_TRANSACTION_STATE → RecoverOrphanedTransactionCommand, GET_CONSUMER_RUNNING_INFO
//! with jstack → PrintThreadStackTraceCommand, CONSUME_MESSAGE_DIRECTLY → VerifyMessageCommand), and the
//! client's answers (ThreadStackTrace, VerifyMessageResult) go back to the broker by nonce.

use std::collections::HashMap;
use std::sync::Arc;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Value};
use rmq_codec::header::CheckTransactionStateRequestHeader;
use rmq_codec::header::CommandHeader;
use rmq_codec::message::properties as prop;
use rmq_codec::message::record::StoredMessage;
use rmq_proto::v2::telemetry_command::Command;
use rmq_proto::v2::{
    Code, PrintThreadStackTraceCommand, RecoverOrphanedTransactionCommand, TelemetryCommand,
    VerifyMessageCommand,
};
use tokio::sync::mpsc;
use tonic::Streaming;

use super::context::ClientContext;
use super::convert::proto_message;
use super::transaction::TransactionData;
use super::GrpcEndpoint;

/// Commands queued for one client's stream.
pub const OUT_QUEUE_LEN: usize = 64;

/// Broker requests waiting for the client's answer on one stream.
const MAX_PENDING_ANSWERS: usize = 256;

pub type Outbound = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

/// A broker request the client is to answer: its opaque and code, by nonce.
struct Pending {
    opaque: i32,
}

/// Runs one Telemetry stream until the client ends it, a newer stream of the same client replaces it,
/// or its receiver goes.
pub async fn run(
    ep: Arc<GrpcEndpoint>,
    ctx: ClientContext,
    mut inbound: Streaming<TelemetryCommand>,
    out: Outbound,
) {
    let mut from_broker = match ep.bridge.subscribe(&ctx.client_id, ctx.peer) {
        Ok(rx) => rx,
        Err(e) => {
            let _ = out
                .send(Err(tonic::Status::resource_exhausted(e.to_string())))
                .await;
            return;
        }
    };
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut next_nonce = 0u64;
    loop {
        tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(command)) => {
                    ep.bridge.touch(&ctx.client_id);
                    if !from_client(&ep, &ctx, command, &out, &mut pending).await {
                        return;
                    }
                }
                Ok(None) | Err(_) => return,
            },
            request = from_broker.recv() => match request {
                Some(request) => {
                    let Some(command) = from_broker_request(&ep, request, &mut pending, &mut next_nonce) else {
                        continue;
                    };
                    if out.send(Ok(command)).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            _ = out.closed() => return,
        }
    }
}

/// One command from the client; false ends the stream.
async fn from_client(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    command: TelemetryCommand,
    out: &Outbound,
    pending: &mut HashMap<String, Pending>,
) -> bool {
    let ok = command
        .status
        .as_ref()
        .is_none_or(|s| s.code == Code::Ok as i32);
    match command.command {
        Some(Command::Settings(settings)) => {
            let answer = super::client::apply_settings(ep, ctx, settings).await;
            let failed = answer.is_err();
            out.send(answer).await.is_ok() && !failed
        }
        Some(Command::ThreadStackTrace(trace)) => {
            if let Some(p) = pending.remove(&trace.nonce) {
                let jstack = trace.thread_stack_trace.unwrap_or_default();
                let body =
                    fastjson::to_string(&Value::object([("jstack", Value::from(jstack.as_str()))]));
                answer_broker(ep, ctx, p.opaque, ok, body);
            }
            true
        }
        Some(Command::VerifyMessageResult(result)) => {
            if let Some(p) = pending.remove(&result.nonce) {
                let code = command.status.as_ref().map_or(Code::Ok as i32, |s| s.code);
                answer_broker(ep, ctx, p.opaque, true, consume_directly_result(code));
            }
            true
        }
        _ => true,
    }
}

/// `ClientActivity.buildConsumeMessageDirectlyResult`: the client's status as a `CMResult`.
fn consume_directly_result(code: i32) -> String {
    let result = if code == Code::Ok as i32 {
        "CR_SUCCESS"
    } else if code == Code::FailedToConsumeMessage as i32 {
        "CR_LATER"
    } else if code == Code::MessageCorrupted as i32 {
        "CR_RETURN_NULL"
    } else {
        "CR_THROW_EXCEPTION"
    };
    fastjson::to_string(&Value::object([
        ("autoCommit", Value::Bool(true)),
        ("consumeResult", Value::from(result)),
        ("order", Value::Bool(false)),
        ("remark", Value::from("from gRPC client")),
        ("spentTimeMills", Value::from(0i64)),
    ]))
}

fn answer_broker(ep: &GrpcEndpoint, ctx: &ClientContext, opaque: i32, ok: bool, body: String) {
    let (code, remark) = match ok {
        true => (ResponseCode::Success, None),
        false => (
            ResponseCode::SystemError,
            Some("verify message failed".to_string()),
        ),
    };
    let mut response = RemotingCommand::new_response(code, remark).with_body(body);
    response.opaque = opaque;
    ep.bridge.reply(&ctx.client_id, response);
}

/// A broker request as the command the client gets, or None when the client is not told (NOTIFY_CONSUMER_IDS_CHANGED,
/// a running-info request without jstack).
fn from_broker_request(
    ep: &GrpcEndpoint,
    request: RemotingCommand,
    pending: &mut HashMap<String, Pending>,
    next_nonce: &mut u64,
) -> Option<TelemetryCommand> {
    let mut nonce = || {
        *next_nonce += 1;
        format!("{:08x}{:08x}", request.opaque, *next_nonce)
    };
    let command = match RequestCode::from(request.code) {
        RequestCode::CheckTransactionState => {
            Command::RecoverOrphanedTransactionCommand(recover_command(ep, &request)?)
        }
        RequestCode::GetConsumerRunningInfo => {
            let jstack = request
                .ext_fields
                .get("jstackEnable")
                .is_some_and(|v| v == "true");
            if !jstack || pending.len() >= MAX_PENDING_ANSWERS {
                return None;
            }
            let nonce = nonce();
            pending.insert(
                nonce.clone(),
                Pending {
                    opaque: request.opaque,
                },
            );
            Command::PrintThreadStackTraceCommand(PrintThreadStackTraceCommand { nonce })
        }
        RequestCode::ConsumeMessageDirectly => {
            if pending.len() >= MAX_PENDING_ANSWERS {
                return None;
            }
            let stored = StoredMessage::decode(&request.body).ok()?;
            let nonce = nonce();
            pending.insert(
                nonce.clone(),
                Pending {
                    opaque: request.opaque,
                },
            );
            Command::VerifyMessageCommand(VerifyMessageCommand {
                nonce,
                message: Some(proto_message(&stored)),
            })
        }
        _ => return None,
    };
    Some(TelemetryCommand {
        status: None,
        command: Some(command),
    })
}

/// CHECK_TRANSACTION_STATE: remember the half message for the client's EndTransaction and ask the client
/// (`GrpcClientChannel.processCheckTransaction`).
fn recover_command(
    ep: &GrpcEndpoint,
    request: &RemotingCommand,
) -> Option<RecoverOrphanedTransactionCommand> {
    let header = CheckTransactionStateRequestHeader::decode(&request.ext_fields).ok()?;
    let stored = StoredMessage::decode(&request.body).ok()?;
    let message = proto_message(&stored);
    let transaction_id = header
        .transaction_id
        .clone()
        .or_else(|| prop::get(&stored.properties, prop::UNIQ_KEY).map(str::to_string))?;
    let group = prop::get(&stored.properties, prop::PRODUCER_GROUP)
        .unwrap_or(&stored.topic)
        .to_string();
    let real_topic = header.topic.clone().unwrap_or_else(|| stored.topic.clone());
    ep.transactions.insert(
        &group,
        TransactionData {
            topic: real_topic,
            transaction_id: transaction_id.clone(),
            message_id: header.msg_id.clone().unwrap_or_default(),
            tran_state_table_offset: header.tran_state_table_offset,
            commit_log_offset: header.commit_log_offset,
        },
    );
    Some(RecoverOrphanedTransactionCommand {
        message: Some(message),
        transaction_id,
    })
}
