//! Status an operator reads from Java's `AdminBrokerProcessor`: GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305),
//! GET_ALL_PRODUCER_INFO (328, mqadmin `producer`), GET_BROKER_HA_STATUS (907, 5.x `haStatus`) and
//! GET_BROKER_EPOCH_CACHE (1007, 5.x `getBrokerEpoch`).

use bytes::Bytes;
use rmq_codec::body::{MasterHaRuntimeInfo, ProducerInfo, ProducerTableInfo};
use rmq_codec::code::ResponseCode;
use rmq_codec::fastjson::{self, Value};

use super::clients::ClientChannel;
use super::{ok, reply_error, Broker, Reply};

impl Broker {
    /// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305): `TopicList` of the broker's system topic set.
    pub(super) fn system_topic_list(&self) -> Reply {
        let names = self.system_topic_names().into_iter().map(Value::Str);
        let body = Value::object([("topicList", Value::Array(names.collect()))]);
        Ok(with_body(fastjson::to_string(&body)))
    }

    /// GET_ALL_PRODUCER_INFO (328): every producer group and its channels (`ProducerManager.getProducerTable`);
    /// groups in name order, channels in connection order.
    pub(super) fn all_producer_info(&self) -> Reply {
        let clients = self.clients.lock();
        let mut data: Vec<(String, Vec<ProducerInfo>)> = clients
            .producers
            .iter()
            .filter(|(_, channels)| !channels.is_empty())
            .map(|(group, channels)| {
                let infos = channels.values().map(producer_info).collect();
                (group.clone(), infos)
            })
            .collect();
        data.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(with_body(ProducerTableInfo { data }.encode()))
    }

    /// GET_BROKER_HA_STATUS (907): rmqd is a master without slaves, which Java's `DefaultHAService` reports
    /// as `master=true`, the commit log's max offset and no connections.
    pub(super) fn ha_status(&self) -> Reply {
        let info = MasterHaRuntimeInfo {
            master_commit_log_max_offset: self.store.max_commit_log_offset(),
        };
        Ok(with_body(info.encode()))
    }

    /// GET_BROKER_EPOCH_CACHE (1007): only a broker in controller mode keeps epochs; otherwise 5.3.3 answers
    /// SYSTEM_ERROR with this remark (trailing space included). rmqd has no controller mode.
    pub(super) fn broker_epoch_cache(&self) -> Reply {
        Err(reply_error(
            ResponseCode::SystemError,
            "this request only for controllerMode ",
        ))
    }
}

fn producer_info(channel: &ClientChannel) -> ProducerInfo {
    ProducerInfo {
        client_id: channel.client_id.clone(),
        remote_ip: format!("/{}", channel.conn.peer()),
        language: channel.language,
        version: channel.version,
        last_update_timestamp: i64::try_from(channel.last_update_ms).unwrap_or(i64::MAX),
    }
}

fn with_body(json: String) -> rmq_codec::command::RemotingCommand {
    let mut resp = ok();
    resp.body = Bytes::from(json);
    resp
}
