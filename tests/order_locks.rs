//! Orderly consumers' queue locks (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) against the real `rmqd` binary, replaying
//! what official Java clients send when two members of a group shut down at the same time.
//!
//! A shutting-down consumer (`DefaultMQPushConsumerImpl.shutdown`) sends UNLOCK_BATCH_MQ for its process-queue
//! table, then UNREGISTER_CLIENT, then closes. The other member's UNREGISTER_CLIENT makes the broker send it a
//! NOTIFY_CONSUMER_IDS_CHANGED in the middle of that, and its still-running rebalance locks the queues the
//! other member freed: one before and one after its own UNREGISTER_CLIENT. Those locks must not outlive it.

use std::net::TcpStream;

use rmq_codec::code::RequestCode;
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{CommandHeader, UnregisterClientRequestHeader};

mod common;
#[path = "hostile/wire.rs"]
mod wire;

use common::start_rmqd;
use wire::{connect, read_frame, write_command};

const GROUP: &str = "cg_order_locks";
const TOPIC: &str = "t_order_locks";

/// One consumer client: its connection, its client id and the requests the broker sent it.
struct Client {
    stream: TcpStream,
    id: String,
    opaque: i32,
    notified: usize,
}

impl Client {
    fn connect(port: u16, id: &str) -> Self {
        Client {
            stream: connect(port),
            id: id.into(),
            opaque: 0,
            notified: 0,
        }
    }

    /// Sends a request and returns its response; broker-initiated requests read meanwhile are counted.
    fn call(&mut self, mut cmd: RemotingCommand) -> RemotingCommand {
        self.opaque += 1;
        cmd.opaque = self.opaque;
        write_command(&mut self.stream, &cmd);
        loop {
            let frame = read_frame(&mut self.stream).expect("a response");
            if !frame.is_response() {
                if RequestCode::from(frame.code) == RequestCode::NotifyConsumerIdsChanged {
                    self.notified += 1;
                }
                continue;
            }
            if frame.opaque == self.opaque {
                assert_eq!(frame.code, 0, "{:?}", frame.remark);
                return frame;
            }
        }
    }

    fn heartbeat(&mut self) {
        let body = format!(
            r#"{{"clientID":"{}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{GROUP}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"{TOPIC}"}}],"unitMode":false}}],"producerDataSet":[]}}"#,
            self.id
        );
        self.call(
            RemotingCommand::new_request(RequestCode::HeartBeat, ExtFields::new()).with_body(body),
        );
    }

    fn lock_body(&self, queues: &[i32]) -> String {
        let mqs: Vec<String> = queues
            .iter()
            .map(|q| format!(r#"{{"brokerName":"broker-a","queueId":{q},"topic":"{TOPIC}"}}"#))
            .collect();
        format!(
            r#"{{"clientId":"{}","consumerGroup":"{GROUP}","mqSet":[{}],"onlyThisBroker":false}}"#,
            self.id,
            mqs.join(",")
        )
    }

    /// LOCK_BATCH_MQ; returns the queue ids of `lockOKMQSet`, sorted.
    fn lock(&mut self, queues: &[i32]) -> Vec<i32> {
        let req = RemotingCommand::new_request(RequestCode::LockBatchMq, ExtFields::new())
            .with_body(self.lock_body(queues));
        let resp = self.call(req);
        let doc: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let mut locked: Vec<i32> = doc["lockOKMQSet"]
            .as_array()
            .unwrap()
            .iter()
            .map(|mq| mq["queueId"].as_i64().unwrap() as i32)
            .collect();
        locked.sort_unstable();
        locked
    }

    fn unlock(&mut self, queues: &[i32]) {
        let req = RemotingCommand::new_request(RequestCode::UnlockBatchMq, ExtFields::new())
            .with_body(self.lock_body(queues));
        self.call(req);
    }

    fn unregister(&mut self) {
        let mut ext = ExtFields::new();
        UnregisterClientRequestHeader {
            client_id: self.id.clone(),
            producer_group: None,
            consumer_group: Some(GROUP.into()),
        }
        .encode(&mut ext);
        self.call(RemotingCommand::new_request(
            RequestCode::UnregisterClient,
            ext,
        ));
    }
}

#[test]
fn locks_of_a_consumer_that_unregistered_are_free_at_once() {
    let rmqd = start_rmqd("");
    let port = rmqd.broker_port;
    let mut staying = Client::connect(port, "127.0.0.1@staying");
    let mut leaving = Client::connect(port, "127.0.0.1@leaving");
    let mut other = Client::connect(port, "127.0.0.1@other");
    for client in [&mut staying, &mut leaving, &mut other] {
        client.heartbeat();
    }
    assert_eq!(staying.lock(&[0, 1]), vec![0, 1]);
    assert_eq!(leaving.lock(&[2, 3]), vec![2, 3]);
    assert_eq!(other.lock(&[4, 5]), vec![4, 5]);
    // Every join was announced before those answers; count only what follows.
    staying.notified = 0;
    leaving.notified = 0;

    // Both shut down; the broker's notification of `other` leaving reaches `leaving` mid-shutdown.
    other.unlock(&[4, 5]);
    other.unregister();
    leaving.unlock(&[2, 3]);
    assert_eq!(
        leaving.lock(&[4]),
        vec![4],
        "its rebalance, before UNREGISTER_CLIENT"
    );
    leaving.unregister();
    assert!(
        leaving.lock(&[5]).is_empty(),
        "its rebalance after UNREGISTER_CLIENT locks nothing"
    );
    assert_eq!(
        leaving.notified, 1,
        "NOTIFY_CONSUMER_IDS_CHANGED for `other`"
    );

    // The member that stays owns every queue on its first attempt, not 60 s later.
    assert_eq!(staying.lock(&[2, 3, 4, 5]), vec![2, 3, 4, 5]);
    assert_eq!(staying.notified, 2, "one notification per member that left");

    // A client that registers with the group again may lock again.
    leaving.heartbeat();
    assert_eq!(leaving.lock(&[6]), vec![6]);
    drop(other);
    drop(leaving);
    assert_eq!(staying.lock(&[0, 1, 2, 3, 4, 5]), vec![0, 1, 2, 3, 4, 5]);
}
