//! The roles started in this process through the library (`rmqd::launch::Running`) on port 0, driven over
//! real TCP. Long waits run on tokio's paused clock: a two-minute wait passes at once, and the elapsed
//! time read afterwards is the clock's, not the machine's.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CommandHeader, CreateTopicRequestHeader, GetRouteInfoRequestHeader, PullMessageRequestHeader,
};
use rmqd::config::NamesrvConfig;
use rmqd::launch::Running;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Client {
    stream: TcpStream,
    next_opaque: i32,
}

impl Client {
    async fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        Client {
            stream,
            next_opaque: 1,
        }
    }

    async fn send(&mut self, mut cmd: RemotingCommand) -> i32 {
        cmd.opaque = self.next_opaque;
        self.next_opaque += 1;
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf);
        self.stream.write_all(&buf).await.unwrap();
        cmd.opaque
    }

    async fn read(&mut self) -> RemotingCommand {
        let len = self.stream.read_u32().await.unwrap() as usize;
        let mut frame = vec![0u8; len];
        self.stream.read_exact(&mut frame).await.unwrap();
        RemotingCommand::decode(Bytes::from(frame)).unwrap()
    }

    async fn call(&mut self, cmd: RemotingCommand) -> RemotingCommand {
        let opaque = self.send(cmd).await;
        let answer = self.read().await;
        assert_eq!(answer.opaque, opaque);
        answer
    }
}

fn create_topic(topic: &str) -> RemotingCommand {
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..CreateTopicRequestHeader::default()
    };
    RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, header.to_ext_fields())
}

#[tokio::test(start_paused = true)]
async fn a_parked_pull_is_answered_at_the_wait_bound_not_the_hour_it_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::in_process_broker_config(&dir);
    config.long_polling_max_time_ms = 60_000;
    let running = Running::broker(config).await.unwrap();
    let mut client = Client::connect(running.broker_port.unwrap()).await;
    let created = client.call(create_topic("InProcess")).await;
    assert_eq!(created.code, i32::from(ResponseCode::Success));

    let header = PullMessageRequestHeader {
        consumer_group: "g".into(),
        topic: "InProcess".into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        // SUSPEND | SUBSCRIPTION
        sys_flag: 0x2 | 0x4,
        suspend_timeout_millis: 3_600_000,
        subscription: Some("*".into()),
        ..PullMessageRequestHeader::default()
    };
    let started = tokio::time::Instant::now();
    let answer = client
        .call(RemotingCommand::new_request(
            RequestCode::PullMessage,
            header.to_ext_fields(),
        ))
        .await;
    let waited = started.elapsed();
    assert_eq!(answer.code, i32::from(ResponseCode::PullNotFound));
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(61),
        "answered after {waited:?} of the paused clock"
    );
    running.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_topic_is_answered_once_the_name_server_has_its_route() {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = NamesrvConfig {
        listen_port: 0,
        kv_config_path: dir.path().join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    let running = Running::standalone(common::in_process_broker_config(&dir), namesrv)
        .await
        .unwrap();
    let mut broker = Client::connect(running.broker_port.unwrap()).await;
    let mut namesrv = Client::connect(running.namesrv_port.unwrap()).await;
    for i in 0..20 {
        let topic = format!("Routed{i}");
        let created = broker.call(create_topic(&topic)).await;
        assert_eq!(created.code, i32::from(ResponseCode::Success));
        // No wait in between: the answer itself means the route is there.
        let header = GetRouteInfoRequestHeader {
            topic: topic.clone(),
            accept_standard_json_only: None,
        };
        let route = namesrv
            .call(RemotingCommand::new_request(
                RequestCode::GetRouteinfoByTopic,
                header.to_ext_fields(),
            ))
            .await;
        assert_eq!(
            route.code,
            i32::from(ResponseCode::Success),
            "no route for {topic} after its creation was answered: {:?}",
            route.remark
        );
    }
    running.stop(Duration::from_secs(5)).await;
}
