//! Long polling, one mechanism for PULL_MESSAGE and POP_MESSAGE: a request that found nothing waits until a
//! put wakes one of its queues, its wait ends, its connection closes, or the broker shuts down (Java's
//! `PullRequestHoldService` and `PopLongPollingService`, woken by the put itself rather than by a
//! periodic scan).
//!
//! Bounds: the wait (`longPollingMaxTimeMills`, whatever the client asks), the requests parked on one
//! connection (`maxParkedRequestsPerConnection`) and on the broker (`maxParkedRequests`). A parked request
//! holds a [`Responder`], never its connection: when the connection closes the wait ends at once and its
//! parking places, its request and its queue signals are given back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Broker;
use crate::config::BrokerConfig;
use crate::remoting::{Outbound, ParkingPlace, Responder};

/// A parked request looks again this often even without a wake-up, as Java's hold services do (every
/// 5 s): a safety net for messages that reach a queue by a path that does not signal it.
const RECHECK: Duration = Duration::from_secs(5);

/// The parked requests of one broker and the wake-up signal of every queue one of them waits on.
pub struct LongPolling {
    /// topic -> queue id -> signal. An entry lives while a parked request watches it ([`Watch`]).
    signals: Mutex<HashMap<String, HashMap<i32, Arc<Notify>>>>,
    parked: Arc<AtomicUsize>,
    max_parked: usize,
    max_per_connection: usize,
    max_wait: Duration,
    /// Cancelled at shutdown: every parked request is answered at once.
    draining: CancellationToken,
}

/// A request's two parking places: one of its connection's and one of the broker's.
pub struct Reservation {
    _connection: ParkingPlace,
    broker_wide: Arc<AtomicUsize>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.broker_wide.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A parked request's hold on one queue's signal; the signal leaves the table with its last watcher.
struct Watch<'a> {
    polling: &'a LongPolling,
    topic: String,
    queue_id: i32,
    signal: Arc<Notify>,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut signals = self.polling.signals.lock();
        let Some(queues) = signals.get_mut(&self.topic) else {
            return;
        };
        // The table's reference and ours: nobody else waits on this queue.
        if Arc::strong_count(&self.signal) == 2 {
            queues.remove(&self.queue_id);
            if queues.is_empty() {
                signals.remove(&self.topic);
            }
        }
    }
}

/// Why a parked request's attempt runs: a wake-up (answer only if there is something to answer), or the
/// end of its wait (answer in any case).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Attempt {
    Woken,
    Final,
}

impl LongPolling {
    pub fn new(config: &BrokerConfig) -> Self {
        LongPolling {
            signals: Mutex::new(HashMap::new()),
            parked: Arc::new(AtomicUsize::new(0)),
            max_parked: config.max_parked_requests,
            max_per_connection: config.max_parked_requests_per_connection,
            max_wait: Duration::from_millis(config.long_polling_max_time_ms),
            draining: CancellationToken::new(),
        }
    }

    /// Wakes every request parked on this queue. Called after each put.
    pub fn message_arrived(&self, topic: &str, queue_id: i32) {
        if let Some(signal) = self
            .signals
            .lock()
            .get(topic)
            .and_then(|queues| queues.get(&queue_id))
        {
            signal.notify_waiters();
        }
    }

    /// The wait for a client that asked for `requested_ms`, within `longPollingMaxTimeMills`.
    pub fn bounded_wait(&self, requested_ms: i64) -> Duration {
        Duration::from_millis(requested_ms.max(0) as u64).min(self.max_wait)
    }

    /// A parking place on the request's connection and on the broker, or None when either is full or the
    /// broker is shutting down.
    pub fn reserve(&self, responder: &Responder) -> Option<Reservation> {
        if self.draining.is_cancelled() {
            return None;
        }
        let connection = responder.reserve_parking(self.max_per_connection)?;
        if self.parked.fetch_add(1, Ordering::AcqRel) >= self.max_parked {
            self.parked.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Reservation {
            _connection: connection,
            broker_wide: self.parked.clone(),
        })
    }

    /// Ends every wait now (shutdown): parked requests are answered with what they find.
    pub fn drain(&self) {
        self.draining.cancel();
    }

    /// Requests parked right now.
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::Acquire)
    }

    /// Queues with a signal in the table (a test sees the table pruned).
    #[cfg(test)]
    pub fn watched_queues(&self) -> usize {
        self.signals.lock().values().map(HashMap::len).sum()
    }

    fn watch(&self, topic: &str, queue_id: i32) -> Watch<'_> {
        let signal = self
            .signals
            .lock()
            .entry(topic.to_string())
            .or_default()
            .entry(queue_id)
            .or_default()
            .clone();
        Watch {
            polling: self,
            topic: topic.to_string(),
            queue_id,
            signal,
        }
    }
}

impl Broker {
    /// Parks a request that found nothing, on the queues `watched`, for `wait`. `attempt` runs first
    /// right away (a put may have landed since the request looked), then on every wake-up with
    /// [`Attempt::Woken`] (an answer ends the wait), and once with [`Attempt::Final`] when the wait ends
    /// or the broker drains. A closed connection ends the wait without an answer.
    ///
    /// Returns the responder back when the request cannot park (oneway, no parking place): the caller
    /// answers at once.
    pub(super) fn park<F>(
        &self,
        responder: Responder,
        watched: Vec<(String, i32)>,
        wait: Duration,
        attempt: F,
    ) -> Result<(), Responder>
    where
        F: FnMut(&Broker, Attempt) -> Option<Outbound> + Send + 'static,
    {
        if responder.is_oneway() {
            return Err(responder);
        }
        let (Some(me), Some(reservation)) = (self.self_arc(), self.polling.reserve(&responder))
        else {
            return Err(responder);
        };
        tokio::spawn(async move {
            let _reservation = reservation;
            if let Some(out) = wait_for_answer(&me, &responder, watched, wait, attempt).await {
                let code = out.command().code;
                me.metrics.record_late_rpc(&responder, code, true);
                responder.answer(out);
            }
        });
        Ok(())
    }
}

async fn wait_for_answer<F>(
    broker: &Broker,
    responder: &Responder,
    watched: Vec<(String, i32)>,
    wait: Duration,
    mut attempt: F,
) -> Option<Outbound>
where
    F: FnMut(&Broker, Attempt) -> Option<Outbound>,
{
    let polling = &broker.polling;
    let watches: Vec<Watch> = watched
        .iter()
        .map(|(topic, queue_id)| polling.watch(topic, *queue_id))
        .collect();
    let deadline = Instant::now() + wait;
    loop {
        // Registered before the attempt looks, so a put between the look and the wait still wakes us.
        let mut wakeups: Vec<_> = watches
            .iter()
            .map(|w| Box::pin(w.signal.notified()))
            .collect();
        for wakeup in &mut wakeups {
            wakeup.as_mut().enable();
        }
        if let Some(out) = attempt(broker, Attempt::Woken) {
            return Some(out);
        }
        let any_wakeup = async move {
            if wakeups.is_empty() {
                std::future::pending::<()>().await;
            }
            futures::future::select_all(wakeups).await;
        };
        let recheck = (Instant::now() + RECHECK).min(deadline);
        tokio::select! {
            _ = responder.closed() => return None,
            _ = polling.draining.cancelled() => break,
            _ = tokio::time::sleep_until(recheck) => {
                if Instant::now() >= deadline {
                    break;
                }
            }
            _ = any_wakeup => {}
        }
    }
    attempt(broker, Attempt::Final)
}

#[cfg(test)]
#[path = "long_poll_tests.rs"]
mod tests;
