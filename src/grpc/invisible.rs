//! ChangeInvisibleDuration: a CHANGE_INVISIBLETIME over the bridge; the answer's pop time, invisible
//! time and revive queue make the new receipt handle (Java proxy's `ChangeInvisibleDurationActivity`,
//! `ConsumerProcessor.changeInvisibleTime`, `LocalMessageService.changeInvisibleTime`).

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::{ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader};
use rmq_codec::header::CommandHeader;
use rmq_proto::v2::{self, ChangeInvisibleDurationResponse, Code};

use super::ack::live_handle;
use super::consumer::{status, validate_group, validate_topic, Caller, Refusal};
use super::receipt::ReceiptHandle;
use super::receive::{check_invisible_time, millis};

/// The CHANGE_INVISIBLETIME request for one handle.
pub fn change_request(
    group: &str,
    topic: &str,
    handle: &ReceiptHandle,
    invisible_ms: i64,
) -> RemotingCommand {
    let header = ChangeInvisibleTimeRequestHeader {
        consumer_group: group.to_string(),
        topic: handle.real_topic(topic, group),
        queue_id: handle.queue_id,
        extra_info: handle.to_string(),
        offset: handle.offset,
        invisible_time: invisible_ms,
    };
    RemotingCommand::new_request(
        RequestCode::ChangeMessageInvisibletime,
        header.to_ext_fields(),
    )
}

async fn change(
    caller: &Caller<'_>,
    req: &v2::ChangeInvisibleDurationRequest,
) -> Result<String, Refusal> {
    let topic = validate_topic(caller.broker, req.topic.as_ref())?;
    let group = validate_group(req.group.as_ref())?;
    let invisible_ms = req.invisible_duration.as_ref().map_or(0, millis);
    check_invisible_time(invisible_ms, 0)?;
    let handle = live_handle(&req.receipt_handle)?;
    let resp = caller
        .call(change_request(&group, &topic, &handle, invisible_ms))
        .await?;
    let renewed = (resp.cmd.code == 0)
        .then(|| ChangeInvisibleTimeResponseHeader::decode(&resp.cmd.ext_fields).ok())
        .flatten();
    match renewed {
        Some(h) => Ok(handle
            .renewed(h.pop_time, h.invisible_time, h.revive_qid)
            .to_string()),
        None => Err(super::consumer::illegal(
            Code::InternalServerError,
            "changeInvisibleDuration failed: status is abnormal",
        )),
    }
}

/// ChangeInvisibleDuration: OK with the new receipt handle, or the refusal.
pub async fn change_invisible_duration(
    caller: &Caller<'_>,
    req: v2::ChangeInvisibleDurationRequest,
) -> ChangeInvisibleDurationResponse {
    match change(caller, &req).await {
        Ok(receipt_handle) => ChangeInvisibleDurationResponse {
            status: Some(status(Code::Ok, "OK")),
            receipt_handle,
        },
        Err(refusal) => ChangeInvisibleDurationResponse {
            status: Some(refusal.status()),
            receipt_handle: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_the_handle_and_the_new_time() {
        let h = ReceiptHandle::parse("3 1000 60000 1 0 b 2 5 99").expect("handle");
        let cmd = change_request("G", "T", &h, 15_000);
        assert_eq!(cmd.code, i32::from(RequestCode::ChangeMessageInvisibletime));
        let header = ChangeInvisibleTimeRequestHeader::decode(&cmd.ext_fields).expect("header");
        assert_eq!(header.topic, "T");
        assert_eq!((header.queue_id, header.offset), (2, 5));
        assert_eq!(header.invisible_time, 15_000);
        assert_eq!(header.extra_info, "3 1000 60000 1 0 b 2 5 99");
    }
}
