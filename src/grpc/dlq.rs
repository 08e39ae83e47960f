//! ForwardMessageToDeadLetterQueue: CONSUMER_SEND_MSG_BACK with delay level -1 (straight to
//! `%DLQ%<group>`), then an ack of the handle (Java proxy's `ForwardMessageToDLQActivity` and
//! `ProducerProcessor.forwardMessageToDeadLetterQueue`).

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, ConsumerSendMsgBackRequestHeader};
use rmq_proto::v2::{self, Code, ForwardMessageToDeadLetterQueueResponse};

use super::ack::ack_request;
use super::consumer::{illegal, validate_group, validate_topic, Caller, Refusal};
use super::receipt::ReceiptHandle;
use super::status::GrpcError;

/// The send-back request: the message by its commit-log offset, DLQ at once.
pub fn send_back_request(
    group: &str,
    topic: &str,
    handle: &ReceiptHandle,
    message_id: &str,
) -> RemotingCommand {
    let header = ConsumerSendMsgBackRequestHeader {
        offset: handle.commit_log_offset,
        group: group.to_string(),
        delay_level: -1,
        origin_msg_id: Some(message_id.to_string()),
        origin_topic: Some(handle.real_topic(topic, group)),
        unit_mode: false,
        max_reconsume_times: Some(0),
    };
    RemotingCommand::new_request(RequestCode::ConsumerSendMsgBack, header.to_ext_fields())
}

/// `ResponseBuilder.buildStatus(int, String)`: the broker's code as a gRPC code, the remark (or the
/// number) as the message.
fn remoting_status(code: i32, remark: Option<&str>) -> v2::Status {
    GrpcError::from_remoting(code, remark).status()
}

async fn forward(
    caller: &Caller<'_>,
    req: &v2::ForwardMessageToDeadLetterQueueRequest,
) -> Result<v2::Status, Refusal> {
    let topic = validate_topic(caller.broker, req.topic.as_ref())?;
    let group = validate_group(req.group.as_ref())?;
    // Java decodes the handle but does not check its expiry here.
    let handle = ReceiptHandle::parse(&req.receipt_handle)
        .map_err(|e| illegal(Code::InvalidReceiptHandle, e.to_string()))?;
    if handle.commit_log_offset < 0 {
        return Err(illegal(
            Code::InvalidReceiptHandle,
            "commit log offset is empty",
        ));
    }
    let resp = caller
        .call(send_back_request(&group, &topic, &handle, &req.message_id))
        .await?;
    if resp.cmd.code == 0 {
        if let Err(e) = caller.call(ack_request(&group, &topic, &handle)).await {
            tracing::warn!(group, topic, error = %e.message, "ack after forwarding to the DLQ failed");
        }
    }
    Ok(remoting_status(resp.cmd.code, resp.cmd.remark.as_deref()))
}

/// ForwardMessageToDeadLetterQueue: the send-back's outcome as the status.
pub async fn forward_message_to_dead_letter_queue(
    caller: &Caller<'_>,
    req: v2::ForwardMessageToDeadLetterQueueRequest,
) -> ForwardMessageToDeadLetterQueueResponse {
    let status = forward(caller, &req)
        .await
        .unwrap_or_else(|refusal| refusal.status());
    ForwardMessageToDeadLetterQueueResponse {
        status: Some(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_back_goes_straight_to_the_dlq_by_commit_log_offset() {
        let h = ReceiptHandle::parse("3 1000 60000 1 1 b 0 5 4242").expect("handle");
        let cmd = send_back_request("G", "T", &h, "MID");
        assert_eq!(cmd.code, i32::from(RequestCode::ConsumerSendMsgBack));
        let header = ConsumerSendMsgBackRequestHeader::decode(&cmd.ext_fields).expect("header");
        assert_eq!(header.offset, 4242);
        assert_eq!(header.delay_level, -1);
        assert_eq!(header.origin_topic.as_deref(), Some("%RETRY%G_T"));
        assert_eq!(header.origin_msg_id.as_deref(), Some("MID"));
        assert_eq!(header.max_reconsume_times, Some(0));
    }

    #[test]
    fn broker_codes_map_as_the_proxy_maps_them() {
        assert_eq!(remoting_status(0, None).code, Code::Ok as i32);
        let s = remoting_status(26, Some("no group"));
        assert_eq!(
            (s.code, s.message.as_str()),
            (Code::ConsumerGroupNotFound as i32, "no group")
        );
        let s = remoting_status(1, None);
        assert_eq!(
            (s.code, s.message.as_str()),
            (Code::InternalServerError as i32, "1")
        );
    }
}
