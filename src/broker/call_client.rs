//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309): admin requests the broker relays
//! to one consumer's connection and whose answer it relays back (`AdminBrokerProcessor.callConsumer`).
//! The wait runs in a spawned task, so the admin connection's reader is not held.

use std::time::Duration;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, ConsumeMessageDirectlyRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use rmq_codec::message::decode_offset_msg_id;

use super::{reply_error, Broker};
use crate::error::ServiceError;
use crate::remoting::connection::CallError;
use crate::remoting::{Answer, Connection, Outbound};

/// Java's `Broker2Client.callClient` waits 10 s.
const CALL_CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

impl Broker {
    /// GET_CONSUMER_RUNNING_INFO (307): answered later on `conn` with the client's response.
    pub(super) fn consumer_running_info(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
    ) -> Result<Answer, ServiceError> {
        let h = GetConsumerRunningInfoRequestHeader::decode(&req.ext_fields)?;
        self.call_consumer(conn, req, req.clone(), &h.consumer_group, &h.client_id)
    }

    /// CONSUME_MESSAGE_DIRECTLY (309): the broker adds its name and the record `msgId` points at.
    pub(super) fn consume_message_directly(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
    ) -> Result<Answer, ServiceError> {
        let h = ConsumeMessageDirectlyRequestHeader::decode(&req.ext_fields)?;
        let mut forward = req.clone();
        forward
            .ext_fields
            .insert("brokerName".into(), self.config.broker_name.clone());
        if let Some(msg_id) = h.msg_id.as_deref() {
            let (_, offset) = decode_offset_msg_id(msg_id)?;
            let record = self.store.message_at(offset).ok_or_else(|| {
                reply_error(
                    ResponseCode::SystemError,
                    format!("can not find message by the offset, {offset}"),
                )
            })?;
            forward.body = record;
        }
        let client_id = h.client_id.unwrap_or_default();
        self.call_consumer(conn, req, forward, &h.consumer_group, &client_id)
    }

    /// Relays `forward` (a copy of `req`, amended) to the consumer and answers `req` with its response.
    fn call_consumer(
        &self,
        conn: &Connection,
        req: &RemotingCommand,
        forward: RemotingCommand,
        group: &str,
        client_id: &str,
    ) -> Result<Answer, ServiceError> {
        let target = self.clients.lock().consumers.get(group).and_then(|g| {
            g.channels
                .values()
                .find(|c| c.client_id == client_id)
                .map(|c| c.conn.clone())
        });
        let Some(target) = target else {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!("The Consumer <{group}> <{client_id}> not online"),
            ));
        };
        let responder = conn.responder(req);
        let body = forward.body;
        let mut forward =
            RemotingCommand::new_request(RequestCode::from(req.code), forward.ext_fields);
        forward.body = body;
        let (group, client_id) = (group.to_string(), client_id.to_string());
        tokio::spawn(async move {
            // The admin gone, the consumer's answer has nowhere to go: stop waiting for it.
            let outcome = tokio::select! {
                outcome = target.call(forward, CALL_CLIENT_TIMEOUT) => outcome,
                _ = responder.closed() => return,
            };
            let resp = match outcome {
                Ok(resp) => resp,
                Err(e @ CallError::Timeout(..)) => reply_error(
                    ResponseCode::ConsumeMsgTimeout,
                    format!("consumer <{group}> <{client_id}> Timeout: {e}"),
                )
                .into_response(),
                Err(e) => reply_error(
                    ResponseCode::SystemError,
                    format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
                )
                .into_response(),
            };
            responder.answer(Outbound::Command(resp));
        });
        Ok(Answer::Later)
    }
}
