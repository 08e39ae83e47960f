//! Keeps every configured name server informed: REGISTER_BROKER at start, every
//! `registerNameServerPeriod`, and right after the topic table changes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_codec::body::RegisterBrokerBody;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{
    CommandHeader, RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader,
};
use rmq_codec::message::crc32_masked;

use super::Broker;

const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);
/// How soon a failed registration is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// The uncompressed `RegisterBrokerBody` JSON.
fn register_body(broker: &Broker) -> Bytes {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: broker.topics.register_wrapper(),
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

/// Registers now and then every `registerNameServerPeriod`, until the broker is dropped. Topic changes
/// register at once from the request that made them (`Broker::dispatch`).
pub fn spawn_registration(broker: &Arc<Broker>) {
    let weak = Arc::downgrade(broker);
    let period = Duration::from_millis(broker.config.register_name_server_period_ms.max(1000));
    tokio::spawn(async move {
        loop {
            let Some(broker) = weak.upgrade() else { return };
            let accepted = register_once(&broker).await;
            drop(broker);
            // A name server that is not up yet (started after the broker) should not leave the broker
            // unroutable for a whole period.
            let wait = if accepted {
                period
            } else {
                RETRY_AFTER_FAILURE.min(period)
            };
            tokio::time::sleep(wait).await;
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
