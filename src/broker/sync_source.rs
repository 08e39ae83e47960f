//! What a slave's `SlaveSynchronize` reads from its master (Java's `AdminBrokerProcessor`): every table
//! as the JSON of the master's own config file. GET_ALL_TOPIC_CONFIG (21) and
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) are answered in `admin.rs` / `group_admin.rs`.

use bytes::Bytes;
use rmq_codec::code::ResponseCode;
use rmq_codec::fastjson;

use super::{ok, reply_error, Broker, Reply};

/// A SUCCESS carrying `content`, or Java's SYSTEM_ERROR `remark` when the encoded table is empty.
fn content_reply(content: String, remark: &str) -> Reply {
    if content.is_empty() {
        return Err(reply_error(ResponseCode::SystemError, remark));
    }
    let mut resp = ok();
    resp.body = Bytes::from(content);
    Ok(resp)
}

impl Broker {
    /// GET_ALL_CONSUMER_OFFSET (43): `ConsumerOffsetManager.encode()`, the `consumerOffset.json` text.
    pub(super) fn all_consumer_offsets(&self) -> Reply {
        let content = fastjson::to_string(&self.offsets.master_copy_value());
        content_reply(content, "No consumer offset in this broker")
    }

    /// GET_ALL_DELAY_OFFSET (45): `ScheduleMessageService.encode()`, the `delayOffset.json` text.
    pub(super) fn all_delay_offsets(&self) -> Reply {
        let content = fastjson::to_string(&self.schedule.delay_offsets_value());
        content_reply(content, "No delay offset in this broker")
    }

    /// GET_ALL_MESSAGE_REQUEST_MODE (402, 5.x): `MessageRequestModeManager.encode()`.
    pub(super) fn all_message_request_modes(&self) -> Reply {
        let content = self.pop.request_modes().encode();
        content_reply(content, "No message request mode in this broker")
    }

    /// GET_TIMER_CHECK_POINT (60) and GET_TIMER_METRICS (61), which a 5.x slave asks with
    /// `timerWheelEnable`: rmqd's timer messages are not kept in Java's timer log, so it answers what a
    /// Java 5.3.3 broker without a timer store answers; the slave logs it and syncs the rest.
    pub(super) fn timer_check_point(&self) -> Reply {
        Err(reply_error(
            ResponseCode::SystemError,
            "The checkpoint is null",
        ))
    }

    pub(super) fn timer_metrics(&self) -> Reply {
        Err(reply_error(
            ResponseCode::SystemError,
            "The timer message store is null",
        ))
    }
}

#[cfg(test)]
mod tests {
    use rmq_codec::command::RemotingCommand;
    use rmq_codec::fastjson::Value;

    use super::super::test_support::TempBroker;
    use super::*;

    fn body_of(reply: Reply) -> Value {
        let resp = reply.expect("SUCCESS");
        assert_eq!(resp.code, i32::from(ResponseCode::Success));
        fastjson::parse_slice(&resp.body).expect("JSON body")
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_object()
            .expect("object")
            .iter()
            .map(|(k, _)| k.as_str().expect("string key").to_string())
            .collect()
    }

    /// 5.3.3 `ConsumerOffsetManager` as fastjson writes it: dataVersion, groupTopicMap, offsetTable (the
    /// 4.9.7 slave's `ConsumerOffsetSerializeWrapper` reads offsetTable and skips the rest), queue ids
    /// as unquoted int keys.
    #[test]
    fn consumer_offsets_are_the_consumer_offset_manager_json() {
        let t = TempBroker::open();
        t.broker.offsets.commit("T", "G", 3, 42);
        let resp = t.broker.all_consumer_offsets().unwrap();
        let text = String::from_utf8(resp.body.to_vec()).unwrap();
        assert!(text.contains(r#""offsetTable":{"T@G":{3:42}}"#), "{text}");
        let body = body_of(Ok(resp));
        assert_eq!(keys(&body), ["dataVersion", "groupTopicMap", "offsetTable"]);
        assert_eq!(
            keys(body.get("dataVersion").expect("dataVersion")),
            ["counter", "stateVersion", "timestamp"]
        );
    }

    /// `ScheduleMessageService.encode()` with no level delivered yet is still `{"offsetTable":{}}`:
    /// non-empty, so SUCCESS.
    #[test]
    fn delay_offsets_are_the_schedule_service_json() {
        let t = TempBroker::open();
        let body = body_of(t.broker.all_delay_offsets());
        assert!(keys(&body).contains(&"offsetTable".to_string()));
        assert!(body.get("offsetTable").and_then(Value::as_object).is_some());
    }

    /// `MessageRequestModeManager`: messageRequestModeMap → topic → group → the request body's fields
    /// in fastjson's order.
    #[test]
    fn request_modes_are_the_manager_json() {
        let t = TempBroker::open();
        let mut req = RemotingCommand::new_request(
            rmq_codec::code::RequestCode::SetMessageRequestMode,
            Default::default(),
        );
        req.body = Bytes::from_static(
            br#"{"topic":"T","consumerGroup":"G","mode":"POP","popShareQueueNum":2}"#,
        );
        t.broker.update_message_request_mode(&req).unwrap();
        let resp = t.broker.all_message_request_modes().unwrap();
        assert_eq!(
            std::str::from_utf8(&resp.body).unwrap(),
            r#"{"messageRequestModeMap":{"T":{"G":{"consumerGroup":"G","mode":"POP","popShareQueueNum":2,"topic":"T"}}}}"#
        );
    }

    #[test]
    fn timer_codes_answer_as_a_broker_without_a_timer_store() {
        let t = TempBroker::open();
        let e = t.broker.timer_check_point().unwrap_err();
        assert_eq!(e.response_code(), ResponseCode::SystemError);
        assert_eq!(e.to_string(), "The checkpoint is null");
    }
}
