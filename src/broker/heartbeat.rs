//! HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38) (Java `ClientManageProcessor`, `ConsumerManageProcessor`).

use bytes::Bytes;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Key, Value};
use rmq_codec::header::{
    CommandHeader, GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use rmq_store::config::perm;

use super::clients::{parse_heartbeat, ClientChannel};
use super::topics::RETRY_GROUP_TOPIC_PREFIX;
use super::{ok, reply_error, Broker, Reply};
use crate::remoting::connection::now_ms;
use crate::remoting::Connection;

impl Broker {
    pub(super) fn heartbeat(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        let hb = parse_heartbeat(&req.body).map_err(|e| {
            reply_error(
                ResponseCode::SystemError,
                format!("bad heartbeat body: {e}"),
            )
        })?;
        let channel = ClientChannel {
            conn: conn.clone(),
            client_id: hb.client_id.clone(),
            language: req.language,
            version: req.version,
            last_update_ms: now_ms(),
        };
        for consumer in &hb.consumers {
            if let Some(group) = self.groups.ensure(&consumer.group) {
                let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", consumer.group);
                self.topics.ensure(
                    &retry_topic,
                    group.retry_queue_nums,
                    perm::READ | perm::WRITE,
                );
            }
            let changed = self
                .clients
                .lock()
                .register_consumer(consumer, channel.clone());
            self.order_locks.rejoin(&consumer.group, &hb.client_id);
            if changed {
                tracing::info!(
                    group = consumer.group,
                    client = hb.client_id,
                    "consumer group changed"
                );
                self.notify_consumer_ids_changed(&consumer.group);
            }
        }
        let mut clients = self.clients.lock();
        for group in &hb.producer_groups {
            clients.register_producer(group, channel.clone());
        }
        Ok(ok())
    }

    pub(super) fn unregister_client(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        let h = UnregisterClientRequestHeader::decode(&req.ext_fields)?;
        let removed = self.clients.lock().unregister(
            conn.id(),
            h.producer_group.as_deref(),
            h.consumer_group.as_deref(),
        );
        if let Some(removed) = removed {
            tracing::info!(
                group = removed.group,
                client = h.client_id,
                "consumer unregistered"
            );
            if let Some(client_id) = &removed.departed {
                // Before the notification: the members it wakes lock the queues this client held.
                self.release_order_locks(&removed.group, client_id, conn.id());
            }
            self.notify_consumer_ids_changed(&removed.group);
        }
        Ok(ok())
    }

    pub(super) fn consumer_list(&self, req: &RemotingCommand) -> Reply {
        let h = GetConsumerListByGroupRequestHeader::decode(&req.ext_fields)?;
        let ids = self.clients.lock().consumer_ids(&h.consumer_group);
        if ids.is_empty() {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!("no consumer for this group, {}", h.consumer_group),
            ));
        }
        let doc = Value::Object(vec![(
            Key::Str("consumerIdList".into()),
            Value::Array(ids.into_iter().map(Value::Str).collect()),
        )]);
        let mut resp = ok();
        resp.body = Bytes::from(fastjson::to_string(&doc));
        Ok(resp)
    }
}
