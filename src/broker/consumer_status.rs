//! INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, `DefaultMQAdminExt.getConsumeStatus`): the broker asks each
//! member of a group (or the one whose client id the admin names) with GET_CONSUMER_STATUS_FROM_CLIENT
//! (221) for its offsets of a topic and answers them by client id (Java's `Broker2Client.getConsumeStatus`).
//! The calls run in a spawned task, so the admin connection's reader is not held.

use std::time::Duration;

use bytes::Bytes;
use rmq_codec::body::{client_queue_table, encode_broker_consumer_status};
use rmq_codec::code::mq_version::V3_0_7_SNAPSHOT;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::fastjson::Value;
use rmq_codec::header::{CommandHeader, GetConsumerStatusRequestHeader};

use super::{ok, reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::{Answer, Connection, Outbound};

/// Java's `Broker2Client.getConsumeStatus` waits 5 s for each client.
const CLIENT_STATUS_TIMEOUT: Duration = Duration::from_secs(5);

impl Broker {
    /// SYSTEM_ERROR when the group has no member online ("No Any Consumer online in the consumer group:
    /// [group]") or a member is older than V3_0_7_SNAPSHOT. A member that fails or times out is left out
    /// of the answer, as in Java.
    pub(super) fn consumer_status(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
    ) -> Result<Answer, ServiceError> {
        let h = GetConsumerStatusRequestHeader::decode(&req.ext_fields)?;
        let wanted = h.client_addr.as_deref().filter(|c| !c.trim().is_empty());
        let members = self.status_targets(&h.group, wanted)?;
        let mut ext = ExtFields::new();
        GetConsumerStatusRequestHeader {
            topic: h.topic,
            group: h.group,
            client_addr: None,
        }
        .encode(&mut ext);
        let responder = conn.responder(req);
        tokio::spawn(async move {
            let mut tables: Vec<(String, Value)> = Vec::new();
            for (client_id, member) in members {
                let ask = RemotingCommand::new_request(
                    RequestCode::GetConsumerStatusFromClient,
                    ext.clone(),
                );
                let outcome = tokio::select! {
                    outcome = member.call(ask, CLIENT_STATUS_TIMEOUT) => outcome,
                    _ = responder.closed() => return,
                };
                match outcome {
                    Ok(resp) if resp.code == i32::from(ResponseCode::Success) => {
                        match client_queue_table(&resp.body) {
                            Ok(Some(table)) => tables.push((client_id, table)),
                            Ok(None) => {}
                            Err(e) => {
                                tracing::warn!(client_id, error = %e, "bad consumer status body")
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(client_id, error = %e, "GET_CONSUMER_STATUS_FROM_CLIENT failed")
                    }
                }
            }
            let mut resp = ok();
            resp.body = Bytes::from(encode_broker_consumer_status(tables));
            responder.answer(Outbound::Command(resp));
        });
        Ok(Answer::Later)
    }

    /// The group's members to ask, in connection order: all, or the first whose client id is `wanted`.
    fn status_targets(
        &self,
        group: &str,
        wanted: Option<&str>,
    ) -> Result<Vec<(String, Connection)>, ServiceError> {
        let clients = self.clients.lock();
        let channels = clients
            .consumers
            .get(group)
            .map(|g| &g.channels)
            .filter(|channels| !channels.is_empty())
            .ok_or_else(|| {
                reply_error(
                    ResponseCode::SystemError,
                    format!("No Any Consumer online in the consumer group: [{group}]"),
                )
            })?;
        let mut targets = Vec::new();
        for channel in channels.values() {
            if channel.version < V3_0_7_SNAPSHOT {
                return Err(reply_error(
                    ResponseCode::SystemError,
                    format!(
                        "the client does not support this feature. version={}",
                        rmq_codec::code::mq_version::desc(channel.version).unwrap_or_default()
                    ),
                ));
            }
            if wanted.is_none_or(|id| id == channel.client_id) {
                targets.push((channel.client_id.clone(), channel.conn.clone()));
                if wanted.is_some() {
                    break;
                }
            }
        }
        Ok(targets)
    }
}
