//! Store work that can block for milliseconds, kept from stalling the tokio workers that serve every other
//! connection: the store's blocking hook, and making a new topic's consume queues before its first sends.
//!
//! On ext4 a new consume queue costs a mkdir, a file create and an mmap (about half a millisecond of CPU,
//! more on a busy disk), and a put can find the append lock held by a stalled put (a slow page fault) for up
//! to `waitTimeMillsInSendQueue`. On a 2-core machine there are two workers, so one such wait used to stall
//! half of all connections.

use rmq_store::config::perm;

use super::Broker;

/// Queues of a topic made at UPDATE_AND_CREATE_TOPIC; queues beyond these are made by their first send,
/// as in Java.
const MAX_PREPARED_QUEUES: i32 = 64;

/// The store's blocking hook (`StoreHooks::blocking`, given to the broker's store at open), for the rare put
/// that must wait: for a new consume queue's directory and file, or for an append lock held by a stalled put.
pub(super) use crate::remoting::off_worker::run_off_worker;

impl Broker {
    /// Makes the consume queues of a topic just created or updated by UPDATE_AND_CREATE_TOPIC (write
    /// queues `0..write_queue_nums`, at most [`MAX_PREPARED_QUEUES`]) now, exactly as the first send to
    /// each would, so that the first sends do not pay for it. Java makes them lazily; the directories,
    /// file names and sizes are the same. A failure only leaves the queue to its first send.
    pub(super) fn prepare_queues(&self, topic: &str, write_queue_nums: i32, topic_perm: i32) {
        if !perm::is_writeable(topic_perm) {
            return;
        }
        let count = write_queue_nums.clamp(0, MAX_PREPARED_QUEUES);
        run_off_worker(&mut || {
            for queue_id in 0..count {
                if let Err(e) = self.store.prepare_queue(topic, queue_id) {
                    tracing::warn!(topic, queue_id, error = %e, "cannot create the consume queue");
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::broker::test_support::{config_in, message};
    use std::path::Path;

    use rmq_codec::code::RequestCode;
    use rmq_codec::command::RemotingCommand;
    use rmq_codec::header::{CommandHeader, CreateTopicRequestHeader};

    use super::*;

    fn create_topic_request(topic: &str, write_queues: i32, perm: i32) -> RemotingCommand {
        let header = CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: write_queues,
            write_queue_nums: write_queues,
            perm,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: None,
            force: None,
        };
        RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic, header.to_ext_fields())
    }

    /// The files of one queue directory: (name, length).
    fn queue_files(root: &Path, topic: &str, queue_id: i32) -> Vec<(String, u64)> {
        let dir = root
            .join("consumequeue")
            .join(topic)
            .join(queue_id.to_string());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<(String, u64)> = entries
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn created_topics_get_their_write_queues_as_the_first_send_would_make_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(&dir);
        let cq_file_size = config.store.mapped_file_size_consume_queue;
        let broker = Broker::open(config).unwrap();
        let rw = perm::READ | perm::WRITE;
        broker
            .create_topic(&create_topic_request("Prepared", 3, rw))
            .unwrap();
        broker
            .create_topic(&create_topic_request("ReadOnly", 3, perm::READ))
            .unwrap();
        let first = vec![("00000000000000000000".to_string(), cq_file_size)];
        for queue_id in 0..3 {
            assert_eq!(queue_files(dir.path(), "Prepared", queue_id), first);
        }
        assert!(queue_files(dir.path(), "Prepared", 3).is_empty());
        assert!(queue_files(dir.path(), "ReadOnly", 0).is_empty());

        // A lazily made queue looks the same, and the first put into a prepared one starts at offset 0.
        let mut msg = message(&broker, "Prepared", 1, "x", None);
        assert_eq!(broker.store.put(&mut msg, 0).unwrap().queue_offset, 0);
        msg.topic = "Lazy".into();
        broker.store.put(&mut msg, 0).unwrap();
        assert_eq!(queue_files(dir.path(), "Lazy", 1), first);
        assert_eq!(queue_files(dir.path(), "Prepared", 1), first);
        assert_eq!(broker.store.max_offset_in_queue("Prepared", 1), 1);
    }
}
