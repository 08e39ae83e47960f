use super::*;
use prost_types::{Duration, Timestamp};
use rmq_proto::v2::{Resource, SystemProperties};

fn message(sys: SystemProperties) -> Message {
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: "T".into(),
        }),
        user_properties: [("color".to_string(), "red".to_string())].into(),
        system_properties: Some(sys),
        body: b"hello".to_vec(),
    }
}

fn normal() -> SystemProperties {
    SystemProperties {
        tag: Some("TagA".into()),
        keys: vec!["k1".into(), "k2".into()],
        message_id: "01AABBCC".into(),
        message_type: MessageType::Normal as i32,
        born_timestamp: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5_000_000,
        }),
        ..Default::default()
    }
}

fn convert(sys: SystemProperties) -> GrpcResult<RemotingMessage> {
    to_remoting(
        &message(sys),
        "T",
        "10.0.0.1:5000",
        1_700_000_000_000,
        &MessageLimits::default(),
    )
}

#[test]
fn a_normal_message_carries_the_properties_the_proxy_sets() {
    let m = convert(normal()).unwrap();
    assert_eq!(m.property("color"), Some("red"));
    assert_eq!(m.property(prop::TAGS), Some("TagA"));
    assert_eq!(m.property(prop::KEYS), Some("k1 k2"));
    assert_eq!(m.property(prop::UNIQ_KEY), Some("01AABBCC"));
    assert_eq!(m.property(prop::RECONSUME_TIME), Some("0"));
    assert_eq!(m.property(prop::PRODUCER_GROUP), Some("T"));
    assert_eq!(m.property(prop::BORN_HOST), Some("10.0.0.1:5000"));
    assert_eq!(m.property(prop::BORN_TIMESTAMP), Some("1700000000005"));
    assert_eq!(m.sys_flag, 0);
    assert_eq!(message_type_of(&m), MessageType::Normal);
    assert_eq!(m.body, b"hello");
}

#[test]
fn fifo_delay_and_transaction_messages_get_their_properties() {
    let fifo = convert(SystemProperties {
        message_group: Some("g1".into()),
        ..normal()
    })
    .unwrap();
    assert_eq!(fifo.property(prop::SHARDING_KEY), Some("g1"));
    assert_eq!(message_type_of(&fifo), MessageType::Fifo);

    let delay = convert(SystemProperties {
        delivery_timestamp: Some(Timestamp {
            seconds: 1_700_000_010,
            nanos: 0,
        }),
        ..normal()
    })
    .unwrap();
    assert_eq!(
        delay.property(prop::TIMER_DELIVER_MS),
        Some("1700000010000")
    );
    assert_eq!(message_type_of(&delay), MessageType::Delay);

    let tx = convert(SystemProperties {
        message_type: MessageType::Transaction as i32,
        orphaned_transaction_recovery_duration: Some(Duration {
            seconds: 30,
            nanos: 0,
        }),
        ..normal()
    })
    .unwrap();
    assert_eq!(tx.property(prop::TRANSACTION_PREPARED), Some("true"));
    assert_eq!(
        tx.property(prop::CHECK_IMMUNITY_TIME_IN_SECONDS),
        Some("30")
    );
    assert_eq!(tx.sys_flag, sys_flag::TRANSACTION_PREPARED);
    assert_eq!(message_type_of(&tx), MessageType::Transaction);
}

#[test]
fn refusals_carry_the_proxys_codes() {
    let code = |sys: SystemProperties| convert(sys).unwrap_err().code;
    assert_eq!(
        code(SystemProperties {
            message_id: " ".into(),
            ..normal()
        }),
        Code::IllegalMessageId
    );
    assert_eq!(
        code(SystemProperties {
            tag: Some("a|b".into()),
            ..normal()
        }),
        Code::IllegalMessageTag
    );
    assert_eq!(
        code(SystemProperties {
            message_group: Some("g".repeat(64)),
            ..normal()
        }),
        Code::IllegalMessageGroup
    );
    assert_eq!(
        code(SystemProperties {
            delivery_timestamp: Some(Timestamp {
                seconds: 1_700_000_000 + 2 * 86_400,
                nanos: 0,
            }),
            ..normal()
        }),
        Code::IllegalDeliveryTime
    );
}

#[test]
fn bodies_and_user_properties_are_bounded() {
    let limits = MessageLimits {
        max_body_bytes: 4,
        ..MessageLimits::default()
    };
    let err = to_remoting(&message(normal()), "T", "", 0, &limits).unwrap_err();
    assert_eq!(err.code, Code::MessageBodyTooLarge);
    assert_eq!(err.message, "message body cannot exceed the max 4");

    let mut empty = message(normal());
    empty.body.clear();
    let err = to_remoting(&empty, "T", "", 0, &MessageLimits::default()).unwrap_err();
    assert_eq!(err.code, Code::MessageBodyEmpty);

    let mut reserved = message(normal());
    reserved
        .user_properties
        .insert("UNIQ_KEY".into(), "x".into());
    let err = to_remoting(&reserved, "T", "", 0, &MessageLimits::default()).unwrap_err();
    assert_eq!(err.code, Code::IllegalMessagePropertyKey);
}

#[test]
fn gzip_bodies_are_flagged_compressed() {
    let m = message(SystemProperties {
        body_encoding: Encoding::Gzip as i32,
        ..normal()
    });
    assert_eq!(sys_flag_of(&m), sys_flag::COMPRESSED);
}
