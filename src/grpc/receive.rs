//! ReceiveMessage: a POP_MESSAGE over the bridge, answered as a stream of a status, the messages and
//! the delivery timestamp (Java proxy's `ReceiveMessageActivity`, `ConsumerProcessor.popMessage`,
//! `PopMessageResultFilterImpl` and `ReceiveMessageResponseStreamWriter`, local mode).
//!
//! The pop always names queue -1 (`MessageQueueSelector`'s broker-acting queue): the broker pops from
//! every readable queue of the topic. A FIFO group (`consumeMessageOrderly`) pops in order.

use std::time::Duration;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::header::pop::PopMessageRequestHeader;
use rmq_codec::header::CommandHeader;
use rmq_proto::v2::{self, receive_message_response::Content, Code, ReceiveMessageResponse};

use super::ack::ack_request;
use super::assignment::{group_config, GroupConsumeSettings};
use super::consumer::{illegal, now_ms, status, validate_group, validate_topic, Caller, Refusal};
use super::dlq::send_back_request;
use super::popped::{decode_pop_response, timestamp, to_grpc_message, PopStatus, PoppedMessage};
use crate::broker::clients::Subscription;

/// `ProxyConfig.grpcClientConsumerMinLongPollingTimeoutMillis` / `...MaxLongPollingTimeoutMillis`.
const MIN_LONG_POLLING_MS: i64 = 5_000;
const MAX_LONG_POLLING_MS: i64 = 20_000;
/// `ProxyConfig.defaultInvisibleTimeMills`: the invisible time of an auto-renewed receive.
const DEFAULT_INVISIBLE_MS: i64 = 60_000;
/// `ProxyConfig.minInvisibleTimeMillsForRecv` / `maxInvisibleTimeMills`.
const MIN_INVISIBLE_MS: i64 = 10_000;
pub(super) const MAX_INVISIBLE_MS: i64 = 12 * 3600 * 1000;
/// `ProxyUtils.MAX_MSG_NUMS_FOR_POP_REQUEST`.
const MAX_BATCH: i32 = 32;
/// The client's request timeout the proxy assumes when it derives the poll time from the deadline
/// (`Settings.request_timeout`, 3 s in the clients).
const CLIENT_REQUEST_TIMEOUT_MS: i64 = 3_000;
/// Extra wait for the broker's answer beyond the poll time.
const POP_ANSWER_MARGIN: Duration = Duration::from_secs(3);
/// The first client version that knows ILLEGAL_POLLING_TIME.
const ILLEGAL_POLLING_TIME_SINCE: &str = "5.0.3";
/// `ConsumeInitMode.MAX`: a new group starts at the end of each queue.
const INIT_MODE_MAX: i32 = 1;

/// `protobuf Durations.toMillis`.
pub(super) fn millis(d: &prost_types::Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos / 1_000_000))
}

/// The time left of a call's deadline from its `grpc-timeout` header (gRPC over HTTP/2: up to 8 digits
/// and a unit, `H` `M` `S` `m` `u` `n`); `None` without one or when it does not parse.
pub fn deadline_ms(grpc_timeout: Option<&str>) -> Option<i64> {
    let text = grpc_timeout?.trim();
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(match unit {
        "H" => n * 3_600_000,
        "M" => n * 60_000,
        "S" => n * 1_000,
        "m" => n,
        "u" => n / 1_000,
        "n" => n / 1_000_000,
        _ => return None,
    })
}

/// The long-polling time (`ReceiveMessageActivity`): the client's, else the deadline less half the
/// request timeout, kept within [5 s, 20 s] and within the deadline. `remaining_ms` is the gRPC
/// deadline left, when the client sent one.
pub fn polling_time_ms(
    long_polling_timeout: Option<&prost_types::Duration>,
    remaining_ms: Option<i64>,
    client_version: &str,
) -> Result<i64, Refusal> {
    let mut polling = match (long_polling_timeout, remaining_ms) {
        (Some(d), _) => millis(d),
        (None, Some(left)) => left - CLIENT_REQUEST_TIMEOUT_MS / 2,
        (None, None) => MAX_LONG_POLLING_MS,
    };
    polling = polling.clamp(MIN_LONG_POLLING_MS, MAX_LONG_POLLING_MS);
    if let Some(left) = remaining_ms.filter(|left| polling > *left) {
        if left < MIN_LONG_POLLING_MS {
            // Clients before 5.0.3 do not know ILLEGAL_POLLING_TIME (Java compares the version strings).
            let code = if client_version.is_empty() || client_version < ILLEGAL_POLLING_TIME_SINCE {
                Code::BadRequest
            } else {
                Code::IllegalPollingTime
            };
            return Err(illegal(
                code,
                "The deadline time remaining is not enough for polling, please check network condition",
            ));
        }
        polling = left;
    }
    Ok(polling)
}

/// The invisible time of the pop: 60 s for an auto-renewed receive (push consumers), else the
/// client's, which must be within [10 s, 12 h] (`GrpcValidator.validateInvisibleTime`).
pub fn invisible_time_ms(req: &v2::ReceiveMessageRequest) -> Result<i64, Refusal> {
    if req.auto_renew {
        return Ok(DEFAULT_INVISIBLE_MS);
    }
    let ms = req.invisible_duration.as_ref().map_or(0, millis);
    check_invisible_time(ms, MIN_INVISIBLE_MS)?;
    Ok(ms)
}

pub(super) fn check_invisible_time(ms: i64, min: i64) -> Result<(), Refusal> {
    if ms < min {
        return Err(illegal(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too small. min is {min}"),
        ));
    }
    if ms > MAX_INVISIBLE_MS {
        return Err(illegal(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too large. max is {MAX_INVISIBLE_MS}"),
        ));
    }
    Ok(())
}

/// `FilterAPI.build` with `GrpcConverter.buildExpressionType`: SQL for SQL, TAG for anything else;
/// an empty SQL expression is refused.
pub fn subscription_of(
    topic: &str,
    filter: Option<&v2::FilterExpression>,
) -> Result<Subscription, Refusal> {
    let expression = filter.map_or("", |f| f.expression.as_str());
    if filter.is_some_and(|f| f.r#type == v2::FilterType::Sql as i32) {
        if expression.is_empty() {
            return Err(illegal(
                Code::IllegalFilterExpression,
                "Expression can't be null! SQL92",
            ));
        }
        let mut sub = Subscription::from_expression(topic, "*", 0);
        sub.sub_string = expression.to_string();
        sub.expression_type = "SQL92".to_string();
        return Ok(sub);
    }
    Ok(Subscription::from_expression(topic, expression, 0))
}

/// What one receive pops.
pub struct PopPlan<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub batch_size: i32,
    pub invisible_ms: i64,
    pub poll_ms: i64,
    pub sub: &'a Subscription,
    pub fifo: bool,
    pub attempt_id: Option<&'a str>,
}

impl PopPlan<'_> {
    /// The POP_MESSAGE request Java's proxy builds (`ConsumerProcessor.popMessage`).
    pub fn request(&self, born_time_ms: i64) -> RemotingCommand {
        let header = PopMessageRequestHeader {
            consumer_group: self.group.to_string(),
            topic: self.topic.to_string(),
            queue_id: -1,
            max_msg_nums: self.batch_size.min(MAX_BATCH),
            invisible_time: self.invisible_ms,
            poll_time: self.poll_ms,
            born_time: born_time_ms,
            init_mode: INIT_MODE_MAX,
            exp_type: Some(self.sub.expression_type.clone()),
            exp: Some(self.sub.sub_string.clone()),
            order: Some(self.fifo),
            attempt_id: self.attempt_id.map(str::to_string),
        };
        RemotingCommand::new_request(RequestCode::PopMessage, header.to_ext_fields())
    }
}

/// What `PopMessageResultFilterImpl` decides for one popped message.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Deliver,
    /// The broker's tag-hash filter let through a message whose tag is not subscribed: acked.
    NoMatch,
    /// Delivered `maxAttempts` times already: forwarded to the DLQ and acked.
    ToDlq,
}

pub fn verdict(m: &PoppedMessage, sub: &Subscription, max_attempts: i32) -> Verdict {
    // FilterUtils.isTagMatched: an empty tag set (`*`, SQL) matches everything.
    let tag_ok = sub.tags.is_empty() || m.tag().is_some_and(|t| sub.tags.iter().any(|s| s == t));
    if !tag_ok {
        Verdict::NoMatch
    } else if m.record.reconsume_times >= max_attempts {
        Verdict::ToDlq
    } else {
        Verdict::Deliver
    }
}

/// The stream Java writes: a status, then each message, then the delivery timestamp.
fn stream(head: v2::Status, messages: Vec<v2::Message>, now: i64) -> Vec<ReceiveMessageResponse> {
    let item = |content| ReceiveMessageResponse {
        content: Some(content),
    };
    let mut out = Vec::with_capacity(messages.len() + 2);
    out.push(item(Content::Status(head)));
    out.extend(messages.into_iter().map(|m| item(Content::Message(m))));
    out.push(item(Content::DeliveryTimestamp(timestamp(now))));
    out
}

/// ReceiveMessage. `remaining_ms` is what is left of the call's deadline, if it has one. Returns the
/// whole response stream (Java writes it after the pop completes too).
pub async fn receive_message(
    caller: &Caller<'_>,
    req: v2::ReceiveMessageRequest,
    remaining_ms: Option<i64>,
) -> Vec<ReceiveMessageResponse> {
    match receive(caller, &req, remaining_ms).await {
        Ok(items) => items,
        Err(refusal) => stream(refusal.status(), Vec::new(), now_ms()),
    }
}

async fn receive(
    caller: &Caller<'_>,
    req: &v2::ReceiveMessageRequest,
    remaining_ms: Option<i64>,
) -> Result<Vec<ReceiveMessageResponse>, Refusal> {
    let poll_ms = polling_time_ms(
        req.long_polling_timeout.as_ref(),
        remaining_ms,
        caller.client_version,
    )?;
    let topic_res = req.message_queue.as_ref().and_then(|q| q.topic.as_ref());
    let topic = validate_topic(caller.broker, topic_res)?;
    let group = validate_group(req.group.as_ref())?;
    let invisible_ms = invisible_time_ms(req)?;
    let sub = subscription_of(&topic, req.filter_expression.as_ref())?;
    let settings = match group_config(caller, &group).await {
        Some(config) => GroupConsumeSettings::of(&config),
        None => GroupConsumeSettings::default(),
    };
    let cmd = PopPlan {
        group: &group,
        topic: &topic,
        batch_size: req.batch_size,
        invisible_ms,
        poll_ms,
        sub: &sub,
        fifo: settings.fifo,
        attempt_id: req.attempt_id.as_deref(),
    }
    .request(now_ms());
    let wait = Duration::from_millis(poll_ms.max(0) as u64) + POP_ANSWER_MARGIN;
    let resp = caller.call_with_timeout(cmd, wait).await?;
    let outcome = decode_pop_response(
        resp.cmd.code,
        resp.cmd.remark.as_deref(),
        &resp.cmd.ext_fields,
        &resp.body,
        caller.broker_name,
    )
    .map_err(|e| {
        // The proxy finds a missing topic in its route lookup (TOPIC_NOT_FOUND) before it pops; any
        // other broker refusal is its INTERNAL_SERVER_ERROR with the remark.
        let code = if resp.cmd.code == i32::from(ResponseCode::TopicNotExist) {
            Code::TopicNotFound
        } else {
            Code::InternalServerError
        };
        illegal(code, e.0)
    })?;
    let head = match outcome.status {
        PopStatus::PollingFull => status(Code::TooManyRequests, "polling full"),
        PopStatus::NotFound => status(Code::MessageNotFound, "no new message"),
        PopStatus::Found => status(Code::Ok, "OK"),
    };
    if outcome.status != PopStatus::Found {
        return Ok(stream(head, Vec::new(), now_ms()));
    }
    let mut delivered = Vec::new();
    for m in outcome.messages {
        match verdict(&m, &sub, settings.max_attempts) {
            Verdict::Deliver => delivered.push(to_grpc_message(&m, &topic, now_ms())),
            Verdict::NoMatch => settle(caller, &group, &topic, &m, false).await,
            Verdict::ToDlq => settle(caller, &group, &topic, &m, true).await,
        }
    }
    let head = if delivered.is_empty() {
        status(Code::MessageNotFound, "no match message")
    } else {
        head
    };
    Ok(stream(head, delivered, now_ms()))
}

/// Acks a message the client will not get, after forwarding it to the DLQ when `to_dlq`
/// (`ConsumerProcessor.popMessage`: NO_MATCH acks, TO_DLQ forwards; failures are only logged).
async fn settle(caller: &Caller<'_>, group: &str, topic: &str, m: &PoppedMessage, to_dlq: bool) {
    if to_dlq {
        let back = send_back_request(group, topic, &m.handle, &m.message_id());
        match caller.call(back).await {
            Ok(resp) if resp.cmd.code == 0 => {}
            other => {
                tracing::warn!(group, topic, outcome = ?other.map(|r| r.cmd.code), "forward to DLQ failed");
                return;
            }
        }
    }
    if let Err(e) = caller.call(ack_request(group, topic, &m.handle)).await {
        tracing::warn!(group, topic, error = %e.message, "ack of a filtered message failed");
    }
}

#[cfg(test)]
#[path = "receive_tests.rs"]
mod tests;
