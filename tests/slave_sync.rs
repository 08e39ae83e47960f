//! An rmqd master and an rmqd slave (`brokerRole=SLAVE`, brokerId 1, same brokerName) registered with one
//! in-process name server: the slave learns its master from REGISTER_BROKER, copies the master's topics,
//! consumer offsets and subscription groups (`SlaveSynchronize`, first round 3 s after start), refuses
//! sends, and the route lists it under brokerAddrs id 1.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::fastjson::{self, Value};
use rmq_codec::header::{
    CommandHeader, CreateTopicRequestHeader, GetRouteInfoRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rmqd::config::{BrokerConfig, NamesrvConfig};
use rmqd::launch::Running;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the test waits for the slave's first sync round (3 s after start) at most; it goes on as
/// soon as the copy is there.
const SYNC_WAIT: Duration = Duration::from_secs(30);

fn broker_config(dir: &tempfile::TempDir, name: &str, namesrv_port: u16) -> BrokerConfig {
    let mut config = BrokerConfig {
        listen_port: 0,
        namesrv_addr: Some(format!("127.0.0.1:{namesrv_port}")),
        ..BrokerConfig::default()
    };
    config.store.root_dir = dir.path().join(name);
    config.store.mapped_file_size_commit_log = 1 << 20;
    config
}

async fn call(port: u16, mut cmd: RemotingCommand) -> RemotingCommand {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    cmd.opaque = 1;
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf);
    stream.write_all(&buf).await.unwrap();
    let len = stream.read_u32().await.unwrap() as usize;
    let mut frame = vec![0u8; len];
    stream.read_exact(&mut frame).await.unwrap();
    RemotingCommand::decode(Bytes::from(frame)).unwrap()
}

async fn call_ok(port: u16, cmd: RemotingCommand) -> RemotingCommand {
    let code = cmd.code;
    let answer = call(port, cmd).await;
    assert_eq!(
        answer.code,
        i32::from(ResponseCode::Success),
        "request {code}: {:?}",
        answer.remark
    );
    answer
}

async fn table(port: u16, code: RequestCode) -> Value {
    let answer = call_ok(port, RemotingCommand::new_request(code, ExtFields::new())).await;
    fastjson::parse_slice(&answer.body).unwrap()
}

fn has_key(v: &Value, field: &str, key: &str) -> bool {
    v.get(field)
        .and_then(Value::as_object)
        .is_some_and(|o| o.iter().any(|(k, _)| k.as_str() == Some(key)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_learns_its_master_and_copies_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = Running::namesrv(NamesrvConfig {
        listen_port: 0,
        kv_config_path: dir.path().join("kvConfig.json"),
        ..NamesrvConfig::default()
    })
    .await
    .unwrap();
    let ns_port = namesrv.namesrv_port.unwrap();

    let master = Running::broker(broker_config(&dir, "master", ns_port))
        .await
        .unwrap();
    let m_port = master.broker_port.unwrap();
    let create = CreateTopicRequestHeader {
        topic: "SyncTopic".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..CreateTopicRequestHeader::default()
    };
    call_ok(
        m_port,
        RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, create.to_ext_fields()),
    )
    .await;
    let mut group = RemotingCommand::new_request(
        RequestCode::UpdateAndCreateSubscriptiongroup,
        ExtFields::new(),
    );
    group.body = Bytes::from_static(br#"{"groupName":"SyncGroup","consumeEnable":true}"#);
    call_ok(m_port, group).await;
    let offset = UpdateConsumerOffsetRequestHeader {
        consumer_group: "SyncGroup".into(),
        topic: "SyncTopic".into(),
        queue_id: 1,
        commit_offset: 7,
    };
    call_ok(
        m_port,
        RemotingCommand::new_request(RequestCode::UpdateConsumerOffset, offset.to_ext_fields()),
    )
    .await;

    let mut slave_config = broker_config(&dir, "slave", ns_port);
    slave_config.broker_role = "SLAVE".into();
    slave_config.broker_id = 1;
    let slave = Running::broker(slave_config).await.unwrap();
    let s_port = slave.broker_port.unwrap();
    let slave_broker = slave.broker.clone().unwrap();

    // Registration: the name server answers the master's address and HA address.
    let master_addr = format!("127.0.0.1:{m_port}");
    let mut learnt = slave_broker.masters.master_addr();
    tokio::time::timeout(
        SYNC_WAIT,
        learnt.wait_for(|m| m.as_deref() == Some(&master_addr)),
    )
    .await
    .expect("the slave learns its master")
    .unwrap();
    let ha = slave_broker.masters.ha_addr().borrow().clone();
    // The master bound an ephemeral HA port (its broker port is ephemeral too) and registered that one.
    let m_ha_port = master.ha_port.expect("a master serves HA");
    assert_eq!(ha, Some(format!("127.0.0.1:{m_ha_port}")));

    // The first sync round copies the master's tables; read them back from the slave over TCP.
    let copied = async {
        loop {
            let topics = table(s_port, RequestCode::GetAllTopicConfig).await;
            let offsets = table(s_port, RequestCode::GetAllConsumerOffset).await;
            let groups = table(s_port, RequestCode::GetAllSubscriptiongroupConfig).await;
            if has_key(&topics, "topicConfigTable", "SyncTopic")
                && has_key(&offsets, "offsetTable", "SyncTopic@SyncGroup")
                && has_key(&groups, "subscriptionGroupTable", "SyncGroup")
            {
                return (topics, offsets);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let (topics, offsets) = tokio::time::timeout(SYNC_WAIT, copied)
        .await
        .expect("the slave copies topics, offsets and groups");
    let master_topics = table(m_port, RequestCode::GetAllTopicConfig).await;
    assert_eq!(
        topics.get("dataVersion"),
        master_topics.get("dataVersion"),
        "the slave takes the master's topic DataVersion"
    );
    let text = fastjson::to_string(&offsets);
    assert!(text.contains(r#""SyncTopic@SyncGroup":{1:7}"#), "{text}");

    // A slave refuses sends.
    let mut ext = ExtFields::new();
    for (k, v) in [
        ("producerGroup", "pg"),
        ("topic", "SyncTopic"),
        ("defaultTopic", "TBW102"),
        ("defaultTopicQueueNums", "4"),
        ("queueId", "0"),
        ("sysFlag", "0"),
        ("bornTimestamp", "1700000000000"),
        ("flag", "0"),
    ] {
        ext.insert(k.into(), v.into());
    }
    let mut send = RemotingCommand::new_request(RequestCode::SendMessage, ext);
    send.body = Bytes::from_static(b"x");
    let refused = call(s_port, send).await;
    assert_eq!(refused.code, i32::from(ResponseCode::ServiceNotAvailable));

    // The route lists the master under id 0 and the slave under id 1.
    let slave_addr = format!("127.0.0.1:{s_port}");
    let route_header = GetRouteInfoRequestHeader {
        topic: "SyncTopic".into(),
        accept_standard_json_only: None,
    };
    let mut route_req = RemotingCommand::new_request(
        RequestCode::GetRouteinfoByTopic,
        route_header.to_ext_fields(),
    );
    route_req.version = 409;
    let route = call_ok(ns_port, route_req).await;
    let route = fastjson::parse_slice(&route.body).unwrap();
    let addrs = route
        .get("brokerDatas")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|b| b.get("brokerAddrs"))
        .and_then(Value::as_object)
        .expect("brokerAddrs");
    let mut ids: Vec<(i64, String)> = addrs
        .iter()
        .map(|(k, v)| {
            let id = k
                .as_i64()
                .or_else(|| k.as_str().and_then(|s| s.parse().ok()))
                .expect("broker id");
            (id, v.as_str().unwrap().to_string())
        })
        .collect();
    ids.sort();
    assert_eq!(ids, vec![(0, master_addr), (1, slave_addr)]);

    slave.stop(Duration::from_secs(5)).await;
    master.stop(Duration::from_secs(5)).await;
    namesrv.stop(Duration::from_secs(5)).await;
    // The slave's topics.json mirrors the master's.
    let file = std::fs::read_to_string(dir.path().join("slave/config/topics.json")).unwrap();
    assert!(file.contains("SyncTopic"), "{file}");
}
