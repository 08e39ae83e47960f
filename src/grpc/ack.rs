//! AckMessage: one ACK_MESSAGE per entry (Java proxy's `AckMessageActivity.ackMessageOneByOne`, the
//! default with `enableBatchAck` off; `ConsumerProcessor.ackMessage`).

use std::collections::BTreeSet;

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::AckMessageRequestHeader;
use rmq_codec::header::CommandHeader;
use rmq_proto::v2::{self, AckMessageResponse, AckMessageResultEntry, Code};

use super::consumer::{illegal, now_ms, status, validate_group, validate_topic, Caller, Refusal};
use super::receipt::ReceiptHandle;

/// `AbstractProcessor.EXPIRED_HANDLE_PROXY_EXCEPTION`.
pub(super) const EXPIRED: &str = "receipt handle is expired";

/// The ACK_MESSAGE request for one handle: the real topic (pop retry topic for a retried message),
/// the handle as `extraInfo`.
pub fn ack_request(group: &str, topic: &str, handle: &ReceiptHandle) -> RemotingCommand {
    let header = AckMessageRequestHeader {
        consumer_group: group.to_string(),
        topic: handle.real_topic(topic, group),
        queue_id: handle.queue_id,
        extra_info: handle.to_string(),
        offset: handle.offset,
    };
    RemotingCommand::new_request(RequestCode::AckMessage, header.to_ext_fields())
}

/// A handle the client sent, parsed and not expired (`AbstractProcessor.validateReceiptHandle`).
pub(super) fn live_handle(s: &str) -> Result<ReceiptHandle, Refusal> {
    let handle =
        ReceiptHandle::parse(s).map_err(|e| illegal(Code::InvalidReceiptHandle, e.to_string()))?;
    if handle.is_expired(now_ms()) {
        return Err(illegal(Code::InvalidReceiptHandle, EXPIRED));
    }
    Ok(handle)
}

/// `AckMessageActivity.setAckResponseStatus`: the one code all entries share, or MULTIPLE_RESULTS.
pub fn overall_status(entries: &[AckMessageResultEntry]) -> v2::Status {
    let codes: BTreeSet<i32> = entries
        .iter()
        .map(|e| e.status.as_ref().map_or(0, |s| s.code))
        .collect();
    let mut it = codes.iter();
    match (it.next(), it.next()) {
        (None, _) => status(Code::InternalServerError, "ack message result is empty"),
        (Some(code), None) => {
            let code = Code::try_from(*code).unwrap_or(Code::InternalServerError);
            status(code, super::consumer::code_name(code))
        }
        (Some(_), Some(_)) => status(Code::MultipleResults, "MULTIPLE_RESULTS"),
    }
}

async fn ack_entry(
    caller: &Caller<'_>,
    group: &str,
    topic: &str,
    entry: &v2::AckMessageEntry,
) -> v2::Status {
    let handle = match live_handle(&entry.receipt_handle) {
        Ok(h) => h,
        Err(refusal) => return refusal.status(),
    };
    match caller.call(ack_request(group, topic, &handle)).await {
        Ok(resp) if resp.cmd.code == 0 => status(Code::Ok, "OK"),
        Ok(_) => status(Code::InternalServerError, "ack failed: status is abnormal"),
        Err(refusal) => refusal.status(),
    }
}

/// AckMessage: every entry acked on its own, each with its status.
pub async fn ack_message(caller: &Caller<'_>, req: v2::AckMessageRequest) -> AckMessageResponse {
    let checked = validate_topic(caller.broker, req.topic.as_ref())
        .and_then(|topic| Ok((topic, validate_group(req.group.as_ref())?)));
    let (topic, group) = match checked {
        Ok(names) => names,
        Err(refusal) => {
            return AckMessageResponse {
                status: Some(refusal.status()),
                entries: Vec::new(),
            }
        }
    };
    let mut entries = Vec::with_capacity(req.entries.len());
    for entry in &req.entries {
        entries.push(AckMessageResultEntry {
            message_id: entry.message_id.clone(),
            receipt_handle: entry.receipt_handle.clone(),
            status: Some(ack_entry(caller, &group, &topic, entry).await),
        });
    }
    AckMessageResponse {
        status: Some(overall_status(&entries)),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: Code) -> AckMessageResultEntry {
        AckMessageResultEntry {
            message_id: "m".into(),
            receipt_handle: "h".into(),
            status: Some(status(code, "x")),
        }
    }

    #[test]
    fn ack_request_names_the_retry_topic_for_retried_messages() {
        let h = ReceiptHandle::parse("3 1000 60000 1 1 b 0 5 99").expect("handle");
        let cmd = ack_request("G", "T", &h);
        assert_eq!(cmd.code, i32::from(RequestCode::AckMessage));
        let header = AckMessageRequestHeader::decode(&cmd.ext_fields).expect("header");
        assert_eq!(header.topic, "%RETRY%G_T");
        assert_eq!((header.queue_id, header.offset), (0, 5));
        assert_eq!(header.extra_info, "3 1000 60000 1 1 b 0 5 99");
    }

    #[test]
    fn overall_status_is_the_shared_code_or_multiple_results() {
        assert_eq!(overall_status(&[]).code, Code::InternalServerError as i32);
        let one = overall_status(&[entry(Code::Ok), entry(Code::Ok)]);
        assert_eq!((one.code, one.message.as_str()), (Code::Ok as i32, "OK"));
        let mixed = overall_status(&[entry(Code::Ok), entry(Code::InvalidReceiptHandle)]);
        assert_eq!(mixed.code, Code::MultipleResults as i32);
    }

    #[test]
    fn expired_and_garbled_handles_are_invalid() {
        let expired = live_handle("0 1000 1 0 0 b 0 0 0").unwrap_err();
        assert_eq!(
            (expired.code, expired.message.as_str()),
            (Code::InvalidReceiptHandle, EXPIRED)
        );
        assert_eq!(
            live_handle("nonsense").unwrap_err().code,
            Code::InvalidReceiptHandle
        );
        let future = format!("0 {} 60000 0 0 b 0 0 0", now_ms());
        assert!(live_handle(&future).is_ok());
    }
}
