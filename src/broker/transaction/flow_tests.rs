//! A broker on a temporary store: prepare, check-back, commit, rollback and discard, end to end below the
//! socket (the producer is a connection whose outbound queue the test reads).

use std::sync::Arc;

use rmq_codec::code::RequestCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{
    CheckTransactionStateRequestHeader, CommandHeader, EndTransactionRequestHeader,
};
use rmq_codec::message::{properties, sys_flag, StoredMessage};
use tokio::sync::mpsc;

use super::{into_half, CHECK_MAX_TIME_TOPIC, HALF_TOPIC, OP_TOPIC, SYSTEM_GROUP};
use crate::broker::clients::ClientChannel;
use crate::broker::test_support::TempBroker;
use crate::broker::Broker;
use crate::remoting::connection::now_ms;
use crate::remoting::{Connection, Outbound};

struct Fixture {
    broker: Arc<Broker>,
    producer: mpsc::Receiver<Outbound>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let TempBroker { broker, dir } = TempBroker::open_with(|c| c.transaction_timeout_ms = 1_000);
    let (tx, rx) = mpsc::channel(16);
    let conn = Connection::new(7, "127.0.0.1:40000".parse().unwrap(), tx);
    let channel = ClientChannel {
        conn,
        client_id: "c".into(),
        language: rmq_codec::code::LanguageCode::Java,
        version: 0,
        last_update_ms: now_ms(),
    };
    broker.clients.lock().register_producer("pg", channel);
    Fixture {
        broker,
        producer: rx,
        _dir: dir,
    }
}

/// Stores a half message for topic `T` queue 2, born `age_ms` ago; returns it as stored.
fn prepare(broker: &Broker, uniq: &str, age_ms: u64, extra: &[(&str, &str)]) -> StoredMessage {
    let mut pairs = vec![
        ("UNIQ_KEY".to_string(), uniq.to_string()),
        ("TRAN_MSG".to_string(), "true".to_string()),
        ("PGROUP".to_string(), "pg".to_string()),
        ("TAGS".to_string(), "TagA".to_string()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut msg = StoredMessage {
        topic: "T".into(),
        queue_id: 2,
        sys_flag: sys_flag::TRANSACTION_PREPARED,
        born_timestamp: (now_ms() - age_ms) as i64,
        born_host: "127.0.0.1:40000".parse().unwrap(),
        store_host: broker.store_host,
        body: format!("body-{uniq}").into(),
        properties: properties::encode(&pairs),
        ..StoredMessage::default()
    };
    into_half(&mut msg);
    broker.store.put(&mut msg, 0).unwrap();
    msg
}

fn end(
    broker: &Broker,
    half_queue_offset: i64,
    commit_log_offset: i64,
    state: i32,
    group: &str,
) -> Option<i32> {
    let header = EndTransactionRequestHeader {
        producer_group: group.into(),
        tran_state_table_offset: half_queue_offset,
        commit_log_offset,
        commit_or_rollback: state,
        from_transaction_check: true,
        msg_id: "x".into(),
        ..Default::default()
    };
    let req = RemotingCommand::new_request(RequestCode::EndTransaction, header.to_ext_fields());
    match broker.end_transaction(&req) {
        Ok(resp) => resp.map(|r| r.code),
        Err(e) => Some(e.response_code().into()),
    }
}

fn next_check(
    rx: &mut mpsc::Receiver<Outbound>,
) -> Option<(CheckTransactionStateRequestHeader, StoredMessage)> {
    match rx.try_recv().ok()? {
        Outbound::Command(cmd) => {
            assert_eq!(
                RequestCode::from(cmd.code),
                RequestCode::CheckTransactionState
            );
            assert!(cmd.is_oneway());
            let header = CheckTransactionStateRequestHeader::decode(&cmd.ext_fields).unwrap();
            Some((header, StoredMessage::decode(&cmd.body).unwrap()))
        }
        Outbound::Records { .. } => panic!("unexpected records frame"),
    }
}

fn real_topic_count(broker: &Broker) -> i64 {
    broker.store.max_offset_in_queue("T", 2)
}

#[test]
fn unresolved_half_is_checked_back_then_committed_once() {
    let Fixture {
        broker,
        mut producer,
        _dir: _keep,
    } = fixture();
    let half = prepare(&broker, "U1", 5_000, &[]);
    assert_eq!(
        real_topic_count(&broker),
        0,
        "a half is not visible in its real topic"
    );

    broker.check_transactions(now_ms() + 5);
    let (header, body) = next_check(&mut producer).expect("a check request");
    assert_eq!(
        header.tran_state_table_offset, 1,
        "the check names the re-appended copy"
    );
    assert_ne!(header.commit_log_offset, half.commit_log_offset);
    assert_eq!(header.transaction_id.as_deref(), Some("U1"));
    assert_eq!(
        (body.topic.as_str(), body.queue_id),
        ("T", 2),
        "body has the real topic and queue"
    );
    assert_eq!(
        properties::get(&body.properties, "TRANSACTION_CHECK_TIMES"),
        Some("1")
    );
    assert_eq!(broker.offsets.query(HALF_TOPIC, SYSTEM_GROUP, 0), Some(1));

    // The producer answers about the copy: committed into T queue 2, half resolved by an op message.
    assert_eq!(end(&broker, 1, header.commit_log_offset, 8, "pg"), Some(0));
    assert_eq!(real_topic_count(&broker), 1);
    let unit = broker.store.queue_unit("T", 2, 0).unwrap();
    let committed =
        StoredMessage::decode(&broker.store.message_at(unit.commit_log_offset).unwrap()).unwrap();
    assert_eq!(
        committed.sys_flag & sys_flag::TRANSACTION_MASK,
        sys_flag::TRANSACTION_COMMIT
    );
    assert_eq!(
        committed.prepared_transaction_offset,
        header.commit_log_offset
    );
    assert_eq!(committed.body, half.body);
    assert_eq!(broker.store.max_offset_in_queue(OP_TOPIC, 0), 1);

    // Next pass: the op resolves the copy; nothing is asked again and both progress offsets move on.
    broker.check_transactions(now_ms() + 5);
    assert!(next_check(&mut producer).is_none());
    assert_eq!(broker.offsets.query(HALF_TOPIC, SYSTEM_GROUP, 0), Some(2));
    assert_eq!(broker.offsets.query(OP_TOPIC, SYSTEM_GROUP, 0), Some(1));
}

#[test]
fn rollback_and_young_halves_are_not_checked() {
    let Fixture {
        broker,
        mut producer,
        _dir: _keep,
    } = fixture();
    let old = prepare(&broker, "R1", 5_000, &[]);
    assert_eq!(
        end(&broker, old.queue_offset, old.commit_log_offset, 12, "pg"),
        Some(0)
    );
    let _young = prepare(&broker, "Y1", 0, &[]);
    broker.check_transactions(now_ms() + 5);
    assert!(
        next_check(&mut producer).is_none(),
        "rolled back and young halves need no check"
    );
    assert_eq!(real_topic_count(&broker), 0);
    // The pass stopped at the young half: progress is past the rolled-back one only.
    assert_eq!(broker.offsets.query(HALF_TOPIC, SYSTEM_GROUP, 0), Some(1));
    // Unknown state: no response, nothing written.
    assert_eq!(end(&broker, 1, 0, 0, "pg"), None);
}

#[test]
fn end_transaction_refuses_mismatches() {
    let Fixture {
        broker,
        _dir: _keep,
        ..
    } = fixture();
    let half = prepare(&broker, "M1", 0, &[]);
    let system_error = Some(1);
    assert_eq!(
        end(
            &broker,
            half.queue_offset,
            half.commit_log_offset,
            8,
            "other"
        ),
        system_error
    );
    assert_eq!(
        end(
            &broker,
            half.queue_offset + 1,
            half.commit_log_offset,
            8,
            "pg"
        ),
        system_error
    );
    assert_eq!(
        end(
            &broker,
            half.queue_offset,
            half.commit_log_offset + 1,
            8,
            "pg"
        ),
        system_error
    );
    assert_eq!(real_topic_count(&broker), 0);
}

#[test]
fn halves_checked_too_often_move_aside() {
    let Fixture {
        broker,
        mut producer,
        _dir: _keep,
    } = fixture();
    prepare(&broker, "D1", 5_000, &[("TRANSACTION_CHECK_TIMES", "15")]);
    broker.check_transactions(now_ms() + 5);
    assert!(next_check(&mut producer).is_none());
    assert_eq!(broker.store.max_offset_in_queue(CHECK_MAX_TIME_TOPIC, 0), 1);
    assert!(broker.topics.get(CHECK_MAX_TIME_TOPIC).is_some());
}

#[test]
fn committed_half_with_a_delay_level_goes_through_the_schedule_topic() {
    let Fixture {
        broker,
        _dir: _keep,
        ..
    } = fixture();
    let half = prepare(&broker, "D1", 0, &[("DELAY", "2")]);
    assert_eq!(end(&broker, 0, half.commit_log_offset, 8, "pg"), Some(0));
    assert_eq!(real_topic_count(&broker), 0, "not visible before its delay");
    // Level 2 lives in queue 1 of SCHEDULE_TOPIC_XXXX, remembering the real topic and queue.
    let unit = broker
        .store
        .queue_unit(rmq_store::SCHEDULE_TOPIC, 1, 0)
        .expect("scheduled copy");
    let scheduled =
        StoredMessage::decode(&broker.store.message_at(unit.commit_log_offset).unwrap()).unwrap();
    assert_eq!(
        properties::get(&scheduled.properties, "REAL_TOPIC"),
        Some("T")
    );
    assert_eq!(
        properties::get(&scheduled.properties, "REAL_QID"),
        Some("2")
    );
    assert_eq!(
        scheduled.sys_flag & sys_flag::TRANSACTION_MASK,
        sys_flag::TRANSACTION_COMMIT
    );
    assert_eq!(scheduled.body, half.body);
}
