//! The broker role: request dispatch and the state shared by its processors.

mod acl_admin;
mod admin;
mod admin_stats;
mod attributes;
pub mod auto_create;
mod blocking;
mod broker_status;
mod call_client;
pub mod clients;
mod config_admin;
mod consumer_status;
mod filter;
mod group_admin;
mod groups;
#[cfg(test)]
mod ha_tests;
mod heartbeat;
mod long_poll;
mod maintenance;
pub mod message_type;
mod metrics;
mod metrics_lag;
mod metrics_view;
mod offsets;
mod order_lock;
mod periodic;
mod pop;
mod pull;
mod query_cq;
pub mod register;
mod reset_offset;
mod retro;
mod retry;
mod runtime_info;
mod schedule;
mod send;
mod send_ack;
mod slave_role;
mod slave_sync;
mod sql92;
mod stats_items;
mod sync_source;
#[cfg(test)]
pub(crate) mod test_support;
mod time_span;
#[cfg(test)]
mod topic_attributes_tests;
pub mod topics;
mod transaction;
mod uniq_id;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{CommandHeader, NotifyConsumerIdsChangedRequestHeader};
use rmq_store::config::Persister;
use rmq_store::{MessageStore, StoreHooks};

use crate::config::BrokerConfig;
use crate::error::ServiceError;
use crate::namesrv::success;
use crate::remoting::client::RemotingClient;
use crate::remoting::connection::now_ms;
use crate::remoting::unsupported::UnsupportedCodes;
use crate::remoting::{Answer, Connection, RequestHandler};
use clients::ClientRegistry;
use groups::GroupTable;
use long_poll::LongPolling;
use offsets::OffsetTable;
use register::Registrar;
use topics::TopicTable;

pub struct Broker {
    pub config: BrokerConfig,
    pub store: Arc<MessageStore>,
    pub topics: TopicTable,
    offsets: OffsetTable,
    groups: GroupTable,
    clients: Mutex<ClientRegistry>,
    /// Pulls and pops waiting for messages.
    polling: LongPolling,
    /// The registration task's inbox: answers that wait for the name servers to learn new routes.
    registrar: Registrar,
    /// A slave's master and master HA address, learnt from registration (or `haMasterAddress`).
    pub masters: register::MasterAddresses,
    /// Delivery of delayed and timer messages (`SCHEDULE_TOPIC_XXXX`, `rmq_sys_wheel_timer`).
    schedule: schedule::Schedule,
    /// Per-queue locks of orderly consumer groups (LOCK_BATCH_MQ).
    order_locks: order_lock::OrderLocks,
    /// Compiled SQL92 selectors of pulls and CHECK_CLIENT_CONFIG.
    selectors: filter::SelectorCache,
    /// 5.x pop consumption: in-flight checkpoints and per-group request modes.
    pop: pop::PopState,
    /// Put/get totals and TPS samples for GET_BROKER_RUNTIME_INFO.
    runtime: runtime_info::RuntimeStats,
    /// `BrokerStatsManager` items for VIEW_BROKER_STATS_DATA.
    stats_items: stats_items::BrokerStatsItems,
    /// Counters for `/metrics` (`metricsExporterType=PROM`).
    metrics: metrics::BrokerMetrics,
    pub namesrv_client: RemotingClient,
    /// `brokerIP1:listenPort`, written into every record as STOREHOST.
    store_host: SocketAddr,
    /// Lets `&self` methods hand an owned broker to spawned tasks (parked requests).
    me: Weak<Broker>,
    /// GET/UPDATE_BROKER_CONFIG: the config as last updated and the keys that change at run time.
    config_admin: config_admin::ConfigAdmin,
    /// Plain ACL checked before every request (`aclEnable=true`); None when off.
    acl: Option<Arc<crate::acl::Acl>>,
    /// The thread that writes the tables' config files (topics, groups, offsets, delay and pop state).
    persister: Persister,
    /// Offset persistence, client expiry, delivery, revive, checks and samples; stopped by `shutdown`.
    periodic: periodic::PeriodicTasks,
    /// Request codes already logged as REQUEST_CODE_NOT_SUPPORTED.
    unsupported: UnsupportedCodes,
    /// Replication: the master's HA state (None on a slave or without a commit-log source) and the slave's
    /// HA client status (`crate::ha`).
    pub ha_master: Option<Arc<crate::ha::master::HaMaster>>,
    pub ha_client: Arc<crate::ha::slave::HaClientStatus>,
}

type Reply = Result<RemotingCommand, ServiceError>;

/// How often client channels are checked for expiry (Java's `ClientHousekeepingService`: 10 s).
const CLIENT_EXPIRY_PERIOD: Duration = Duration::from_secs(10);

impl Broker {
    pub fn open(mut config: BrokerConfig) -> anyhow::Result<Arc<Self>> {
        // A slave's store refuses puts (SEND_MESSAGE answers Java's SERVICE_NOT_AVAILABLE from there) and
        // grows only by replication.
        config.store.slave = config.is_slave();
        let store_host = (config.broker_ip1.as_str(), config.listen_port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .with_context(|| format!("brokerIP1 {:?} is not an IP address", config.broker_ip1))?;
        let (appended_tx, appended) = tokio::sync::watch::channel(0u64);
        let hooks = StoreHooks {
            blocking: Some(Arc::new(blocking::run_off_worker)),
            // Wakes the HA transfers after every append (Java's notifyTransferSome wake-up).
            appended: Some(Arc::new(move |end| {
                appended_tx.send_replace(end);
            })),
        };
        let store = MessageStore::open_with(config.store.clone(), hooks).with_context(|| {
            format!(
                "cannot open the store at {}",
                config.store.root_dir.display()
            )
        })?;
        let persister = Persister::start().context("cannot start the config persister thread")?;
        let topics = TopicTable::load(&config, &persister)?;
        let offsets = OffsetTable::load(&config, &persister)?;
        let groups = GroupTable::load(&config, &persister)?;
        let schedule = schedule::Schedule::load(&config, &persister)?;
        let config_dir = rmq_store::config::config_dir(&config.store.root_dir);
        let pop = pop::PopState::load(&config_dir, &persister)?;
        let acl = if config.acl_enable {
            Some(crate::acl::Acl::load(&config.acl_file_path)?)
        } else {
            None
        };
        let namesrv_tls = config.tls.client()?;
        let store = Arc::new(store);
        let ha_master = crate::ha::is_master(&config)
            .then(|| crate::ha::store_source(&store))
            .map(|source| crate::ha::master::HaMaster::new(config.ha.clone(), source, appended));
        Ok(Arc::new_cyclic(|me| Broker {
            topics,
            offsets,
            groups,
            config_admin: config_admin::ConfigAdmin::new(&config),
            me: me.clone(),
            acl,
            store,
            ha_master,
            ha_client: Arc::default(),
            clients: Mutex::new(ClientRegistry::default()),
            polling: LongPolling::new(&config),
            registrar: Registrar::default(),
            masters: register::MasterAddresses::new(config.fixed_ha_master_address()),
            schedule,
            order_locks: order_lock::OrderLocks::default(),
            selectors: filter::SelectorCache::default(),
            pop,
            runtime: runtime_info::RuntimeStats::new(),
            stats_items: stats_items::BrokerStatsItems::new(),
            metrics: metrics::BrokerMetrics::new(
                config.metrics_exporter_type == crate::metrics::ExporterType::Prom,
            ),
            namesrv_client: RemotingClient::with_tls(namesrv_tls),
            store_host,
            config,
            persister,
            periodic: periodic::PeriodicTasks::default(),
            unsupported: UnsupportedCodes::default(),
        }))
    }

    /// Wakes the pulls and pops parked on a queue that got messages (the send path, or replication).
    pub fn message_arrived(&self, topic: &str, queue_id: i32) {
        self.polling.message_arrived(topic, queue_id);
    }

    fn self_arc(&self) -> Option<Arc<Broker>> {
        self.me.upgrade()
    }

    /// Starts the background work: registration and the periodic tasks.
    pub fn start(self: &Arc<Self>) {
        register::spawn_registration(self);
        let tasks = &self.periodic;
        let offsets_period =
            Duration::from_millis(self.config.flush_consumer_offset_interval_ms.max(100));
        tasks.every("consumer-offsets", self, offsets_period, |b| async move {
            b.offsets.persist()
        });
        tasks.every(
            "client-expiry",
            self,
            CLIENT_EXPIRY_PERIOD,
            |b| async move { b.expire_clients() },
        );
        // The writers a slave does not run, as Java: delayed/timer delivery (`handleScheduleMessageService`),
        // transaction check-back (`startProcessorByHa`) and pop revive (a master-only service in 5.x).
        if !self.config.is_slave() {
            transaction::check::schedule(self);
            schedule::schedule(self);
            pop::schedule(self);
        }
        runtime_info::schedule(self);
        slave_sync::schedule(self);
        stats_items::schedule(self);
        if let Some(acl) = &self.acl {
            tasks.every(
                "acl-reload",
                acl,
                crate::acl::RELOAD_POLL,
                |acl| async move {
                    tokio::task::block_in_place(|| acl.reload_if_changed());
                },
            );
        }
    }

    /// Closes the channels of clients silent for `channelExpiredTimeout` and tells their groups.
    fn expire_clients(&self) {
        let timeout = self.runtime().channel_expired_timeout_ms;
        let changed = self.clients.lock().expire(now_ms(), timeout);
        for group in changed {
            tracing::info!(group, "consumer channel expired");
            self.notify_consumer_ids_changed(&group);
        }
    }

    /// The first half of a shutdown, while connections are still open: parked pulls and pops are
    /// answered now with what they find, answers waiting for a registration are sent, and the broker
    /// leaves the name servers so clients route elsewhere.
    pub async fn stop_serving(&self) {
        self.polling.drain();
        self.registrar.stop();
        register::unregister_all(self).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.polling.parked() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::info!(
            still_parked = self.polling.parked(),
            "parked requests answered"
        );
    }

    /// Flushes and persists everything; the store removes its abort file.
    pub async fn shutdown(&self) {
        self.periodic.stop().await;
        self.offsets.persist();
        self.schedule.shutdown();
        self.pop.persist();
        if let Err(e) = self.persister.stop() {
            tracing::error!(error = %e, "persisting config files failed");
        }
        if let Err(e) = self.store.shutdown() {
            tracing::error!(error = %e, "store shutdown failed");
        }
    }

    /// Checks the ACL, runs the processor, and when the request changed the topic table, sends its answer
    /// only once the name servers know the new routes (Java registers inside the request), through the
    /// registration task.
    fn dispatch(&self, conn: &Connection, req: &RemotingCommand) -> Answer {
        if let Some(acl) = &self.acl {
            if let Err(denied) = acl.check(conn.peer().ip(), req) {
                acl.log_refusal(conn.peer(), req.code, &denied);
                return denied.into_response().into();
            }
        }
        let changes_before = self.topics.change_count();
        let started = Instant::now();
        let answer = self
            .process(conn, req)
            .unwrap_or_else(|e| e.into_response().into());
        let took = started.elapsed();
        self.metrics
            .record_rpc(req.code, req.is_oneway(), &answer, took);
        self.metrics
            .record_create(req, &answer, took, |t| self.is_system_topic(t));
        if self.topics.change_count() == changes_before {
            return answer;
        }
        self.registrar
            .answer_after_registration(answer, conn.responder(req))
    }

    fn process(&self, conn: &Connection, req: &RemotingCommand) -> Result<Answer, ServiceError> {
        if let Some(refusal) = self.slave_refusal(req) {
            return Ok(refusal);
        }
        let reply = match RequestCode::from(req.code) {
            RequestCode::SendMessage | RequestCode::SendMessageV2 => {
                return Ok(self.send_message(conn, req))
            }
            RequestCode::SendBatchMessage => return Ok(self.send_batch(conn, req)),
            RequestCode::PullMessage | RequestCode::LitePullMessage => {
                return Ok(self.pull(conn, req))
            }
            RequestCode::QueryMessage => return self.query_message(req).map(Answer::Now),
            RequestCode::HeartBeat => self.heartbeat(conn, req),
            RequestCode::ConsumerSendMsgBack => self.consumer_send_msg_back(req),
            RequestCode::UnregisterClient => self.unregister_client(conn, req),
            RequestCode::GetConsumerListByGroup => self.consumer_list(req),
            RequestCode::QueryConsumerOffset => self.query_consumer_offset(req),
            RequestCode::UpdateConsumerOffset => self.update_consumer_offset(req),
            RequestCode::GetMaxOffset => self.max_offset(req),
            RequestCode::GetMinOffset => self.min_offset(req),
            RequestCode::GetEarliestMsgStoretime => self.earliest_store_time(req),
            RequestCode::UpdateAndCreateTopic => self.create_topic(req),
            RequestCode::UpdateAndCreateTopicList => self.create_topic_list(req),
            RequestCode::DeleteTopicInBroker => self.delete_topic(req),
            RequestCode::GetAllTopicConfig => self.all_topic_config(),
            RequestCode::GetTopicConfig => self.topic_config(req),
            RequestCode::GetTopicStatsInfo => self.topic_stats(req),
            RequestCode::GetConsumeStats => self.consume_stats(req),
            RequestCode::GetConsumerConnectionList => self.consumer_connections(req),
            RequestCode::GetProducerConnectionList => self.producer_connections(req),
            RequestCode::QueryTopicConsumeByWho => self.topic_consumed_by(req),
            RequestCode::GetBrokerConsumeStats => self.broker_consume_stats(req),
            RequestCode::QueryConsumeQueue => self.query_consume_queue(req),
            RequestCode::QueryConsumeTimeSpan => self.consume_time_span(req),
            RequestCode::UpdateAndCreateSubscriptiongroup => self.update_subscription_group(req),
            RequestCode::GetAllSubscriptiongroupConfig => self.all_subscription_groups(),
            RequestCode::GetAllConsumerOffset => self.all_consumer_offsets(),
            RequestCode::GetAllDelayOffset => self.all_delay_offsets(),
            RequestCode::GetAllMessageRequestMode => self.all_message_request_modes(),
            RequestCode::GetTimerCheckPoint => self.timer_check_point(),
            RequestCode::GetTimerMetrics => self.timer_metrics(),
            RequestCode::DeleteSubscriptiongroup => self.delete_subscription_group(req),
            RequestCode::UpdateAndCreateSubscriptiongroupList => {
                self.update_subscription_group_list(req)
            }
            RequestCode::GetSubscriptiongroupConfig => self.subscription_group(req),
            RequestCode::UpdateBrokerConfig => self.update_broker_config(req),
            RequestCode::GetBrokerConfig => self.broker_config(),
            RequestCode::ViewMessageById => self.view_message(req),
            RequestCode::LockBatchMq => self.lock_batch_mq(req),
            RequestCode::UnlockBatchMq => self.unlock_batch_mq(req),
            RequestCode::EndTransaction => {
                return self
                    .end_transaction(req)
                    .map(|r| r.map_or(Answer::Nothing, Answer::from))
            }
            RequestCode::CheckClientConfig => self.check_client_config(req),
            RequestCode::SearchOffsetByTimestamp => self.search_offset(req),
            RequestCode::InvokeBrokerToResetOffset => self.reset_offset(req),
            RequestCode::GetConsumerRunningInfo => return self.consumer_running_info(conn, req),
            RequestCode::InvokeBrokerToGetConsumerStatus => return self.consumer_status(conn, req),
            RequestCode::ConsumeMessageDirectly => return self.consume_message_directly(conn, req),
            RequestCode::GetBrokerRuntimeInfo => self.broker_runtime_info(),
            RequestCode::CloneGroupOffset => self.clone_group_offset(req),
            RequestCode::CleanExpiredConsumequeue => self.clean_expired_consume_queues(),
            RequestCode::CleanUnusedTopic => self.clean_unused_topics(),
            RequestCode::DeleteExpiredCommitlog => self.delete_expired_commit_log(),
            RequestCode::ViewBrokerStatsData => self.view_broker_stats_data(req),
            RequestCode::PopMessage => return self.pop_message(conn, req),
            RequestCode::AckMessage => self.ack_message(req),
            RequestCode::BatchAckMessage => self.batch_ack_message(req),
            RequestCode::ChangeMessageInvisibletime => self.change_invisible_time(req),
            RequestCode::QueryAssignment => self.query_assignment(req),
            RequestCode::SetMessageRequestMode => self.update_message_request_mode(req),
            RequestCode::GetSystemTopicListFromBroker => self.system_topic_list(),
            RequestCode::GetAllProducerInfo => self.all_producer_info(),
            RequestCode::GetBrokerHaStatus => self.ha_status(),
            RequestCode::GetBrokerEpochCache => self.broker_epoch_cache(),
            RequestCode::UpdateAndCreateAclConfig => self.update_acl_config(req),
            RequestCode::DeleteAclConfig => self.delete_acl_config(req),
            RequestCode::GetBrokerClusterAclInfo => self.acl_version_info(),
            RequestCode::UpdateGlobalWhiteAddrsConfig => self.update_global_white_addrs(req),
            _ => Err(self.unsupported.refuse(req.code, conn.peer())),
        };
        reply.map(Answer::from)
    }

    /// NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every member of `group`, so they rebalance now rather
    /// than at their next 20 s rebalance tick.
    fn notify_consumer_ids_changed(&self, group: &str) {
        if self.clients.lock().is_broadcasting(group) || !self.groups.notify_enabled(group) {
            return;
        }
        let members = self.clients.lock().consumer_connections(group);
        let mut ext = ExtFields::new();
        NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_string(),
        }
        .encode(&mut ext);
        for conn in members {
            conn.send_oneway(RequestCode::NotifyConsumerIdsChanged, ext.clone());
        }
    }
}

impl RequestHandler for Broker {
    fn max_outbound_bytes(&self) -> usize {
        self.config.max_outbound_bytes_per_connection
    }

    fn handle(&self, conn: &Connection, request: RemotingCommand) -> Answer {
        self.dispatch(conn, &request)
    }

    /// Answers to broker-initiated requests (307/309 forwarded to a consumer).
    fn on_response(&self, conn: &Connection, response: RemotingCommand) {
        let opaque = response.opaque;
        if !conn.complete(response) {
            tracing::debug!(peer = %conn.peer(), opaque, "response nobody waits for");
        }
    }

    fn on_disconnect(&self, conn: &Connection) {
        self.order_locks.forget_connection(conn.id());
        let changed = self.clients.lock().remove_connection(conn.id());
        for group in changed {
            tracing::info!(group, peer = %conn.peer(), "consumer disconnected");
            self.notify_consumer_ids_changed(&group);
        }
    }
}

fn reply_error(code: ResponseCode, remark: impl Into<String>) -> ServiceError {
    ServiceError::reply(code, remark)
}

fn ok() -> RemotingCommand {
    success()
}
