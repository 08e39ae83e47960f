//! Replication with other threads at work: pulls on the slave, and the index catch-up after a crash.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_codec::message::{properties, StoredMessage};

use super::{
    assert_same_index, assert_same_queues, config, master_bytes, open, put_range, replay,
    FILE_SIZE, QUEUES,
};
use crate::index::Pause;
use crate::message_store::{MessageStore, StoreHooks};

#[test]
fn pulls_during_replication_see_only_whole_records() {
    let master_dir = tempfile::tempdir().unwrap();
    let slave_dir = tempfile::tempdir().unwrap();
    let master = open(master_dir.path(), false);
    put_range(&master, 0, 150);
    let bytes = master_bytes(&master, 0);
    let slave = Arc::new(open(slave_dir.path(), true));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (slave, done) = (Arc::clone(&slave), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut reads = 0usize;
            loop {
                let last_round = done.load(Ordering::Acquire);
                for (topic, queue_id) in QUEUES {
                    let mut offset = slave.min_offset_in_queue(topic, queue_id);
                    loop {
                        let got =
                            slave.get_messages(topic, queue_id, offset, 32, usize::MAX, &|_| true);
                        if got.messages.is_empty() {
                            break;
                        }
                        for raw in &got.messages {
                            let m = StoredMessage::decode(raw).unwrap();
                            assert_eq!(m.topic, topic);
                            assert_eq!(m.queue_id, queue_id);
                            reads += 1;
                        }
                        offset = got.next_begin_offset;
                    }
                }
                if last_round {
                    return reads;
                }
            }
        })
    };
    replay(&slave, 0, &bytes, 11, false);
    done.store(true, Ordering::Release);
    let reads = reader.join().unwrap();
    let units: i64 = QUEUES
        .iter()
        .map(|(t, q)| master.max_offset_in_queue(t, *q))
        .sum();
    assert!(reads as i64 >= units, "the last round read every message");
    assert_same_queues(&master, &slave);
}

/// After a crash a slave re-indexes its log in the background while replication goes on; the log may then end
/// inside a record. Catch-up must wait there, not skip the rest of that file.
#[test]
fn index_catch_up_waits_at_a_record_cut_by_replication() {
    let master_dir = tempfile::tempdir().unwrap();
    let slave_dir = tempfile::tempdir().unwrap();
    let master = open(master_dir.path(), false);
    put_range(&master, 0, 60);
    let slave = open(slave_dir.path(), true);
    replay(&slave, 0, &master_bytes(&master, 0), 5, true);
    let crashed_at = slave.max_commit_log_offset() as u64;
    drop(slave); // a crash: the index files are not vouched for and are rebuilt at open

    put_range(&master, 60, 120);
    let all = master_bytes(&master, 0);
    // A record starting a file more than a file beyond the crash point, with records after it in its file.
    let cut_record = (crashed_at + FILE_SIZE + 1).div_ceil(FILE_SIZE) * FILE_SIZE;
    let record_len = master.message_at(cut_record as i64).unwrap().len() as u64;
    let cut = (cut_record + record_len / 2) as usize;
    assert!(cut < all.len());

    let pause = Pause::new(1);
    let hooks = StoreHooks {
        index_pause: Some(Arc::clone(&pause)),
        ..StoreHooks::default()
    };
    let slave = MessageStore::open_with(config(slave_dir.path(), true), hooks).unwrap();
    assert!(slave.index().is_catching_up());
    pause.wait_held();
    assert_eq!(slave.max_commit_log_offset() as u64, crashed_at);
    let from = crashed_at as usize;
    slave
        .append_replicated(crashed_at, &all[from..cut])
        .unwrap();
    // Let catch-up run record by record until it has indexed the one just before the cut one.
    let last_whole = {
        let mut pos = cut_record - FILE_SIZE;
        let mut last = None;
        while let Some(raw) = master.message_at(pos as i64) {
            last = Some(StoredMessage::decode(&raw).unwrap());
            pos += raw.len() as u64;
        }
        last.unwrap()
    };
    let key = properties::get(&last_whole.properties, properties::UNIQ_KEY)
        .unwrap()
        .to_owned();
    while slave
        .query_message(&last_whole.topic, &key, 8, 0, i64::MAX)
        .messages
        .is_empty()
    {
        pause.allow(1);
        pause.wait_held();
    }
    // Two more steps (the BLANK ending that file, then the cut record): catch-up reaches the cut record.
    for _ in 0..2 {
        pause.allow(1);
        pause.wait_held();
    }
    assert!(slave.index().is_catching_up());
    // Records after the cut arrive while catch-up still owns the index.
    replay(&slave, cut as u64, &all[cut..], 6, true);
    pause.allow(1_000_000);
    let deadline = Instant::now() + Duration::from_secs(30);
    while slave.index().is_catching_up() {
        assert!(Instant::now() < deadline, "catch-up never finished");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_same_index(&master, &slave, 120, 0);
}
