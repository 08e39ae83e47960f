use std::fs;

use rmq_codec::fastjson::{self, Value};

use super::*;

const TOPICS_JSON: &str = "{\n\t\"dataVersion\":{\"counter\":12,\"stateVersion\":0,\"timestamp\":1700000000000},\n\
\t\"topicConfigTable\":{\n\
\t\t\"TopicTest\":{\"attributes\":{},\"order\":false,\"perm\":6,\"readQueueNums\":4,\"topicFilterType\":\"SINGLE_TAG\",\n\
\t\t             \"topicName\":\"TopicTest\",\"topicSysFlag\":0,\"writeQueueNums\":4},\n\
\t\t\"TBW102\":{\"attributes\":{},\"order\":false,\"perm\":7,\"readQueueNums\":8,\"topicFilterType\":\"SINGLE_TAG\",\n\
\t\t             \"topicName\":\"TBW102\",\"topicSysFlag\":0,\"writeQueueNums\":8}\n\
\t}\n}";

const CONSUMER_OFFSET_JSON: &str =
    "{\n\t\"dataVersion\":{\"counter\":1448,\"stateVersion\":0,\"timestamp\":1736661762584},\n\
\t\"groupTopicMap\":{\"cg1\":[\"TopicTest\",\"%RETRY%cg1\"]},\n\
\t\"offsetTable\":{\n\
\t\t\"TopicTest@cg1\":{0:37960,1:37961,2:37959,3:37959},\n\
\t\t\"%RETRY%cg1@cg1\":{0:0},\n\
\t\t\"RMQ_SYS_TRANS_HALF_TOPIC@CID_RMQ_SYS_TRANS\":{0:12}\n\
\t}\n}";

const SUBSCRIPTION_GROUP_JSON: &str = "{\n\t\"dataVersion\":{\"counter\":3,\"stateVersion\":0,\"timestamp\":1700000000000},\n\
\t\"forbiddenTable\":{},\n\
\t\"subscriptionGroupTable\":{\n\
\t\t\"cg1\":{\"attributes\":{},\"brokerId\":0,\"consumeBroadcastEnable\":true,\"consumeEnable\":true,\n\
\t\t       \"consumeFromMinEnable\":true,\"consumeMessageOrderly\":false,\"consumeTimeoutMinute\":15,\n\
\t\t       \"groupName\":\"cg1\",\"groupRetryPolicy\":{\"type\":\"CUSTOMIZED\"},\"groupSysFlag\":0,\n\
\t\t       \"notifyConsumerIdsChangedEnable\":true,\"retryMaxTimes\":16,\"retryQueueNums\":1,\n\
\t\t       \"whichBrokerWhenConsumeSlowly\":1}\n\
\t}\n}";

fn parse(text: &str) -> Value {
    fastjson::parse(text).expect("test json parses")
}

#[test]
fn topics_json_example_decodes_and_reencodes() {
    let file = TopicConfigFile::from_value(&parse(TOPICS_JSON)).unwrap();
    assert_eq!(
        file.data_version,
        DataVersion {
            state_version: 0,
            timestamp: 1_700_000_000_000,
            counter: 12
        }
    );
    let tbw = &file.topics["TBW102"];
    assert_eq!(
        (tbw.read_queue_nums, tbw.write_queue_nums, tbw.perm),
        (8, 8, 7)
    );
    assert!(perm::is_inherited(tbw.perm));
    let mut only_test = file.clone();
    only_test.topics.remove("TBW102");
    assert_eq!(
        fastjson::to_string(&only_test.to_wrapper_value()),
        r#"{"dataVersion":{"counter":12,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}"#
    );
}

#[test]
fn register_wrapper_is_the_file_json() {
    let mut file = TopicConfigFile::from_value(&parse(TOPICS_JSON)).unwrap();
    let topic = file.topics.get_mut("TopicTest").unwrap();
    topic
        .attributes
        .insert("+message.type".into(), "FIFO".into());
    topic.order = true;
    let wrapper = rmq_codec::body::TopicConfigSerializeWrapper::from(&file);
    assert_eq!(
        fastjson::to_string(&wrapper.to_value()),
        fastjson::to_string(&file.to_wrapper_value())
    );
}

#[test]
fn topics_json_4x_shape_and_lenient_fields() {
    // 4.x: no attributes; fastjson also accepts numbers as strings, enum ordinals and a missing topicName.
    let v = parse(
        r#"{"topicConfigTable":{"A":{"perm":"4","readQueueNums":2,"topicFilterType":1,"order":"true","extra":[1]}}}"#,
    );
    let file = TopicConfigFile::from_value(&v).unwrap();
    let a = &file.topics["A"];
    assert_eq!(a.topic_name, "A");
    assert_eq!((a.perm, a.read_queue_nums, a.write_queue_nums), (4, 2, 16));
    assert_eq!(a.topic_filter_type, "MULTI_TAG");
    assert!(a.order && a.attributes.is_empty());
    assert!(perm::is_readable(a.perm) && !perm::is_writeable(a.perm));
    assert_eq!(perm::to_display(6), "RW-");
}

#[test]
fn wrong_field_type_is_an_error() {
    let v = parse(r#"{"topicConfigTable":{"A":{"perm":"rw"}}}"#);
    assert!(matches!(
        TopicConfigFile::from_value(&v),
        Err(ConfigError::Invalid(_))
    ));
    let v = parse(r#"{"offsetTable":{"T@g":{"x":1}}}"#);
    assert!(matches!(
        ConsumerOffsetFile::from_value(&v),
        Err(ConfigError::Invalid(_))
    ));
}

#[test]
fn consumer_offset_example_decodes_and_writes_unquoted_keys() {
    let file = ConsumerOffsetFile::from_value(&parse(CONSUMER_OFFSET_JSON)).unwrap();
    assert_eq!(file.offsets["TopicTest@cg1"][&2], 37959);
    assert_eq!(file.offsets.len(), 3);
    assert_eq!(file.data_version.counter, 1448);
    assert_eq!(
        fastjson::to_string(&file.to_value()),
        r#"{"dataVersion":{"counter":1448,"stateVersion":0,"timestamp":1736661762584},"groupTopicMap":{"CID_RMQ_SYS_TRANS":["RMQ_SYS_TRANS_HALF_TOPIC"],"cg1":["%RETRY%cg1","TopicTest"]},"offsetTable":{"%RETRY%cg1@cg1":{0:0},"RMQ_SYS_TRANS_HALF_TOPIC@CID_RMQ_SYS_TRANS":{0:12},"TopicTest@cg1":{0:37960,1:37961,2:37959,3:37959}}}"#
    );
}

#[test]
fn consumer_offset_4x_file_has_only_offset_table() {
    let file = ConsumerOffsetFile::from_value(&parse(
        r#"{"offsetTable":{"T@g":{0:5,1:7},"T2@g":{"3":9}}}"#,
    ))
    .unwrap();
    assert_eq!(
        file.offsets[&ConsumerOffsetFile::key("T", "g")],
        [(0, 5), (1, 7)].into()
    );
    assert_eq!(file.offsets["T2@g"], [(3, 9)].into());
    assert_eq!(
        file.group_topic_map()["g"].iter().collect::<Vec<_>>(),
        ["T", "T2"]
    );
}

#[test]
fn group_topic_map_skips_keys_without_exactly_one_separator() {
    let mut file = ConsumerOffsetFile::default();
    file.offsets.insert("a@b@c".into(), [(0, 1)].into());
    file.offsets.insert("nosep".into(), [(0, 1)].into());
    file.offsets.insert("T@g".into(), [(0, 1)].into());
    let map = file.group_topic_map();
    assert_eq!(map.len(), 1);
    assert!(map["g"].contains("T"));
}

#[test]
fn delay_offset_both_shapes() {
    let v4 = DelayOffsetFile::from_value(&parse("{\"offsetTable\":{1:0,2:0,3:5,18:0}}")).unwrap();
    assert_eq!(v4.offsets[&3], 5);
    assert_eq!(v4.data_version, None);
    assert_eq!(
        fastjson::to_string(&v4.to_value()),
        "{\"offsetTable\":{1:0,2:0,3:5,18:0}}"
    );
    let v5 = DelayOffsetFile::from_value(&parse(
        "{\"dataVersion\":{\"counter\":2,\"stateVersion\":0,\"timestamp\":9},\"offsetTable\":{1:4}}",
    ))
    .unwrap();
    assert_eq!(v5.data_version.map(|d| d.counter), Some(2));
    assert_eq!(
        fastjson::to_string(&v5.to_value()),
        "{\"dataVersion\":{\"counter\":2,\"stateVersion\":0,\"timestamp\":9},\"offsetTable\":{1:4}}"
    );
}

#[test]
fn subscription_group_example_round_trips() {
    let v = parse(SUBSCRIPTION_GROUP_JSON);
    let file = SubscriptionGroupFile::from_value(&v).unwrap();
    let cg1 = &file.groups["cg1"];
    assert_eq!(cg1, &SubscriptionGroupConfig::new("cg1"));
    // Whitespace aside, our output is the input.
    assert_eq!(
        fastjson::to_string(&file.to_value()),
        fastjson::to_string(&v)
    );
}

#[test]
fn subscription_group_4x_shape_gets_java_defaults() {
    let v = parse(
        r#"{"subscriptionGroupTable":{"g":{"brokerId":0,"consumeBroadcastEnable":false,"consumeEnable":true,
            "consumeFromMinEnable":true,"groupName":"g","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,
            "retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}}}"#,
    );
    let file = SubscriptionGroupFile::from_value(&v).unwrap();
    let g = &file.groups["g"];
    assert!(!g.consume_broadcast_enable);
    assert_eq!(g.retry_max_times, 3);
    assert_eq!(g.consume_timeout_minute, 15);
    assert_eq!(
        fastjson::to_string(&g.group_retry_policy),
        r#"{"type":"CUSTOMIZED"}"#
    );
    assert_eq!(file.forbidden_table, Value::empty_object());
}

#[test]
fn data_version_next_version_changes_it() {
    let mut dv = DataVersion {
        state_version: 0,
        timestamp: 1,
        counter: 41,
    };
    let before = dv;
    dv.next_version();
    assert_eq!(dv.counter, 42);
    assert!(dv.timestamp > 1);
    assert_ne!(dv, before);
    assert_eq!(DataVersion::from_value(&dv.to_value()).unwrap(), dv);
}

#[test]
fn persist_then_load_round_trips_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = consumer_offset_path(dir.path());
    assert_eq!(ConsumerOffsetFile::load(&path).unwrap().offsets.len(), 0);

    let mut file = ConsumerOffsetFile {
        data_version: DataVersion {
            state_version: 0,
            timestamp: 5,
            counter: 1,
        },
        ..ConsumerOffsetFile::default()
    };
    file.offsets
        .insert("T@g".into(), [(0, 37960), (1, 37961)].into());
    file.persist(&path).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\n\t\"dataVersion\":{\n\t\t\"counter\":1,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":5\n\t},\n\
         \t\"groupTopicMap\":{\n\t\t\"g\":[\"T\"]\n\t},\n\
         \t\"offsetTable\":{\n\t\t\"T@g\":{0:37960,1:37961\n\t\t}\n\t}\n}"
    );
    assert_eq!(ConsumerOffsetFile::load(&path).unwrap(), file);

    let first = fs::read(&path).unwrap();
    file.offsets.insert("T@g".into(), [(0, 1)].into());
    file.persist(&path).unwrap();
    assert_eq!(
        fs::read(dir.path().join("config/consumerOffset.json.bak")).unwrap(),
        first
    );
    assert_eq!(ConsumerOffsetFile::load(&path).unwrap(), file);
    assert!(!dir.path().join("config/consumerOffset.json.tmp").exists());
}

#[test]
fn every_file_type_round_trips_through_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let topics = TopicConfigFile::from_value(&parse(TOPICS_JSON)).unwrap();
    topics.persist(&topics_path(root)).unwrap();
    assert_eq!(TopicConfigFile::load(&topics_path(root)).unwrap(), topics);

    let groups = SubscriptionGroupFile::from_value(&parse(SUBSCRIPTION_GROUP_JSON)).unwrap();
    groups.persist(&subscription_group_path(root)).unwrap();
    assert_eq!(
        SubscriptionGroupFile::load(&subscription_group_path(root)).unwrap(),
        groups
    );

    let delay = DelayOffsetFile {
        offsets: [(1, 3), (18, 0)].into(),
        data_version: None,
    };
    delay.persist(&delay_offset_path(root)).unwrap();
    assert_eq!(
        DelayOffsetFile::load(&delay_offset_path(root)).unwrap(),
        delay
    );
}

#[test]
fn corrupt_main_file_falls_back_to_bak() {
    let dir = tempfile::tempdir().unwrap();
    let path = topics_path(dir.path());
    let good = TopicConfigFile::from_value(&parse(TOPICS_JSON)).unwrap();
    good.persist(&path).unwrap();
    good.persist(&path).unwrap(); // now the .bak holds a good copy too

    // A torn write, and separately a file that parses but has the wrong shape.
    for bad in ["{\"dataVersion\":{\"coun", "{\"topicConfigTable\":[1]}"] {
        fs::write(&path, bad).unwrap();
        assert_eq!(TopicConfigFile::load(&path).unwrap(), good);
        assert_eq!(
            fs::read_to_string(dir.path().join("config/topics.json.corrupt")).unwrap(),
            bad
        );
        assert!(!path.exists());
    }
    // Missing main with a .bak (crash between the two renames of persist).
    assert_eq!(TopicConfigFile::load(&path).unwrap(), good);
}

#[test]
fn empty_main_without_bak_is_default_but_corrupt_main_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = consumer_offset_path(dir.path());
    fs::create_dir_all(config_dir(dir.path())).unwrap();
    fs::write(&path, "").unwrap();
    assert!(load_json_file(&path).unwrap().is_none());
    fs::write(&path, "{\"offsetTable\":{\"T@g\":{0:").unwrap();
    assert!(matches!(
        ConsumerOffsetFile::load(&path),
        Err(ConfigError::Corrupt { .. })
    ));
    // The corrupt file is left in place for the operator.
    assert!(path.exists());
}
