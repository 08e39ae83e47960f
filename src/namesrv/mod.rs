//! The name server role: broker registration, liveness, and topic routes for clients.

mod body;
mod kv;
mod lists;
pub mod routes;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_codec::body::DataVersion;
use rmq_codec::code::{local_version, RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::header::{
    AddWritePermOfBrokerResponseHeader, CommandHeader, DeleteTopicRequestHeader,
    GetKvConfigRequestHeader, GetKvConfigResponseHeader, GetRouteInfoRequestHeader,
    GetTopicsByClusterRequestHeader, PutKvConfigRequestHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
    WipeWritePermOfBrokerResponseHeader, WritePermOfBrokerRequestHeader,
};
use rmq_codec::message::crc32_masked;

use crate::config::NamesrvConfig;
use crate::error::ServiceError;
use crate::remoting::connection::now_ms;
use crate::remoting::unsupported::UnsupportedCodes;
use crate::remoting::{Answer, Connection, RequestHandler};
use routes::RouteTable;
use settings::Settings;

/// Clients at or above this version (V4_9_4) get standard JSON routes; older ones, including the Go
/// client (317), get fastjson's unquoted integer keys.
const STANDARD_JSON_ROUTE_VERSION: i32 = 401;

pub struct NameServer {
    routes: Mutex<RouteTable>,
    /// namespace -> key -> value (PUT/GET/DELETE_KV_CONFIG), persisted to kvConfig.json when opened with a path.
    kv: kv::KvConfig,
    /// GET/UPDATE_NAMESRV_CONFIG: the configuration text and the run-time keys.
    settings: Settings,
    unsupported: UnsupportedCodes,
}

type Reply = Result<RemotingCommand, ServiceError>;

impl NameServer {
    /// A name server with `config`: its KV config is loaded from and persisted to `kvConfigPath` (default
    /// `~/namesrv/kvConfig.json`), its configuration to `configStorePath`.
    pub fn open(config: &NamesrvConfig) -> anyhow::Result<Arc<Self>> {
        let kv_config_path = config.kv_config_path.clone();
        let kv = kv::KvConfig::load(Some(kv_config_path.clone())).map_err(|e| {
            anyhow::anyhow!(
                "cannot load the KV config {}: {e}",
                kv_config_path.display()
            )
        })?;
        Ok(Arc::new(NameServer {
            routes: Mutex::new(RouteTable::default()),
            kv,
            settings: Settings::new(config),
            unsupported: UnsupportedCodes::default(),
        }))
    }

    /// Writes `kvConfig.json` if it changed and stops its persister thread.
    pub fn shutdown(&self) {
        if let Err(e) = self.kv.shutdown() {
            tracing::error!(error = %e, "persisting kvConfig.json failed");
        }
    }

    /// Drops brokers that stopped registering, every `scanNotActiveBrokerInterval` (read before each wait,
    /// so UPDATE_NAMESRV_CONFIG changes it at once).
    pub fn spawn_expiry(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(period_ms) = me.upgrade().map(|ns| ns.settings.scan_interval_ms()) else {
                    return;
                };
                tokio::time::sleep(Duration::from_millis(period_ms.max(100))).await;
                let Some(ns) = me.upgrade() else { return };
                for addr in ns.routes.lock().expire(now_ms()) {
                    tracing::warn!(
                        broker = addr,
                        "broker expired: no registration within its timeout"
                    );
                }
            }
        });
    }

    fn dispatch(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        match RequestCode::from(req.code) {
            RequestCode::RegisterBroker => self.register_broker(conn, req),
            RequestCode::UnregisterBroker => {
                let h = UnregisterBrokerRequestHeader::decode(&req.ext_fields)?;
                self.routes.lock().unregister(&h);
                tracing::info!(broker = h.broker_addr, "broker unregistered");
                Ok(success())
            }
            RequestCode::GetRouteinfoByTopic => self.route_by_topic(req),
            RequestCode::GetBrokerClusterInfo => {
                Ok(with_body(body::cluster_info(&self.routes.lock()).encode()))
            }
            RequestCode::GetAllTopicListFromNameserver => {
                let names: Vec<String> = self.routes.lock().topic_names().cloned().collect();
                Ok(with_body(fastjson::to_string(&body::topic_list(names))))
            }
            RequestCode::GetTopicsByCluster => {
                let h = GetTopicsByClusterRequestHeader::decode(&req.ext_fields)?;
                let names = self.routes.lock().topics_of_cluster(&h.cluster);
                Ok(with_body(fastjson::to_string(&body::topic_list(names))))
            }
            RequestCode::GetSystemTopicListFromNs => {
                let routes = self.routes.lock();
                let mut names: Vec<String> = routes.clusters().keys().cloned().collect();
                names.extend(routes.brokers().keys().cloned());
                Ok(with_body(fastjson::to_string(&body::topic_list(names))))
            }
            RequestCode::DeleteTopicInNamesrv => {
                let h = DeleteTopicRequestHeader::decode(&req.ext_fields)?;
                self.routes.lock().delete_topic(&h.topic);
                Ok(success())
            }
            RequestCode::QueryDataVersion => self.query_data_version(req),
            RequestCode::PutKvConfig => {
                let h = PutKvConfigRequestHeader::decode(&req.ext_fields)?;
                self.kv.put(h.namespace, h.key, h.value);
                Ok(success())
            }
            RequestCode::GetKvConfig => self.get_kv_config(req),
            RequestCode::DeleteKvConfig => {
                let h = GetKvConfigRequestHeader::decode(&req.ext_fields)?;
                self.kv.delete(&h.namespace, &h.key);
                Ok(success())
            }
            RequestCode::GetKvlistByNamespace => self.kv_list(req),
            RequestCode::WipeWritePermOfBroker => self.write_perm_of_broker(conn, req, false),
            RequestCode::AddWritePermOfBroker => self.write_perm_of_broker(conn, req, true),
            RequestCode::GetNamesrvConfig => {
                let text = self.settings.render();
                Ok(if text.is_empty() {
                    success()
                } else {
                    with_body(text)
                })
            }
            RequestCode::UpdateNamesrvConfig => {
                tracing::info!(client = %conn.peer(), "UPDATE_NAMESRV_CONFIG");
                self.settings.update(&req.body)?;
                Ok(success())
            }
            code => match lists::UnitTopics::of(code) {
                Some(which) => self.unit_topic_list(which),
                None => Err(self.unsupported.refuse(req.code, conn.peer())),
            },
        }
    }

    /// WIPE_WRITE_PERM_OF_BROKER (205) / ADD_WRITE_PERM_OF_BROKER (327): the answer carries the number of
    /// topics changed (`wipeTopicCount` / `addTopicCount`).
    fn write_perm_of_broker(&self, conn: &Connection, req: &RemotingCommand, add: bool) -> Reply {
        let h = WritePermOfBrokerRequestHeader::decode(&req.ext_fields)?;
        let topics = self.routes.lock().grant_write(&h.broker_name, add);
        tracing::info!(
            broker = h.broker_name,
            client = %conn.peer(),
            topics,
            "{} write perm of broker",
            if add { "add" } else { "wipe" }
        );
        let mut resp = success();
        if add {
            AddWritePermOfBrokerResponseHeader {
                add_topic_count: topics,
            }
            .encode(&mut resp.ext_fields);
        } else {
            WipeWritePermOfBrokerResponseHeader {
                wipe_topic_count: topics,
            }
            .encode(&mut resp.ext_fields);
        }
        Ok(resp)
    }

    fn register_broker(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        let h = RegisterBrokerRequestHeader::decode(&req.ext_fields)?;
        if h.body_crc32 != 0 && crc32_masked(&req.body) != h.body_crc32 {
            return Err(ServiceError::reply(
                ResponseCode::SystemError,
                "crc32 not match",
            ));
        }
        let registration = body::parse_registration(&req.body)?;
        let outcome = self
            .routes
            .lock()
            .register(&h, registration, conn.id(), now_ms());
        tracing::debug!(
            broker = h.broker_addr,
            name = h.broker_name,
            "broker registered"
        );
        let mut resp = success();
        RegisterBrokerResponseHeader {
            ha_server_addr: outcome.ha_server_addr,
            master_addr: outcome.master_addr,
        }
        .encode(&mut resp.ext_fields);
        Ok(resp)
    }

    fn route_by_topic(&self, req: &RemotingCommand) -> Reply {
        let h = GetRouteInfoRequestHeader::decode(&req.ext_fields)?;
        let Some(route) = body::topic_route(&self.routes.lock(), &h.topic) else {
            return Err(ServiceError::reply(
                ResponseCode::TopicNotExist,
                format!(
                    "No topic route info in name server for the topic: {}\nSee http://rocketmq.apache.org/docs/faq/ for further details.",
                    h.topic
                ),
            ));
        };
        let standard = req.version >= STANDARD_JSON_ROUTE_VERSION
            || h.accept_standard_json_only.unwrap_or(false);
        let text = if standard {
            route.encode_standard()
        } else {
            route.encode_fastjson()
        };
        Ok(with_body(text))
    }

    fn query_data_version(&self, req: &RemotingCommand) -> Reply {
        let h = UnregisterBrokerRequestHeader::decode(&req.ext_fields)?;
        // A body that does not decode reads as a zero DataVersion.
        let version = DataVersion::decode(&req.body).unwrap_or_default();
        let mut routes = self.routes.lock();
        let changed = routes.data_version_changed(&h.broker_addr, version, now_ms());
        let mut resp = success();
        resp.ext_fields
            .insert("changed".into(), changed.to_string());
        // Java answers with the version the name server holds (none for an unknown broker).
        if let Some(stored) = routes.data_version(&h.broker_addr) {
            resp.body = Bytes::from(stored.encode());
        }
        Ok(resp)
    }

    fn get_kv_config(&self, req: &RemotingCommand) -> Reply {
        let h = GetKvConfigRequestHeader::decode(&req.ext_fields)?;
        let value = self.kv.get(&h.namespace, &h.key);
        match value {
            Some(value) => {
                let mut resp = success();
                GetKvConfigResponseHeader { value: Some(value) }.encode(&mut resp.ext_fields);
                Ok(resp)
            }
            None => Err(ServiceError::reply(
                ResponseCode::QueryNotFound,
                format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
            )),
        }
    }
}

impl RequestHandler for NameServer {
    fn handle(&self, conn: &Connection, request: RemotingCommand) -> Answer {
        self.dispatch(conn, &request)
            .unwrap_or_else(ServiceError::into_response)
            .into()
    }

    fn on_disconnect(&self, conn: &Connection) {
        for addr in self.routes.lock().remove_connection(conn.id()) {
            tracing::info!(broker = addr, "broker connection closed, route removed");
        }
    }
}

pub fn success() -> RemotingCommand {
    let mut resp = RemotingCommand::new_response(ResponseCode::Success, None);
    resp.version = local_version();
    resp
}

pub fn with_body(text: String) -> RemotingCommand {
    let mut resp = success();
    resp.body = Bytes::from(text);
    resp
}
