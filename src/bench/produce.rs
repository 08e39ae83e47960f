//! One producer connection: requests written from a [`Template`], up to `inflight` outstanding,
//! responses matched by opaque on a reader task.
//!
//! The hot path allocates nothing per message: frames are copied from the template into a reused
//! buffer, the in-flight map keeps its capacity, and responses are parsed in place from the read
//! buffer (only failures are fully decoded, for their remark).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::{Buf, Bytes, BytesMut};
use parking_lot::Mutex;
use rmq_codec::command::{RemotingCommand, MAX_FRAME_LENGTH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::report::{Channel, Recorder};
use super::template::{SendFields, Template};

/// Requests written with one `write_all` at most (keeps bursts bounded under `--async`).
const MAX_BURST: u64 = 256;
/// How long to wait for outstanding responses after the run.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What one producer connection sends.
pub struct ProducerPlan {
    pub addr: String,
    /// Write queue ids to cycle through.
    pub queue_ids: Vec<i32>,
    /// One template per topic this connection sends to (same size and batch); requests cycle through
    /// the topics, and move to the next queue after each full cycle.
    pub templates: Vec<Template>,
    pub inflight: usize,
    /// Requests per second for this connection; `None` as fast as the window allows.
    pub requests_per_s: Option<f64>,
    pub deadline: Instant,
    /// Requests all connections may still send (`--count`, in requests of `batch` messages), so a run
    /// sends exactly that many; `None` without `--count`.
    pub requests_left: Option<Arc<AtomicU64>>,
}

/// Takes up to `wanted` from the shared budget; returns how many were taken.
fn take_budget(left: &AtomicU64, wanted: u64) -> u64 {
    let mut taken = 0;
    let _ = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
        taken = n.min(wanted);
        Some(n - taken)
    });
    taken
}

/// Send times of outstanding requests, by opaque.
struct Outstanding {
    sent: Mutex<HashMap<i32, Instant>>,
    window: Semaphore,
    closed: AtomicBool,
}

pub fn epoch_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Sends until the plan's deadline, then waits for the outstanding responses.
pub async fn run(plan: ProducerPlan, channel: Arc<super::report::Stats>) -> anyhow::Result<()> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&plan.addr))
        .await
        .ok()
        .with_context(|| format!("connect to {} timed out", plan.addr))?
        .with_context(|| format!("connect to {}", plan.addr))?;
    stream.set_nodelay(true)?;
    let (read_half, mut write_half) = stream.into_split();
    let outstanding = Arc::new(Outstanding {
        sent: Mutex::new(HashMap::with_capacity(plan.inflight * 2)),
        window: Semaphore::new(plan.inflight),
        closed: AtomicBool::new(false),
    });
    let reader = tokio::spawn(read_responses(
        read_half,
        outstanding.clone(),
        channel.clone(),
        channel.send.recorder(),
        (plan.templates[0].messages, plan.templates[0].body_bytes),
    ));
    let result = send_loop(&plan, &outstanding, &mut write_half).await;
    if let Err(error) = &result {
        channel.send.failure(&format!("write: {error}"), 0);
    }
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while !outstanding.sent.lock().is_empty()
        && !outstanding.closed.load(Ordering::Relaxed)
        && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    reader.abort();
    let lost = outstanding.sent.lock().len() as u64;
    if lost > 0 {
        let kind = if outstanding.closed.load(Ordering::Relaxed) {
            "connection closed"
        } else {
            "timeout"
        };
        channel.send.failure(kind, lost);
    }
    let _ = write_half.shutdown().await;
    result
}

async fn send_loop(
    plan: &ProducerPlan,
    outstanding: &Outstanding,
    write_half: &mut tokio::net::tcp::OwnedWriteHalf,
) -> anyhow::Result<()> {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let (mut opaque, mut uniq, mut queue_index, mut issued) = (1i32, 0u64, 0usize, 0u64);
    let mut topic_index = 0usize;
    let started = Instant::now();
    loop {
        let mut budget = MAX_BURST;
        if let Some(rate) = plan.requests_per_s {
            let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
            if due <= issued {
                let next = started + Duration::from_secs_f64(issued as f64 / rate);
                tokio::time::sleep_until(next.min(plan.deadline)).await;
                if Instant::now() >= plan.deadline {
                    return Ok(());
                }
                continue;
            }
            budget = budget.min(due - issued);
        }
        tokio::select! {
            permit = outstanding.window.acquire() => match permit {
                Ok(permit) => permit.forget(),
                Err(_) => return Ok(()), // the reader closed the window: the connection is gone
            },
            _ = tokio::time::sleep_until(plan.deadline) => return Ok(()),
        }
        let mut count = 1;
        while count < budget {
            match outstanding.window.try_acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => break,
            }
            count += 1;
        }
        if let Some(left) = &plan.requests_left {
            let granted = take_budget(left, count);
            outstanding.window.add_permits((count - granted) as usize);
            if granted == 0 {
                return Ok(());
            }
            count = granted;
        }
        let now = Instant::now();
        let stamp_us = epoch_us();
        {
            let mut sent = outstanding.sent.lock();
            for _ in 0..count {
                let fields = SendFields {
                    opaque,
                    queue_id: plan.queue_ids[queue_index],
                    born_ms: stamp_us / 1000,
                    stamp_us,
                };
                plan.templates[topic_index].write(&mut buf, &fields, &mut uniq);
                sent.insert(opaque, now);
                opaque = opaque.wrapping_add(1);
                topic_index += 1;
                if topic_index == plan.templates.len() {
                    topic_index = 0;
                    queue_index = (queue_index + 1) % plan.queue_ids.len();
                }
            }
        }
        issued += count;
        write_half.write_all(&buf).await?;
        buf.clear();
        if now >= plan.deadline {
            return Ok(());
        }
    }
}

/// `(code, opaque)` of a response frame (without its length prefix), read in place when the header
/// is binary; a JSON header is decoded in full.
fn response_ids(frame: &[u8]) -> Option<(i32, i32)> {
    if frame.len() >= 13 && frame[0] == 1 {
        let code = i16::from_be_bytes([frame[4], frame[5]]);
        let opaque = i32::from_be_bytes([frame[9], frame[10], frame[11], frame[12]]);
        return Some((i32::from(code), opaque));
    }
    let command = RemotingCommand::decode(Bytes::copy_from_slice(frame)).ok()?;
    Some((command.code, command.opaque))
}

fn failure_kind(code: i32, frame: &[u8]) -> String {
    let remark = RemotingCommand::decode(Bytes::copy_from_slice(frame))
        .ok()
        .and_then(|command| command.remark)
        .unwrap_or_default();
    let remark: String = remark.chars().take(100).collect();
    format!("code {code}: {remark}")
}

async fn read_responses(
    mut read_half: OwnedReadHalf,
    outstanding: Arc<Outstanding>,
    stats: Arc<super::report::Stats>,
    recorder: Recorder,
    (messages, bytes): (u64, u64),
) {
    let channel: &Channel = &stats.send;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    'read: loop {
        match read_half.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let now = Instant::now();
        let mut hist = recorder.lock();
        while buf.len() >= 4 {
            let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if len + 4 > MAX_FRAME_LENGTH {
                break 'read;
            }
            if buf.len() < 4 + len {
                buf.reserve(4 + len - buf.len());
                break;
            }
            let frame = &buf[4..4 + len];
            let Some((code, opaque)) = response_ids(frame) else {
                break 'read;
            };
            // Requests from the broker (none expected) and late answers are skipped.
            if let Some(sent_at) = outstanding.sent.lock().remove(&opaque) {
                if code == 0 {
                    channel.success(messages, bytes);
                    let us = now.duration_since(sent_at).as_micros() as u64;
                    hist.saturating_record(us.max(1));
                } else {
                    channel.failure(&failure_kind(code, frame), 1);
                }
                outstanding.window.add_permits(1);
            }
            buf.advance(4 + len);
        }
    }
    outstanding.closed.store(true, Ordering::Relaxed);
    outstanding.window.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_codec::code::ResponseCode;
    use rmq_codec::command::SerializeType;

    #[test]
    fn the_count_budget_hands_out_exactly_what_is_left() {
        let left = AtomicU64::new(5);
        assert_eq!(take_budget(&left, 3), 3);
        assert_eq!(take_budget(&left, 3), 2);
        assert_eq!(take_budget(&left, 3), 0);
        assert_eq!(left.load(Ordering::Relaxed), 0);
    }

    fn frame_of(command: &RemotingCommand) -> Vec<u8> {
        let mut out = BytesMut::new();
        command.encode(&mut out);
        out[4..].to_vec()
    }

    #[test]
    fn response_ids_in_both_header_formats() {
        let mut response =
            RemotingCommand::new_response(ResponseCode::SystemBusy, Some("busy".into()));
        response.opaque = -123_456;
        let json = frame_of(&response);
        assert_eq!(response_ids(&json), Some((response.code, -123_456)));
        response.serialize_type = SerializeType::RocketMq;
        let binary = frame_of(&response);
        assert_eq!(response_ids(&binary), Some((response.code, -123_456)));
        assert!(failure_kind(response.code, &binary).ends_with(": busy"));
        assert_eq!(response_ids(&[0, 0, 0, 9, b'{']), None);
    }
}
