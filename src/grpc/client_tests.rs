use super::*;
use rmq_proto::v2::{FilterExpression, Publishing, Resource, Subscription};

fn ctx() -> ClientContext {
    ClientContext {
        client_id: "c1".into(),
        language: rmq_codec::code::LanguageCode::Java,
        client_version: String::new(),
        namespace: String::new(),
        peer: std::net::SocketAddr::from(([127, 0, 0, 1], 5000)),
    }
}

fn resource(name: &str) -> Resource {
    Resource {
        resource_namespace: String::new(),
        name: name.into(),
    }
}

#[test]
fn a_producer_registers_each_topic_as_its_group() {
    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(PubSub::Publishing(Publishing {
            topics: vec![resource("T1"), resource("T2")],
            ..Default::default()
        })),
        ..Default::default()
    };
    let cmd = heartbeat_command(&ctx(), &settings, "", 1).unwrap();
    assert_eq!(cmd.code, i32::from(RequestCode::HeartBeat));
    let data = HeartbeatData::decode(&cmd.body).unwrap();
    assert_eq!(data.client_id, "c1");
    let groups: Vec<_> = data
        .producer_data_set
        .iter()
        .map(|p| p.group_name.as_str())
        .collect();
    assert_eq!(groups, ["T1", "T2"]);
    assert!(data.consumer_data_set.is_empty());
}

#[test]
fn a_simple_consumer_registers_its_group_and_subscriptions() {
    let settings = Settings {
        client_type: Some(ClientType::SimpleConsumer as i32),
        pub_sub: Some(PubSub::Subscription(Subscription {
            group: Some(resource("G")),
            subscriptions: vec![SubscriptionEntry {
                topic: Some(resource("T")),
                expression: Some(FilterExpression {
                    r#type: FilterType::Tag as i32,
                    expression: "a || b".into(),
                }),
            }],
            ..Default::default()
        })),
        ..Default::default()
    };
    let cmd = heartbeat_command(&ctx(), &settings, "G", 7).unwrap();
    let data = HeartbeatData::decode(&cmd.body).unwrap();
    let consumer = &data.consumer_data_set[0];
    assert_eq!(consumer.group_name, "G");
    assert_eq!(consumer.consume_type, "CONSUME_ACTIVELY");
    assert_eq!(consumer.message_model, "CLUSTERING");
    assert_eq!(consumer.consume_from_where, "CONSUME_FROM_LAST_OFFSET");
    let sub = &consumer.subscription_data_set[0];
    assert_eq!(
        (sub.topic.as_str(), sub.sub_string.as_str()),
        ("T", "a || b")
    );
    assert_eq!(sub.expression_type, "TAG");
}

#[test]
fn system_and_malformed_groups_are_refused() {
    assert!(check_group("G_1-a%").is_ok());
    assert_eq!(
        check_group("").unwrap_err().code,
        Code::IllegalConsumerGroup
    );
    assert_eq!(
        check_group("a b").unwrap_err().code,
        Code::IllegalConsumerGroup
    );
    let sys = check_group("CID_RMQ_SYS_X").unwrap_err();
    assert_eq!(sys.message, "cannot use system consumer group");
}

#[test]
fn topic_rules_are_javas_with_this_brokers_system_topics() {
    let temp = crate::broker::test_support::TempBroker::open();
    let broker = &temp.broker;
    assert!(check_topic(broker, "T-1_a%b").is_ok());
    let blank = check_topic(broker, "").unwrap_err();
    assert_eq!(
        (blank.code, blank.message.as_str()),
        (Code::IllegalTopic, "The specified topic is blank.")
    );
    for bad in ["a b", "t.x", &"x".repeat(128)] {
        assert_eq!(
            check_topic(broker, bad).unwrap_err().code,
            Code::IllegalTopic,
            "{bad:?}"
        );
    }
    // The fixed set, the rmq_sys_ prefix, and the names the broker adds (its cluster name).
    let cluster = broker.config.broker_cluster_name.clone();
    for system in [
        "SCHEDULE_TOPIC_XXXX",
        "rmq_sys_wheel_timer",
        cluster.as_str(),
    ] {
        let refused = check_topic(broker, system).unwrap_err();
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (Code::IllegalTopic, "cannot access system topic"),
            "{system}"
        );
    }
}
