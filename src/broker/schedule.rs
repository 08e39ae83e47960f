//! Delayed messages and 5.x timer messages.
//!
//! Put side, [`route_delayed`] (Java's `HookUtils.handleScheduleMessage`): a message with `DELAY > 0` is
//! stored in `SCHEDULE_TOPIC_XXXX` queue `level - 1` with `REAL_TOPIC`/`REAL_QID`; one with
//! `TIMER_DELIVER_MS`, `TIMER_DELAY_SEC` or `TIMER_DELAY_MS` in the future goes to `rmq_sys_wheel_timer`
//! queue 0 with `TIMER_OUT_MS`. The store gives both consume-queue units the delivery time as tags code.
//!
//! Delivery side, [`Schedule`]: a task ticks every [`TICK_MS`]. Per delay level a cursor walks its queue
//! in order (deliveries of one level are due in store order) and re-puts every due record into its real
//! topic and queue; the cursors are `config/delayOffset.json`, Java's file. Timer messages are due in any
//! order, so [`timer`] keeps the loaded ones in a heap instead.
//!
//! rmqd does not write Java's `timerwheel`/`timerlog`/`timercheck` files: a store moved to a Java 5.x broker
//! re-reads `rmq_sys_wheel_timer` from its start (delivered timers come again, none is lost), and timer
//! progress lives in the rmqd-only `config/timerOffset.json`. Delivery is at least once: a crash between a
//! delivery and the next persist (every 5 s) delivers again, as in Java.

mod timer;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_codec::code::ResponseCode;
use rmq_codec::message::{self, properties, sys_flag, StoredMessage};
use rmq_store::config::{
    delay_offset_path, ConfigError, DelayOffsetFile, PersistedFile, Persister,
};
use rmq_store::{StoreError, SCHEDULE_TOPIC, TIMER_OUT_MS, TIMER_TOPIC};

use super::{reply_error, Broker};
use crate::config::BrokerConfig;
use crate::error::ServiceError;
use crate::remoting::connection::now_ms;

/// How often due messages are looked for: delivery is at most this late (plus the put).
pub const TICK_MS: u64 = 100;
/// Cursors and timer progress are handed to the persister this often when they moved (Java:
/// `flushDelayOffsetInterval` 10 s).
const PERSIST_EVERY_TICKS: u64 = 50;
/// Most re-puts per delay level per tick, so one level's backlog cannot stall the others for long.
const MAX_DELIVER_PER_LEVEL: usize = 1_000;
/// Timer due times are rounded to this (`timerPrecisionMs`).
pub const TIMER_PRECISION_MS: i64 = 1_000;
/// Java's `TRANSACTION_HALF` topic: a delayed message never goes back there.
const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";

/// Settings the put-side rewrite needs.
#[derive(Debug, Clone, Copy)]
pub struct DelayRules {
    /// Number of configured delay levels (`messageDelayLevel`).
    pub max_level: i32,
    pub timer_enabled: bool,
    pub timer_max_delay_ms: i64,
}

impl DelayRules {
    pub fn from_config(config: &BrokerConfig) -> Self {
        DelayRules {
            max_level: config.store.message_delay_levels_ms.len() as i32,
            timer_enabled: config.timer_wheel_enable,
            timer_max_delay_ms: config.timer_max_delay_sec.saturating_mul(1_000),
        }
    }
}

fn delay_level(props: &str) -> i32 {
    properties::get(props, properties::DELAY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Moves a message about to be stored to the schedule or timer topic when it asks for a delay (Java's put
/// hook). Only ordinary and committed messages are delayed; half messages are stored as they are.
/// A DELAY level wins over the timer properties, which are then dropped.
pub fn route_delayed(
    msg: &mut StoredMessage,
    rules: DelayRules,
    now_ms: i64,
) -> Result<(), ServiceError> {
    if !matches!(
        sys_flag::transaction_type(msg.sys_flag),
        sys_flag::TRANSACTION_NOT | sys_flag::TRANSACTION_COMMIT
    ) {
        return Ok(());
    }
    let level = delay_level(&msg.properties);
    if level > 0 {
        let mut props = std::mem::take(&mut msg.properties);
        for key in [
            properties::TIMER_DELIVER_MS,
            properties::TIMER_DELAY_SEC,
            properties::TIMER_DELAY_MS,
        ] {
            if properties::get(&props, key).is_some() {
                props = properties::remove(&props, key);
            }
        }
        let level = level.min(rules.max_level);
        if level > 0 {
            if level != delay_level(&props) {
                props = properties::put(&props, properties::DELAY, &level.to_string());
            }
            msg.properties = remember_real_queue(&props, msg);
            move_to(msg, SCHEDULE_TOPIC, level - 1);
        } else {
            msg.properties = props;
        }
        return Ok(());
    }
    if msg.topic == TIMER_TOPIC || properties::get(&msg.properties, TIMER_OUT_MS).is_some() {
        return Ok(()); // already a timer record, or one delivered from it
    }
    let Some(deliver_ms) = timer_deliver_ms(&msg.properties, now_ms)? else {
        return Ok(());
    };
    if !rules.timer_enabled {
        return Err(reply_error(
            ResponseCode::SystemError,
            "accurate timer message is not enabled, timerWheelEnable is false",
        ));
    }
    if deliver_ms <= now_ms {
        return Ok(()); // due already: an ordinary message
    }
    if deliver_ms - now_ms > rules.timer_max_delay_ms {
        return Err(timer_illegal(rules));
    }
    // Java's slot of a due time: rounded down, and a whole second belongs to the slot before.
    let out_ms = if deliver_ms % TIMER_PRECISION_MS == 0 {
        deliver_ms - TIMER_PRECISION_MS
    } else {
        deliver_ms / TIMER_PRECISION_MS * TIMER_PRECISION_MS
    };
    let props = properties::put(&msg.properties, TIMER_OUT_MS, &out_ms.to_string());
    msg.properties = remember_real_queue(&props, msg);
    move_to(msg, TIMER_TOPIC, 0);
    Ok(())
}

/// The absolute delivery time a message's timer properties ask for, `None` without any.
fn timer_deliver_ms(props: &str, now_ms: i64) -> Result<Option<i64>, ServiceError> {
    let number = |key| -> Result<Option<i64>, ServiceError> {
        properties::get(props, key)
            .map(|v| v.trim().parse::<i64>())
            .transpose()
            .map_err(|_| {
                reply_error(
                    ResponseCode::MessageIllegal,
                    format!("timer message illegal, {key} is not a number"),
                )
            })
    };
    if let Some(sec) = number(properties::TIMER_DELAY_SEC)? {
        return Ok(Some(now_ms.saturating_add(sec.saturating_mul(1_000))));
    }
    if let Some(ms) = number(properties::TIMER_DELAY_MS)? {
        return Ok(Some(now_ms.saturating_add(ms)));
    }
    number(properties::TIMER_DELIVER_MS)
}

fn timer_illegal(rules: DelayRules) -> ServiceError {
    reply_error(
        ResponseCode::MessageIllegal,
        format!(
            "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if set \
             del msg, the delay time should be bigger than the current time",
            rules.timer_max_delay_ms
        ),
    )
}

fn remember_real_queue(props: &str, msg: &StoredMessage) -> String {
    let props = properties::put(props, properties::REAL_TOPIC, &msg.topic);
    properties::put(&props, properties::REAL_QUEUE_ID, &msg.queue_id.to_string())
}

fn move_to(msg: &mut StoredMessage, topic: &str, queue_id: i32) {
    msg.topic = topic.to_string();
    msg.magic = message::magic_for_topic(topic);
    msg.queue_id = queue_id;
}

/// The record a due delayed or timer message becomes (`messageTimeUp`, `convertMessage`): same body, flags,
/// born and store host and reconsume times, in its real topic and queue. Java builds the stored property
/// string before it clears DELAY / REAL_TOPIC in its map, so the string keeps them; only the timer adds its
/// enqueue and dequeue times. `None` when REAL_TOPIC / REAL_QID are missing or name the half topic.
fn delivered_record(
    stored: &StoredMessage,
    extra_props: &[(&str, String)],
) -> Option<StoredMessage> {
    let topic = properties::get(&stored.properties, properties::REAL_TOPIC)?;
    let queue_id = properties::get(&stored.properties, properties::REAL_QUEUE_ID)?
        .trim()
        .parse::<i32>()
        .ok()?;
    if topic == HALF_TOPIC {
        return None;
    }
    let mut props = stored.properties.clone();
    for (key, value) in extra_props {
        props = properties::put(&props, key, value);
    }
    Some(StoredMessage {
        magic: message::magic_for_topic(topic),
        topic: topic.to_string(),
        queue_id,
        queue_offset: 0,
        commit_log_offset: 0,
        store_timestamp: 0,
        prepared_transaction_offset: 0,
        properties: props,
        ..stored.clone()
    })
}

/// Java's `correctDeliverTimestamp`: a due time further away than the level's delay (the clock went back)
/// is due now.
fn corrected_due(tags_code: i64, delay_ms: i64, now_ms: i64) -> i64 {
    if tags_code > now_ms.saturating_add(delay_ms) {
        now_ms
    } else {
        tags_code
    }
}

/// Why a level or the timer stopped delivering in this tick.
enum Stop {
    /// Nothing due (or the queue's end).
    Idle,
    /// The re-put failed; the same record is tried again next tick.
    PutFailed(StoreError),
}

struct State {
    /// Next `SCHEDULE_TOPIC_XXXX` queue offset to deliver, per level (1-based).
    cursors: DelayOffsetFile,
    timer: timer::TimerQueue,
    dirty: bool,
    /// Set at shutdown after the last persist: no delivery may move a cursor past what was written.
    stopped: bool,
}

/// The delivery side: per-level cursors and the timer queue.
pub struct Schedule {
    levels_ms: Vec<i64>,
    state: Arc<Mutex<State>>,
    /// `config/delayOffset.json` and `config/timerOffset.json`, written by the broker's persister thread.
    delay_file: PersistedFile,
    timer_file: PersistedFile,
}

impl Schedule {
    pub fn load(config: &BrokerConfig, persister: &Persister) -> Result<Self, ConfigError> {
        let root = &config.store.root_dir;
        let delay_path = delay_offset_path(root);
        let timer_path = rmq_store::config::config_dir(root).join("timerOffset.json");
        let cursors = DelayOffsetFile::load(&delay_path)?;
        let timer =
            timer::TimerQueue::new(DelayOffsetFile::load(&timer_path)?.offsets.get(&0).copied());
        let state = Arc::new(Mutex::new(State {
            cursors,
            timer,
            dirty: false,
            stopped: false,
        }));
        let delay_file = {
            let state = Arc::clone(&state);
            persister.register(delay_path, move || Some(state.lock().cursors.to_value()))
        };
        let timer_file = {
            let state = Arc::clone(&state);
            persister.register(timer_path, move || {
                let offset = state.lock().timer.committed()?;
                let file = DelayOffsetFile {
                    offsets: [(0, offset)].into(),
                    data_version: None,
                };
                Some(file.to_value())
            })
        };
        Ok(Schedule {
            levels_ms: config.store.message_delay_levels_ms.clone(),
            state,
            delay_file,
            timer_file,
        })
    }

    /// (level, next queue offset to deliver) of every level with a saved cursor, as in
    /// `delayOffset.json` (Java's `ScheduleMessageService.offsetTable`).
    pub fn delay_cursors(&self) -> Vec<(i32, i64)> {
        let state = self.state.lock();
        state
            .cursors
            .offsets
            .iter()
            .map(|(&l, &o)| (l, o))
            .collect()
    }

    /// GET_ALL_DELAY_OFFSET (45): Java's `ScheduleMessageService.encode()`, the `delayOffset.json`
    /// document.
    pub fn delay_offsets_value(&self) -> rmq_codec::fastjson::Value {
        self.state.lock().cursors.to_value()
    }

    /// A slave's copy of its master's delay cursors (`SlaveSynchronize.syncDelayOffset` writes the
    /// master's text as `delayOffset.json`): the cursors become the master's and the file is written.
    pub fn take_from_master(&self, master: DelayOffsetFile) {
        self.state.lock().cursors = master;
        self.delay_file.mark_changed();
    }

    /// Delivers everything due at `now_ms`: each delay level, then the timer queue.
    pub fn tick(&self, broker: &Broker, now_ms: i64) {
        let mut state = self.state.lock();
        if state.stopped {
            return;
        }
        for (index, delay_ms) in self.levels_ms.iter().enumerate() {
            let level = index as i32 + 1;
            if let Stop::PutFailed(e) =
                self.deliver_level(broker, &mut state, level, *delay_ms, now_ms)
            {
                tracing::warn!(level, error = %e, "delivering a delayed message failed, retrying");
            }
        }
        let State { timer, dirty, .. } = &mut *state;
        if timer.tick(broker, now_ms) {
            *dirty = true;
        }
    }

    fn deliver_level(
        &self,
        broker: &Broker,
        state: &mut State,
        level: i32,
        delay_ms: i64,
        now_ms: i64,
    ) -> Stop {
        let queue_id = level - 1;
        let min = broker.store.min_offset_in_queue(SCHEDULE_TOPIC, queue_id);
        let max = broker.store.max_offset_in_queue(SCHEDULE_TOPIC, queue_id);
        let saved = state.cursors.offsets.get(&level).copied().unwrap_or(0);
        let mut cursor = saved.clamp(min, max.max(min));
        let mut stop = Stop::Idle;
        for _ in 0..MAX_DELIVER_PER_LEVEL {
            let Some(unit) = broker.store.queue_unit(SCHEDULE_TOPIC, queue_id, cursor) else {
                break;
            };
            if corrected_due(unit.tags_code, delay_ms, now_ms) > now_ms {
                break;
            }
            let stored = broker
                .store
                .message_at(unit.commit_log_offset)
                .and_then(|raw| StoredMessage::decode(&raw).ok());
            match stored.as_ref().and_then(|m| delivered_record(m, &[])) {
                Some(mut msg) => {
                    if let Err(e) = redeliver(broker, &mut msg) {
                        stop = Stop::PutFailed(e);
                        break;
                    }
                }
                None => tracing::error!(level, cursor, "skipping an undeliverable delayed message"),
            }
            cursor += 1;
        }
        if cursor != saved {
            state.cursors.offsets.insert(level, cursor);
            state.dirty = true;
        }
        stop
    }

    /// Hands `delayOffset.json` and `timerOffset.json` to the persister when a cursor moved since the last
    /// call.
    pub fn persist_if_dirty(&self) {
        let mut state = self.state.lock();
        if std::mem::take(&mut state.dirty) {
            self.mark_files_changed();
        }
    }

    /// The last persist: afterwards nothing is delivered any more, so what the persister writes next is
    /// final.
    pub fn shutdown(&self) {
        self.state.lock().stopped = true;
        self.mark_files_changed();
    }

    fn mark_files_changed(&self) {
        self.delay_file.mark_changed();
        self.timer_file.mark_changed();
    }
}

/// Stores a delivered message (WAIT=false: never waits for a flush) and wakes its parked pulls.
fn redeliver(broker: &Broker, msg: &mut StoredMessage) -> Result<(), StoreError> {
    let tags_code = message::tags_code(properties::get(&msg.properties, properties::TAGS));
    broker.store.put_deferred(msg, tags_code, false)?;
    broker.polling.message_arrived(&msg.topic, msg.queue_id);
    Ok(())
}

/// Schedules delivery every [`TICK_MS`], and the cursors' persistence every [`PERSIST_EVERY_TICKS`].
pub fn schedule(broker: &Arc<Broker>) {
    let mut ticks: u64 = 0;
    let period = Duration::from_millis(TICK_MS);
    broker
        .periodic
        .every("delayed-delivery", broker, period, move |broker| {
            ticks += 1;
            let persist = ticks.is_multiple_of(PERSIST_EVERY_TICKS);
            async move {
                broker.schedule.tick(&broker, now_ms() as i64);
                if persist {
                    broker.schedule.persist_if_dirty();
                }
            }
        });
}

#[cfg(test)]
mod tests;
