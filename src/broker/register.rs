//! Keeps every configured name server informed: REGISTER_BROKER at start, every
//! `registerNameServerPeriod`, and right after the topic table changes.
//!
//! One task registers. A request that changed the topic table hands its answer to that task
//! ([`Registrar::answer_after_registration`]), which sends it once the name servers have the new routes,
//! so a client that gets the answer also finds the route (Java registers inside the request), without a
//! tokio worker blocking on the name servers meanwhile.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use bytes::Bytes;
use rmq_codec::body::RegisterBrokerBody;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{
    CommandHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnregisterBrokerRequestHeader,
};
use rmq_codec::message::crc32_masked;
use rmq_store::config::perm;

use super::Broker;
use crate::remoting::{Answer, Outbound, Responder};

const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);
/// How soon a failed registration is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);
/// Answers waiting for a registration. Past this a request is answered at once; the registration it
/// asked for is already due.
const MAX_WAITING_ANSWERS: usize = 4096;

/// An answer to send once the name servers know the current topics (None: just register soon).
type Waiting = Option<(Responder, Outbound)>;

/// The way into the registration task.
pub struct Registrar {
    tx: mpsc::Sender<Waiting>,
    rx: Mutex<Option<mpsc::Receiver<Waiting>>>,
    stop: CancellationToken,
}

impl Default for Registrar {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(MAX_WAITING_ANSWERS);
        Registrar {
            tx,
            rx: Mutex::new(Some(rx)),
            stop: CancellationToken::new(),
        }
    }
}

impl Registrar {
    /// Sends `answer` after the next registration (a `Later` answer is left to its own path; the
    /// registration is still asked for).
    pub fn answer_after_registration(&self, answer: Answer, responder: Responder) -> Answer {
        let Answer::Now(out) = answer else {
            let _ = self.tx.try_send(None);
            return answer;
        };
        if responder.is_oneway() {
            let _ = self.tx.try_send(None);
            return Answer::Now(out);
        }
        match self.tx.try_send(Some((responder, out))) {
            Ok(()) => Answer::Later,
            Err(mpsc::error::TrySendError::Full(Some((_, out))))
            | Err(mpsc::error::TrySendError::Closed(Some((_, out)))) => Answer::Now(out),
            Err(_) => Answer::Later,
        }
    }

    /// Ends the registration task (shutdown), answering whatever still waits.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

/// A slave's master, as learnt from REGISTER_BROKER's answer (Java's `BrokerController.registerBrokerAll`
/// → `updateHaMasterAddress` / `SlaveSynchronize.setMasterAddr`). Two `watch` channels: the HA client
/// follows [`ha_addr`](Self::ha_addr), the slave sync [`master_addr`](Self::master_addr).
pub struct MasterAddresses {
    master: watch::Sender<Option<String>>,
    ha: watch::Sender<Option<String>>,
    /// `haMasterAddress` was set: the HA address is fixed, registration answers do not change it
    /// (Java's `updateMasterHAServerAddrPeriodically` false).
    ha_fixed: bool,
}

impl MasterAddresses {
    /// Starts with the configured `haMasterAddress`, if any (6 characters or more, as Java checks).
    pub fn new(fixed_ha: Option<&str>) -> Self {
        MasterAddresses {
            master: watch::Sender::new(None),
            ha: watch::Sender::new(fixed_ha.map(String::from)),
            ha_fixed: fixed_ha.is_some(),
        }
    }

    /// The master's HA address (`haServerAddr` or `haMasterAddress`), for the HA client.
    pub fn ha_addr(&self) -> watch::Receiver<Option<String>> {
        self.ha.subscribe()
    }

    /// The master's broker address (`masterAddr`), for the slave sync.
    pub fn master_addr(&self) -> watch::Receiver<Option<String>> {
        self.master.subscribe()
    }

    /// Takes a REGISTER_BROKER answer: `masterAddr` always (None while no master is registered, which
    /// pauses the slave sync), `haServerAddr` when present and not fixed by config.
    pub fn learn(&self, answer: &RegisterBrokerResponseHeader) {
        self.master.send_if_modified(|current| {
            let changed = *current != answer.master_addr;
            if changed {
                tracing::info!(master = ?answer.master_addr, "master address from the name server");
                current.clone_from(&answer.master_addr);
            }
            changed
        });
        if self.ha_fixed {
            return;
        }
        if let Some(ha) = &answer.ha_server_addr {
            self.ha.send_if_modified(|current| {
                let changed = current.as_ref() != Some(ha);
                if changed {
                    tracing::info!(ha = %ha, "master HA address from the name server");
                    *current = Some(ha.clone());
                }
                changed
            });
        }
    }
}

/// The uncompressed `RegisterBrokerBody` JSON.
pub(super) fn register_body(broker: &Broker) -> Bytes {
    let mut wrapper = broker.topics.register_wrapper();
    // Java's `registerBrokerAll`: a broker that is not read-write registers each topic with its
    // permission masked by `brokerPermission`, so clients route sends (or pulls) elsewhere.
    let broker_perm = broker.runtime().broker_permission;
    if !(perm::is_readable(broker_perm) && perm::is_writeable(broker_perm)) {
        for (_, topic) in &mut wrapper.topic_config_table {
            topic.perm &= broker_perm;
        }
    }
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: wrapper,
        filter_server_list: Vec::new(),
    };
    Bytes::from(body.encode())
}

/// Registers with every configured name server. Returns true when all of them accepted.
pub async fn register_once(broker: &Broker) -> bool {
    let body = register_body(broker);
    let config = &broker.config;
    let mut ext = ExtFields::new();
    RegisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: config.broker_addr(),
        cluster_name: config.broker_cluster_name.clone(),
        ha_server_addr: config.ha_server_addr(),
        broker_id: config.broker_id,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: false,
        body_crc32: crc32_masked(&body),
    }
    .encode(&mut ext);
    let mut all_accepted = true;
    // Java 4.9.7 takes the master from the first name server's answer.
    let mut master_learnt = false;
    for addr in config.namesrv_addrs() {
        let mut request = RemotingCommand::new_request(RequestCode::RegisterBroker, ext.clone());
        request.body = body.clone();
        match broker
            .namesrv_client
            .invoke(&addr, request, REGISTER_TIMEOUT)
            .await
        {
            Ok(resp) if resp.code == i32::from(ResponseCode::Success) => {
                tracing::debug!(namesrv = addr, "registered with name server");
                if config.is_slave() && !master_learnt {
                    match RegisterBrokerResponseHeader::decode(&resp.ext_fields) {
                        Ok(answer) => broker.masters.learn(&answer),
                        Err(e) => tracing::warn!(namesrv = addr, error = %e,
                            "unreadable REGISTER_BROKER answer"),
                    }
                    master_learnt = true;
                }
            }
            Ok(resp) => {
                all_accepted = false;
                tracing::warn!(namesrv = addr, code = resp.code, remark = ?resp.remark,
                    "name server refused registration");
            }
            Err(e) => {
                all_accepted = false;
                tracing::warn!(namesrv = addr, error = %e, "registration failed");
            }
        }
    }
    all_accepted
}

/// Registers now, then every `registerNameServerPeriod` and whenever a request asks, until the broker is
/// dropped or [`Registrar::stop`].
pub fn spawn_registration(broker: &Arc<Broker>) {
    let Some(mut rx) = broker.registrar.rx.lock().take() else {
        return;
    };
    let stop = broker.registrar.stop.clone();
    let weak = Arc::downgrade(broker);
    let period = Duration::from_millis(broker.config.register_name_server_period_ms.max(1000));
    tokio::spawn(async move {
        let mut waiting: Vec<(Responder, Outbound)> = Vec::new();
        loop {
            let Some(broker) = weak.upgrade() else { return };
            let accepted = register_once(&broker).await;
            drop(broker);
            for (responder, out) in waiting.drain(..) {
                responder.answer(out);
            }
            // A name server that is not up yet (started after the broker) should not leave the broker
            // unroutable for a whole period.
            let wait = if accepted {
                period
            } else {
                RETRY_AFTER_FAILURE.min(period)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                asked = rx.recv() => {
                    let Some(first) = asked else { return };
                    waiting.extend(first);
                    // Every request that changed topics meanwhile rides on the same registration.
                    while let Ok(more) = rx.try_recv() {
                        waiting.extend(more);
                    }
                }
                _ = stop.cancelled() => {
                    rx.close();
                    while let Ok(more) = rx.try_recv() {
                        waiting.extend(more);
                    }
                    for (responder, out) in waiting.drain(..) {
                        responder.answer(out);
                    }
                    return;
                }
            }
        }
    });
}

/// Tells name servers this broker is going away, so clients stop routing to it at once.
pub async fn unregister_all(broker: &Broker) {
    let config = &broker.config;
    let mut ext = ExtFields::new();
    UnregisterBrokerRequestHeader {
        broker_name: config.broker_name.clone(),
        broker_addr: config.broker_addr(),
        cluster_name: config.broker_cluster_name.clone(),
        broker_id: config.broker_id,
    }
    .encode(&mut ext);
    for addr in config.namesrv_addrs() {
        let request = RemotingCommand::new_request(RequestCode::UnregisterBroker, ext.clone());
        if let Err(e) = broker
            .namesrv_client
            .invoke(&addr, request, Duration::from_secs(3))
            .await
        {
            tracing::warn!(namesrv = addr, error = %e, "unregister failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(master: Option<&str>, ha: Option<&str>) -> RegisterBrokerResponseHeader {
        RegisterBrokerResponseHeader {
            master_addr: master.map(String::from),
            ha_server_addr: ha.map(String::from),
        }
    }

    #[test]
    fn a_slave_follows_the_registration_answer_unless_ha_master_address_is_set() {
        let learnt = MasterAddresses::new(None);
        learnt.learn(&answer(Some("h:10911"), Some("h:10912")));
        assert_eq!(learnt.master_addr().borrow().as_deref(), Some("h:10911"));
        assert_eq!(learnt.ha_addr().borrow().as_deref(), Some("h:10912"));
        // No master registered: the sync pauses, the HA client keeps the last address (Java updates
        // it only when the answer has one).
        learnt.learn(&answer(None, None));
        assert_eq!(*learnt.master_addr().borrow(), None);
        assert_eq!(learnt.ha_addr().borrow().as_deref(), Some("h:10912"));

        let fixed = MasterAddresses::new(Some("f:20912"));
        fixed.learn(&answer(Some("h:10911"), Some("h:10912")));
        assert_eq!(fixed.ha_addr().borrow().as_deref(), Some("f:20912"));
        assert_eq!(fixed.master_addr().borrow().as_deref(), Some("h:10911"));
    }
}
