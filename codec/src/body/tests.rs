use std::collections::BTreeMap;

use super::*;
use crate::fastjson::parse;

/// What a Java 5.x client sends (fastjson, bean properties sorted).
const JAVA_HEARTBEAT: &str = r#"{"clientID":"10.0.0.5@12345#8123456789","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000123,"tagsSet":["TagA"],"topic":"TopicTest"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

const JAVA_LOCK: &str = r#"{"clientId":"10.0.0.1@123#456","consumerGroup":"cg","mqSet":[{"brokerName":"broker-a","queueId":3,"topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"}],"onlyThisBroker":false}"#;

/// `topics.json` / REGISTER_BROKER shape the broker writes (the `topicConfigSerializeWrapper`).
const REGISTER: &str = r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":12,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}}"#;

const ROUTE_FASTJSON: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"b","cluster":"c","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":8}]}"#;
const ROUTE_STANDARD: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"},"brokerName":"b","cluster":"c","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":8}]}"#;

fn mq(queue_id: i32) -> MessageQueue {
    MessageQueue {
        topic: "T".into(),
        broker_name: "broker-a".into(),
        queue_id,
    }
}

/// Every proper prefix of `bytes` (from `from` bytes on) fails to decode, and none panics.
fn every_prefix_fails<T: std::fmt::Debug, E>(
    bytes: &[u8],
    from: usize,
    decode: fn(&[u8]) -> Result<T, E>,
) {
    for len in from..bytes.len() {
        assert!(
            decode(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}

#[test]
fn heartbeat_from_a_java_client() {
    let hb = HeartbeatData::decode(JAVA_HEARTBEAT.as_bytes()).unwrap();
    assert_eq!(hb.client_id, "10.0.0.5@12345#8123456789");
    let consumer = &hb.consumer_data_set[0];
    assert_eq!(consumer.group_name, "cg1");
    assert_eq!(consumer.message_model, "CLUSTERING");
    assert_eq!(consumer.consume_type, "CONSUME_PASSIVELY");
    assert_eq!(consumer.consume_from_where, "CONSUME_FROM_LAST_OFFSET");
    let sub = &consumer.subscription_data_set[0];
    assert_eq!(sub.topic, "TopicTest");
    assert_eq!(sub.sub_string, "TagA");
    assert_eq!(sub.expression_type, "TAG");
    assert_eq!(sub.code_set, vec![2598919]);
    assert_eq!(sub.tags_set, vec!["TagA"]);
    assert_eq!(sub.sub_version, 1700000000123);
    assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    // Without the 5.x-only fields the encoding is the client's bytes.
    let java_4x = JAVA_HEARTBEAT
        .replace(r#""heartbeatFingerprint":0,"#, "")
        .replace(r#","withoutSub":false"#, "");
    assert_eq!(hb.encode(), java_4x);
    assert_eq!(HeartbeatData::decode(hb.encode().as_bytes()).unwrap(), hb);
    every_prefix_fails(JAVA_HEARTBEAT.as_bytes(), 0, HeartbeatData::decode);
}

/// What Java 4.9.7 and 5.3.3 answered for these bodies (SUCCESS = decoded): fastjson refuses non-objects,
/// and `heartBeat` throws NullPointerException on null beans, sets, elements and group names.
#[test]
fn heartbeat_shapes_java_refuses() {
    let refused = [
        ("null", CodecError::NullField("heartbeatData")),
        ("[]", CodecError::NullField("heartbeatData")),
        ("\"\"", CodecError::NullField("heartbeatData")),
        ("[1,2]", not_a_bean("HeartbeatData", "[")),
        ("7", not_a_bean("HeartbeatData", "int")),
        (
            r#"{"consumerDataSet":null}"#,
            CodecError::NullField("consumerDataSet"),
        ),
        (
            r#"{"consumerDataSet":7}"#,
            not_a_bean("consumerDataSet", "int"),
        ),
        (
            r#"{"consumerDataSet":{}}"#,
            CodecError::NotASet("consumerDataSet"),
        ),
        (
            r#"{"consumerDataSet":[{}]}"#,
            CodecError::NullField("groupName"),
        ),
        (
            r#"{"consumerDataSet":[null]}"#,
            CodecError::NullField("consumerDataSet"),
        ),
        (
            r#"{"producerDataSet":[{}]}"#,
            CodecError::NullField("groupName"),
        ),
        (
            r#"{"consumerDataSet":[{"groupName":"g","subscriptionDataSet":null}]}"#,
            CodecError::NullField("subscriptionDataSet"),
        ),
        (
            r#"{"consumerDataSet":[{"groupName":"g","subscriptionDataSet":[3]}]}"#,
            not_a_bean("subscriptionDataSet", "int"),
        ),
    ];
    for (body, expected) in refused {
        assert_eq!(
            HeartbeatData::decode(body.as_bytes()),
            Err(expected),
            "{body}"
        );
    }
    assert_eq!(
        HeartbeatData::decode(b"\xff{}"),
        Err(CodecError::Utf8("heartbeat body"))
    );
    for body in [
        r#"{"mqSet":7}"#,
        r#"{"subscriptionData":7}"#,
        r#"{"consumerDataSet":[],"producerDataSet":[{"groupName":"p"}]}"#,
    ] {
        assert!(HeartbeatData::decode(body.as_bytes()).is_ok(), "{body}");
    }
    // An integer group name is its decimal text; other non-strings are empty.
    let hb = HeartbeatData::decode(br#"{"producerDataSet":[{"groupName":12},{"groupName":true}]}"#)
        .unwrap();
    let groups: Vec<_> = hb
        .producer_data_set
        .iter()
        .map(|p| p.group_name.as_str())
        .collect();
    assert_eq!(groups, ["12", ""]);
}

fn not_a_bean(bean: &'static str, actual: &'static str) -> CodecError {
    CodecError::NotABean { bean, actual }
}

#[test]
fn lock_body_from_a_java_client() {
    let body = LockBatchRequestBody::decode(JAVA_LOCK.as_bytes()).unwrap();
    assert_eq!(body.consumer_group, "cg");
    assert_eq!(body.client_id, "10.0.0.1@123#456");
    assert!(!body.only_this_broker);
    // mqSet is a Set: sorted as MessageQueue.compareTo, duplicates gone.
    assert_eq!(body.mq_set, vec![mq(1), mq(3)]);
    assert_eq!(
        body.encode(),
        r#"{"clientId":"10.0.0.1@123#456","consumerGroup":"cg","mqSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"},{"brokerName":"broker-a","queueId":3,"topic":"T"}],"onlyThisBroker":false}"#
    );
    assert_eq!(
        UnlockBatchRequestBody::decode(body.encode().as_bytes()).unwrap(),
        body
    );
    every_prefix_fails(JAVA_LOCK.as_bytes(), 0, LockBatchRequestBody::decode);
}

#[test]
fn lock_body_shapes() {
    for (body, missing) in [
        ("null", "consumerGroup"),
        ("[1,2]", "consumerGroup"),
        (r#"{"mqSet":[]}"#, "consumerGroup"),
        (r#"{"consumerGroup":7,"clientId":"c"}"#, "consumerGroup"),
        (r#"{"consumerGroup":"g"}"#, "clientId"),
    ] {
        assert_eq!(
            LockBatchRequestBody::decode(body.as_bytes()),
            Err(CodecError::MissingBodyField(missing)),
            "{body}"
        );
    }
    // A non-array mqSet is empty; elements that are not queues are skipped.
    let body = br#"{"consumerGroup":"g","clientId":"c","mqSet":7}"#;
    assert!(LockBatchRequestBody::decode(body)
        .unwrap()
        .mq_set
        .is_empty());
    let body = br#"{"consumerGroup":"g","clientId":"c","mqSet":[1,{"topic":"T"},{"brokerName":"b","queueId":4294967296,"topic":"T"},{"brokerName":"b","queueId":"2","topic":"T"}]}"#;
    let queues = LockBatchRequestBody::decode(body).unwrap().mq_set;
    assert_eq!(queues.len(), 1);
    assert_eq!(queues[0].queue_id, 2);
    let too_many = format!(
        r#"{{"consumerGroup":"g","clientId":"c","mqSet":[{}0]}}"#,
        "0,".repeat(MAX_MQ_SET_LEN)
    );
    assert_eq!(
        LockBatchRequestBody::decode(too_many.as_bytes()),
        Err(CodecError::TooMany {
            what: "queues",
            count: MAX_MQ_SET_LEN + 1
        })
    );
}

#[test]
fn lock_response_body() {
    let body = LockBatchResponseBody {
        lock_ok_mq_set: vec![mq(1)],
    };
    let text = r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]}"#;
    assert_eq!(body.encode(), text);
    assert_eq!(
        LockBatchResponseBody::decode(text.as_bytes()).unwrap(),
        body
    );
    assert_eq!(
        LockBatchResponseBody::decode(b"{}").unwrap(),
        LockBatchResponseBody::default()
    );
    assert_eq!(
        LockBatchResponseBody::decode(b"null"),
        Err(CodecError::NullField("lockBatchResponseBody"))
    );
    every_prefix_fails(text.as_bytes(), 0, LockBatchResponseBody::decode);
}

fn register_sample() -> RegisterBrokerBody {
    let topic = TopicConfig {
        topic_name: "TopicTest".into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: 0,
        order: false,
        attributes: BTreeMap::new(),
    };
    RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                state_version: 0,
                timestamp: 1_700_000_000_000,
                counter: 12,
            },
            topic_config_table: vec![("TopicTest".into(), topic)],
        },
        filter_server_list: Vec::new(),
    }
}

#[test]
fn register_body_round_trips() {
    let body = register_sample();
    assert_eq!(body.encode(), REGISTER);
    assert_eq!(
        RegisterBrokerBody::decode(REGISTER.as_bytes()).unwrap(),
        body
    );
    let mut with_attributes = body.clone();
    let (_, topic) = &mut with_attributes
        .topic_config_serialize_wrapper
        .topic_config_table[0];
    topic
        .attributes
        .insert("+message.type".into(), "NORMAL".into());
    topic.order = true;
    with_attributes
        .filter_server_list
        .push("10.0.0.1:30000".into());
    let text = with_attributes.encode();
    assert!(
        text.contains(r#""attributes":{"+message.type":"NORMAL"}"#),
        "{text}"
    );
    assert_eq!(
        RegisterBrokerBody::decode(text.as_bytes()).unwrap(),
        with_attributes
    );
    // The empty body is Java's "no body": an empty registration.
    every_prefix_fails(REGISTER.as_bytes(), 1, RegisterBrokerBody::decode);
}

/// What Java 4.9.7 and 5.3.3 name servers answered: SYSTEM_ERROR for the errors, SUCCESS for the others.
#[test]
fn register_body_shapes() {
    for (body, expected) in [
        ("null", CodecError::NullField("registerBrokerBody")),
        ("[]", CodecError::NullField("registerBrokerBody")),
        ("\"\"", CodecError::NullField("registerBrokerBody")),
        ("[1,2]", not_a_bean("RegisterBrokerBody", "[")),
        ("7", not_a_bean("RegisterBrokerBody", "int")),
        (
            r#"{"topicConfigSerializeWrapper":7}"#,
            not_a_bean("topicConfigSerializeWrapper", "int"),
        ),
    ] {
        assert_eq!(
            RegisterBrokerBody::decode(body.as_bytes()),
            Err(expected),
            "{body}"
        );
    }
    for body in [
        "",
        r#"{"mqSet":7}"#,
        r#"{"topicConfigSerializeWrapper":null}"#,
    ] {
        let decoded = RegisterBrokerBody::decode(body.as_bytes()).unwrap();
        assert_eq!(decoded, RegisterBrokerBody::default(), "{body}");
    }
    // A bare wrapper (old brokers), integer keys, and wrong-typed fields read as 0.
    let body = br#"{"dataVersion":{"counter":"3"},"topicConfigTable":{"T":{"readQueueNums":4},7:{"perm":[]},{"a":1}:{}}}"#;
    let wrapper = RegisterBrokerBody::decode(body)
        .unwrap()
        .topic_config_serialize_wrapper;
    assert_eq!(wrapper.data_version.counter, 3);
    let names: Vec<_> = wrapper
        .topic_config_table
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["T", "7"]);
    assert_eq!(wrapper.topic_config_table[0].1.read_queue_nums, 4);
    assert_eq!(wrapper.topic_config_table[1].1.perm, 0);
}

#[test]
fn data_version_body() {
    let version = DataVersion {
        state_version: 1,
        timestamp: 1_700_000_000_000,
        counter: 9,
    };
    let text = r#"{"counter":9,"stateVersion":1,"timestamp":1700000000000}"#;
    assert_eq!(version.encode(), text);
    assert_eq!(DataVersion::decode(text.as_bytes()).unwrap(), version);
    assert_eq!(DataVersion::decode(b"7").unwrap(), DataVersion::default());
    every_prefix_fails(text.as_bytes(), 0, DataVersion::decode);
}

fn route_sample() -> TopicRouteData {
    TopicRouteData {
        queue_datas: vec![QueueData {
            broker_name: "b".into(),
            read_queue_nums: 4,
            write_queue_nums: 8,
            perm: 6,
            topic_sys_flag: 0,
        }],
        broker_datas: vec![BrokerData {
            cluster: "c".into(),
            broker_name: "b".into(),
            broker_addrs: [(0, "127.0.0.1:10911".into()), (1, "127.0.0.1:10921".into())].into(),
            enable_acting_master: false,
        }],
        filter_server_table: BTreeMap::new(),
    }
}

#[test]
fn route_in_both_forms() {
    let route = route_sample();
    assert_eq!(route.encode_fastjson(), ROUTE_FASTJSON);
    assert_eq!(route.encode_standard(), ROUTE_STANDARD);
    for text in [ROUTE_FASTJSON, ROUTE_STANDARD] {
        assert_eq!(TopicRouteData::decode(text.as_bytes()).unwrap(), route);
        every_prefix_fails(text.as_bytes(), 0, TopicRouteData::decode);
    }
    assert_eq!(route.broker_datas[0].master_addr(), Some("127.0.0.1:10911"));
    assert_eq!(
        TopicRouteData::decode(b"null"),
        Err(CodecError::NullField("topicRouteData"))
    );
    // Elements that are not objects are skipped; wrong-typed lists are empty.
    let odd = br#"{"brokerDatas":[1,{"brokerAddrs":{"x":"a",2:3,1:"h:1"}}],"queueDatas":{},"filterServerTable":{"a":["f",1],"b":2}}"#;
    let route = TopicRouteData::decode(odd).unwrap();
    assert!(route.queue_datas.is_empty());
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(
        route.broker_datas[0].broker_addrs,
        [(1, "h:1".to_string())].into()
    );
    assert_eq!(route.broker_datas[0].master_addr(), None);
    assert_eq!(
        route.filter_server_table,
        [("a".to_string(), vec!["f".to_string()])].into()
    );
    let again = TopicRouteData::decode(route.encode_standard().as_bytes()).unwrap();
    assert_eq!(again, route);
    // Quoted keys that read as integers come back from the unquoted form.
    let keys = format!(
        r#"{{"brokerDatas":[{{"brokerAddrs":{{"-1":"a"," 5":"b","{}":"c"}}}}]}}"#,
        i64::MIN
    );
    let route = TopicRouteData::decode(keys.as_bytes()).unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 3);
    let fastjson = route.encode_fastjson();
    assert_eq!(
        TopicRouteData::decode(fastjson.as_bytes()).unwrap(),
        route,
        "{fastjson}"
    );
}

#[test]
fn cluster_info_round_trips() {
    let broker = route_sample().broker_datas.remove(0);
    let info = ClusterInfo {
        broker_addr_table: [("b".to_string(), broker)].into(),
        cluster_addr_table: [("c".to_string(), vec!["b".to_string()])].into(),
    };
    let text = r#"{"brokerAddrTable":{"b":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"b","cluster":"c","enableActingMaster":false}},"clusterAddrTable":{"c":["b"]}}"#;
    assert_eq!(info.encode(), text);
    assert_eq!(ClusterInfo::decode(text.as_bytes()).unwrap(), info);
    every_prefix_fails(text.as_bytes(), 0, ClusterInfo::decode);
}

#[test]
fn java_bean_binding() {
    for text in ["null", "[]", "\"\""] {
        assert_eq!(java_bean(&parse(text).unwrap(), "B"), Ok(None), "{text}");
    }
    assert!(java_bean(&parse("{\"a\":1}").unwrap(), "B")
        .unwrap()
        .is_some());
    for (text, actual) in [
        ("[1,2]", "["),
        ("7", "int"),
        ("1.5", "float"),
        ("true", "true"),
        ("\"x\"", "string"),
    ] {
        let err = java_bean(&parse(text).unwrap(), "B").unwrap_err();
        assert_eq!(err, not_a_bean("B", actual), "{text}");
        assert_eq!(
            err.to_string(),
            format!(
                "com.alibaba.fastjson.JSONException: syntax error, expect {{, actual {actual}, B"
            )
        );
    }
    assert_eq!(
        CodecError::NullField("groupName").to_string(),
        "java.lang.NullPointerException: groupName is null"
    );
}
