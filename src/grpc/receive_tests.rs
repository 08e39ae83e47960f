use bytes::Bytes;
use rmq_codec::message::StoredMessage;

use super::*;
use crate::grpc::receipt::ReceiptHandle;

fn secs(s: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: s,
        nanos: 0,
    }
}

#[test]
fn polling_time_is_kept_between_5_and_20_seconds() {
    let v = "5.2.0";
    assert_eq!(polling_time_ms(Some(&secs(30)), None, v), Ok(20_000));
    assert_eq!(polling_time_ms(Some(&secs(1)), None, v), Ok(5_000));
    assert_eq!(
        polling_time_ms(Some(&secs(10)), Some(60_000), v),
        Ok(10_000)
    );
    // No timeout from the client: the deadline less half the request timeout.
    assert_eq!(polling_time_ms(None, Some(11_500), v), Ok(10_000));
    assert_eq!(polling_time_ms(None, None, v), Ok(20_000));
}

#[test]
fn polling_time_never_outlasts_the_deadline() {
    let v = "5.2.0";
    assert_eq!(polling_time_ms(Some(&secs(20)), Some(8_000), v), Ok(8_000));
    let refused = polling_time_ms(Some(&secs(20)), Some(4_000), v).unwrap_err();
    assert_eq!(refused.code, Code::IllegalPollingTime);
    let old_client = polling_time_ms(Some(&secs(20)), Some(4_000), "5.0.2").unwrap_err();
    assert_eq!(old_client.code, Code::BadRequest);
}

#[test]
fn invisible_time_rules() {
    let mut req = v2::ReceiveMessageRequest {
        invisible_duration: Some(secs(30)),
        ..Default::default()
    };
    assert_eq!(invisible_time_ms(&req), Ok(30_000));
    req.invisible_duration = Some(secs(5));
    assert_eq!(
        invisible_time_ms(&req).unwrap_err().code,
        Code::IllegalInvisibleTime
    );
    req.invisible_duration = Some(secs(13 * 3600));
    assert_eq!(
        invisible_time_ms(&req).unwrap_err().code,
        Code::IllegalInvisibleTime
    );
    req.invisible_duration = None;
    req.auto_renew = true;
    assert_eq!(invisible_time_ms(&req), Ok(60_000));
}

#[test]
fn filter_expressions_become_tag_or_sql_subscriptions() {
    let tag = |e: &str| v2::FilterExpression {
        r#type: v2::FilterType::Tag as i32,
        expression: e.into(),
    };
    let sub = subscription_of("T", Some(&tag("a || b"))).expect("tags");
    assert_eq!(sub.tags, ["a", "b"]);
    assert_eq!(sub.expression_type, "TAG");
    let all = subscription_of("T", None).expect("no filter");
    assert_eq!(all.sub_string, "*");
    assert!(all.tags.is_empty());
    let sql = v2::FilterExpression {
        r#type: v2::FilterType::Sql as i32,
        expression: "a > 1".into(),
    };
    let sub = subscription_of("T", Some(&sql)).expect("sql");
    assert_eq!(
        (sub.expression_type.as_str(), sub.sub_string.as_str()),
        ("SQL92", "a > 1")
    );
    let empty_sql = v2::FilterExpression {
        expression: String::new(),
        ..sql
    };
    assert_eq!(
        subscription_of("T", Some(&empty_sql)).unwrap_err().code,
        Code::IllegalFilterExpression
    );
}

#[test]
fn pop_request_is_the_one_javas_proxy_builds() {
    let sub = subscription_of("T", None).expect("sub");
    let plan = PopPlan {
        group: "G",
        topic: "T",
        batch_size: 64,
        invisible_ms: 30_000,
        poll_ms: 20_000,
        sub: &sub,
        fifo: false,
        attempt_id: Some("A1"),
    };
    let cmd = plan.request(123);
    assert_eq!(cmd.code, i32::from(RequestCode::PopMessage));
    let h = PopMessageRequestHeader::decode(&cmd.ext_fields).expect("header");
    assert_eq!(h.queue_id, -1);
    assert_eq!(h.max_msg_nums, 32);
    assert_eq!(
        (h.invisible_time, h.poll_time, h.born_time),
        (30_000, 20_000, 123)
    );
    assert_eq!(h.init_mode, 1);
    assert_eq!(h.exp_type.as_deref(), Some("TAG"));
    assert_eq!(h.exp.as_deref(), Some("*"));
    assert_eq!(h.order, Some(false));
    assert_eq!(h.attempt_id.as_deref(), Some("A1"));
}

fn popped_with(tag: Option<&str>, reconsume_times: i32) -> PoppedMessage {
    let mut properties = std::collections::HashMap::new();
    if let Some(t) = tag {
        properties.insert("TAGS".to_string(), t.to_string());
    }
    PoppedMessage {
        record: StoredMessage {
            reconsume_times,
            body: Bytes::new(),
            ..StoredMessage::default()
        },
        properties,
        handle: ReceiptHandle::parse("0 0 0 0 0 b 0 0 0").expect("handle"),
    }
}

#[test]
fn verdicts_follow_pop_message_result_filter() {
    let tags = subscription_of(
        "T",
        Some(&v2::FilterExpression {
            r#type: v2::FilterType::Tag as i32,
            expression: "a".into(),
        }),
    )
    .expect("sub");
    assert_eq!(
        verdict(&popped_with(Some("a"), 0), &tags, 17),
        Verdict::Deliver
    );
    assert_eq!(
        verdict(&popped_with(Some("b"), 0), &tags, 17),
        Verdict::NoMatch
    );
    assert_eq!(verdict(&popped_with(None, 0), &tags, 17), Verdict::NoMatch);
    let all = subscription_of("T", None).expect("sub");
    assert_eq!(verdict(&popped_with(None, 16), &all, 17), Verdict::Deliver);
    assert_eq!(verdict(&popped_with(None, 17), &all, 17), Verdict::ToDlq);
}

#[test]
fn stream_is_status_messages_then_delivery_time() {
    let items = stream(status(Code::Ok, "OK"), vec![v2::Message::default()], 1_000);
    assert!(matches!(items[0].content, Some(Content::Status(_))));
    assert!(matches!(items[1].content, Some(Content::Message(_))));
    assert!(matches!(
        items[2].content,
        Some(Content::DeliveryTimestamp(prost_types::Timestamp {
            seconds: 1,
            nanos: 0
        }))
    ));
    assert_eq!(items.len(), 3);
}

#[test]
fn grpc_timeout_header_units() {
    assert_eq!(deadline_ms(Some("30S")), Some(30_000));
    assert_eq!(deadline_ms(Some("1500m")), Some(1_500));
    assert_eq!(deadline_ms(Some("2M")), Some(120_000));
    assert_eq!(deadline_ms(Some("1H")), Some(3_600_000));
    assert_eq!(deadline_ms(Some("2000000u")), Some(2_000));
    assert_eq!(deadline_ms(Some("5000000000n")), None);
    assert_eq!(deadline_ms(Some("S")), None);
    assert_eq!(deadline_ms(Some("")), None);
    assert_eq!(deadline_ms(Some("12x")), None);
    assert_eq!(deadline_ms(None), None);
}
