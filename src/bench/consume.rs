//! Pulling: one task per queue, long-polling PULL_MESSAGE from a start offset, counting what arrives.
//!
//! Pulls carry the subscription (`*`) in the request, so no heartbeat is needed on Java or rmqd brokers.
//! Queues are spread over `threads` connections; each connection multiplexes its queues' pulls by opaque.

use std::sync::Arc;
use std::time::Duration;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::{CommandHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use rmq_codec::message::{peek_record, RecordPeek};
use tokio::time::Instant;

use super::produce::epoch_us;
use super::report::{Recorder, Stats};
use super::route::{max_offset, BrokerQueues};
use super::template::body_stamp_us;
use crate::remoting::client::RemotingClient;

/// PullSysFlag bits: suspend (long polling) and subscription carried in the request.
const SYS_FLAG_SUSPEND: i32 = 0x2;
const SYS_FLAG_SUBSCRIPTION: i32 = 0x4;
const MAX_MSGS_PER_PULL: i32 = 32;
/// How long the broker may park a pull that finds nothing.
const SUSPEND_MS: i64 = 1000;
const PULL_TIMEOUT: Duration = Duration::from_millis(SUSPEND_MS as u64 + 4000);
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One queue to pull, with where to start.
#[derive(Debug, Clone)]
pub struct QueueCursor {
    pub addr: String,
    pub queue_id: i32,
    pub offset: i64,
}

/// Every readable queue of the route with its start offset: 0, or the current end.
pub async fn start_cursors(
    client: &RemotingClient,
    route: &[BrokerQueues],
    topic: &str,
    from_start: bool,
) -> anyhow::Result<Vec<QueueCursor>> {
    let mut cursors = Vec::new();
    for broker in route {
        for queue_id in 0..broker.read_queues {
            let offset = if from_start {
                0
            } else {
                max_offset(client, &broker.addr, topic, queue_id).await?
            };
            cursors.push(QueueCursor {
                addr: broker.addr.clone(),
                queue_id,
                offset,
            });
        }
    }
    Ok(cursors)
}

/// What latency to record for received messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyKind {
    /// The pull round trip (consume mode).
    PullRoundTrip,
    /// Receive time minus the send time in the body (or the born timestamp) (e2e mode).
    EndToEnd,
}

pub struct Puller {
    pub client: Arc<RemotingClient>,
    pub topic: String,
    pub group: String,
    pub cursor: QueueCursor,
    pub latency: LatencyKind,
    pub deadline: Instant,
}

fn pull_request(puller: &Puller) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: puller.group.clone(),
        topic: puller.topic.clone(),
        queue_id: puller.cursor.queue_id,
        queue_offset: puller.cursor.offset,
        max_msg_nums: MAX_MSGS_PER_PULL,
        sys_flag: SYS_FLAG_SUSPEND | SYS_FLAG_SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: SUSPEND_MS,
        subscription: Some("*".to_string()),
        sub_version: 0,
        expression_type: Some("TAG".to_string()),
        max_msg_bytes: None,
    };
    RemotingCommand::new_request(RequestCode::PullMessage, header.to_ext_fields())
}

/// Counts the records of a pull body; records latencies per `kind`. Returns (messages, body bytes).
fn count_records(body: &[u8], kind: LatencyKind, hist: &Recorder, pull_us: u64) -> (u64, u64) {
    let (mut messages, mut bytes, mut rest) = (0u64, 0u64, body);
    let now_us = epoch_us();
    let mut hist = hist.lock();
    while let Ok(RecordPeek::Message(record)) = peek_record(rest) {
        messages += 1;
        bytes += record.body.len() as u64;
        let latency_us = match kind {
            LatencyKind::PullRoundTrip => None,
            LatencyKind::EndToEnd => {
                let sent_us = body_stamp_us(record.body)
                    .unwrap_or_else(|| (record.born_timestamp.max(0) as u64) * 1000);
                Some(now_us.saturating_sub(sent_us))
            }
        };
        if let Some(us) = latency_us {
            hist.saturating_record(us.max(1));
        }
        rest = &rest[record.total_size..];
    }
    if kind == LatencyKind::PullRoundTrip && messages > 0 {
        hist.saturating_record(pull_us.max(1));
    }
    (messages, bytes)
}

/// Pulls one queue until the deadline.
pub async fn run(mut puller: Puller, stats: Arc<Stats>, hist: Recorder) {
    let channel = &stats.recv;
    while Instant::now() < puller.deadline {
        let started = Instant::now();
        let call = puller
            .client
            .invoke(&puller.cursor.addr, pull_request(&puller), PULL_TIMEOUT);
        let response = tokio::select! {
            response = call => response,
            _ = tokio::time::sleep_until(puller.deadline) => return,
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                channel.failure(&format!("pull: {error}"), 1);
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        let next =
            PullMessageResponseHeader::decode(&response.ext_fields).map(|h| h.next_begin_offset);
        match ResponseCode::from(response.code) {
            ResponseCode::Success => {
                let pull_us = started.elapsed().as_micros() as u64;
                let (messages, bytes) =
                    count_records(&response.body, puller.latency, &hist, pull_us);
                channel.success(messages, bytes);
            }
            ResponseCode::PullNotFound | ResponseCode::PullRetryImmediately => {}
            ResponseCode::PullOffsetMoved => {
                channel.failure("pull offset moved", 1);
            }
            _ => {
                let remark: String = response
                    .remark
                    .unwrap_or_default()
                    .chars()
                    .take(100)
                    .collect();
                channel.failure(&format!("pull code {}: {remark}", response.code), 1);
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        }
        if let Ok(next) = next {
            puller.cursor.offset = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use rmq_codec::message::StoredMessage;

    #[test]
    fn counts_records_and_end_to_end_latency() {
        let now_us = epoch_us();
        let mut body = BytesMut::new();
        for stamp in [now_us - 2_000, now_us - 4_000] {
            let mut payload = b"RMQB".to_vec();
            payload.extend_from_slice(&stamp.to_be_bytes());
            payload.extend_from_slice(b"rest");
            let message = StoredMessage {
                topic: "T".into(),
                body: payload.into(),
                ..StoredMessage::default()
            };
            message.encode(&mut body).unwrap();
        }
        // A message without a stamp falls back to its born timestamp (ms).
        let plain = StoredMessage {
            topic: "T".into(),
            body: bytes::Bytes::from_static(b"x"),
            born_timestamp: (now_us / 1000) as i64 - 10,
            ..StoredMessage::default()
        };
        plain.encode(&mut body).unwrap();
        let stats = Stats::default();
        let hist = stats.recv.recorder();
        let (messages, bytes) = count_records(&body, LatencyKind::EndToEnd, &hist, 0);
        assert_eq!((messages, bytes), (3, 16 + 16 + 1));
        let hist = hist.lock();
        assert_eq!(hist.len(), 3);
        assert!(
            hist.min() >= 2_000 && hist.max() >= 10_000,
            "{} {}",
            hist.min(),
            hist.max()
        );
        assert!(hist.max() < 10_000_000);
    }

    #[test]
    fn truncated_body_counts_whole_records_only() {
        let message = StoredMessage {
            topic: "T".into(),
            body: bytes::Bytes::from_static(b"abc"),
            ..StoredMessage::default()
        };
        let mut body = BytesMut::new();
        message.encode(&mut body).unwrap();
        message.encode(&mut body).unwrap();
        let stats = Stats::default();
        let hist = stats.recv.recorder();
        let cut = &body[..body.len() - 1];
        assert_eq!(
            count_records(cut, LatencyKind::PullRoundTrip, &hist, 5),
            (1, 3)
        );
        assert_eq!(hist.lock().len(), 1, "one pull round trip recorded");
    }
}
