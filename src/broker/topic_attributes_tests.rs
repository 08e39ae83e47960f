//! Topic attributes through the admin requests: UPDATE_AND_CREATE_TOPIC (17) with the `attributes` header,
//! UPDATE_AND_CREATE_TOPIC_LIST (18), GET_TOPIC_CONFIG (351), GET_ALL_TOPIC_CONFIG (21), `topics.json`, and
//! a `topics.json` a Java 5.3.3 broker wrote (`testdata/java-5.3.3-topics.json`, from TopicAttributesTest's
//! run against it).

use bytes::Bytes;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::header::{CommandHeader, CreateTopicRequestHeader, GetTopicConfigRequestHeader};

use super::message_type::TopicMessageType;
use super::test_support::{config_in, TempBroker};
use super::Broker;

const JAVA_TOPICS_JSON: &str = include_str!("testdata/java-5.3.3-topics.json");

fn create(topic: &str, attributes: Option<&str>) -> RemotingCommand {
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: attributes.map(str::to_owned),
        force: None,
    };
    RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, header.to_ext_fields())
}

/// The body of GET_TOPIC_CONFIG (351) for `topic`.
fn examined(broker: &Broker, topic: &str) -> String {
    let req = RemotingCommand::new_request(
        RequestCode::GetTopicConfig,
        GetTopicConfigRequestHeader {
            topic: topic.into(),
            lo: None,
        }
        .to_ext_fields(),
    );
    let resp = broker.topic_config(&req).expect("the topic exists");
    String::from_utf8(resp.body.to_vec()).unwrap()
}

/// The `attributes` of `topic` in GET_ALL_TOPIC_CONFIG (21).
fn listed(broker: &Broker, topic: &str) -> String {
    let resp = broker.all_topic_config().unwrap();
    let doc = fastjson::parse_slice(&resp.body).unwrap();
    let config = doc.get("topicConfigTable").and_then(|t| t.get(topic));
    fastjson::to_string(config.and_then(|c| c.get("attributes")).expect("listed"))
}

fn refused(broker: &Broker, req: &RemotingCommand) -> (ResponseCode, String) {
    let err = match req.code {
        17 => broker.create_topic(req),
        _ => broker.create_topic_list(req),
    }
    .expect_err("refused");
    (err.response_code(), err.to_string())
}

#[test]
fn the_header_attributes_are_altered_stored_shown_and_persisted() {
    let t = TempBroker::open();
    let b = &t.broker;
    b.create_topic(&create(
        "T",
        Some("+message.type=FIFO,+queue.type=SimpleCQ"),
    ))
    .unwrap();
    assert_eq!(
        examined(b, "T"),
        r#"{"attributes":{"message.type":"FIFO","queue.type":"SimpleCQ"},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}"#
    );
    assert_eq!(
        listed(b, "T"),
        r#"{"message.type":"FIFO","queue.type":"SimpleCQ"}"#
    );
    assert_eq!(b.topics.message_type("T"), TopicMessageType::Fifo);

    b.create_topic(&create("T", None)).unwrap();
    assert_eq!(
        b.topics.message_type("T"),
        TopicMessageType::Fifo,
        "an update without attributes keeps them"
    );
    b.create_topic(&create("T", Some("-message.type"))).unwrap();
    assert_eq!(listed(b, "T"), r#"{"queue.type":"SimpleCQ"}"#);
    assert_eq!(
        b.topics.message_type("T"),
        TopicMessageType::Normal,
        "no message.type reads as NORMAL"
    );
    assert_eq!(
        b.topics.message_type("Nowhere"),
        TopicMessageType::Unspecified
    );
    b.create_topic(&create("T", Some("+message.type=TRANSACTION")))
        .unwrap();

    let config = config_in(&t.dir);
    drop(t.broker);
    let reopened = Broker::open(config).expect("reopens");
    assert_eq!(
        listed(&reopened, "T"),
        r#"{"message.type":"TRANSACTION","queue.type":"SimpleCQ"}"#,
        "topics.json keeps the attributes"
    );
}

#[test]
fn bad_attributes_answer_javas_codes_and_remarks_and_store_nothing() {
    let t = TempBroker::open();
    let b = &t.broker;
    let cases = [
        (
            "+message.type=MIXED",
            ResponseCode::InvalidParameter,
            "MIXED message type is not supported.",
        ),
        (
            "+message.type=fifo",
            ResponseCode::SystemError,
            "value is not in set: [UNSPECIFIED, TRANSACTION, FIFO, MIXED, DELAY, NORMAL]",
        ),
        (
            "+color=red",
            ResponseCode::SystemError,
            "unsupported key: color",
        ),
        (
            "message.type=FIFO",
            ResponseCode::SystemError,
            "add/alter attribute format is wrong: message.type",
        ),
        (
            "-message.type",
            ResponseCode::SystemError,
            "only add attribute is supported while creating topic. key: message.type",
        ),
    ];
    for (attributes, code, remark) in cases {
        assert_eq!(
            refused(b, &create("Bad", Some(attributes))),
            (code, remark.to_owned()),
            "{attributes}"
        );
    }
    assert!(b.topics.get("Bad").is_none());

    b.create_topic(&create("Bad", Some("+cleanup.policy=DELETE")))
        .unwrap();
    assert_eq!(
        refused(b, &create("Bad", Some("+cleanup.policy=COMPACTION"))),
        (
            ResponseCode::SystemError,
            "attempt to update an unchangeable attribute. key: cleanup.policy".to_owned()
        )
    );
    assert_eq!(listed(b, "Bad"), r#"{"cleanup.policy":"DELETE"}"#);
}

#[test]
fn a_list_alters_each_config_and_stores_all_or_nothing() {
    let t = TempBroker::open();
    let b = &t.broker;
    let list = |body: &str| {
        let mut req =
            RemotingCommand::new_request(RequestCode::UpdateAndCreateTopicList, Default::default());
        req.body = Bytes::from(body.to_owned());
        req
    };
    let ok = r#"{"topicConfigList":[{"topicName":"A","attributes":{"+message.type":"DELAY"}},
        {"topicName":"B","readQueueNums":2,"writeQueueNums":2}]}"#;
    b.create_topic_list(&list(ok)).unwrap();
    assert_eq!(b.topics.message_type("A"), TopicMessageType::Delay);
    assert_eq!(listed(b, "B"), "{}");

    let bad = r#"{"topicConfigList":[{"topicName":"C","attributes":{"+message.type":"FIFO"}},
        {"topicName":"A","attributes":{"+queue.type":"BatchCQ"}}]}"#;
    assert_eq!(
        refused(b, &list(bad)),
        (
            ResponseCode::SystemError,
            "attempt to update an unchangeable attribute. key: queue.type".to_owned()
        )
    );
    assert!(
        b.topics.get("C").is_none(),
        "nothing stored from a bad list"
    );

    let mixed = r#"{"topicConfigList":[{"topicName":"D","attributes":{"+message.type":"MIXED"}}]}"#;
    assert_eq!(refused(b, &list(mixed)).0, ResponseCode::InvalidParameter);
}

#[test]
fn a_java_written_topics_json_is_read_with_its_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(&dir);
    let path = rmq_store::config::topics_path(&config.store.root_dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, JAVA_TOPICS_JSON).unwrap();
    let b = Broker::open(config).expect("opens on a Java store");
    assert_eq!(
        b.topics.message_type("t_attrl_mxdv5vxx_2_3d86bd59"),
        TopicMessageType::Transaction
    );
    assert_eq!(
        listed(&b, "t_attrl_mxdv5vxx_2_3d86bd59"),
        r#"{"cleanup.policy":"DELETE","message.type":"TRANSACTION"}"#
    );
    assert_eq!(
        b.topics.message_type("t_attrl_mxdv5vxx_1_0e132efc"),
        TopicMessageType::Delay
    );
    assert_eq!(
        b.topics.message_type("SELF_TEST_TOPIC"),
        TopicMessageType::Normal
    );
    // rmqd rewrote the file at start: the attributes are still there.
    let rewritten = std::fs::read_to_string(&path).unwrap();
    let doc = fastjson::parse(&rewritten).unwrap();
    let attributes = doc
        .get("topicConfigTable")
        .and_then(|t| t.get("t_attr_mxdv5vxx_4_c39a132d"))
        .and_then(|c| c.get("attributes"))
        .map(fastjson::to_string);
    assert_eq!(attributes.as_deref(), Some(r#"{"queue.type":"SimpleCQ"}"#));
}

#[test]
fn a_4x_entry_without_attributes_is_a_normal_topic() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(&dir);
    let path = rmq_store::config::topics_path(&config.store.root_dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let old = r#"{"dataVersion":{"counter":1,"timestamp":1700000000000},"topicConfigTable":{"Old":{"order":false,
        "perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"Old","topicSysFlag":0,
        "writeQueueNums":4}}}"#;
    std::fs::write(&path, old).unwrap();
    let b = Broker::open(config).expect("opens on a 4.x store");
    assert_eq!(b.topics.message_type("Old"), TopicMessageType::Normal);
    assert_eq!(listed(&b, "Old"), "{}");
}
