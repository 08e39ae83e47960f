//! Status an operator reads from Java's `AdminBrokerProcessor`: GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305),
//! GET_ALL_PRODUCER_INFO (328, mqadmin `producer`), GET_BROKER_HA_STATUS (907, 5.x `haStatus`) and
//! GET_BROKER_EPOCH_CACHE (1007, 5.x `getBrokerEpoch`).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use rmq_codec::body::{
    HaClientRuntimeInfo, HaConnectionRuntimeInfo, HaRuntimeInfo, ProducerInfo, ProducerTableInfo,
};
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

    /// GET_BROKER_HA_STATUS (907): Java's `DefaultHAService.getRuntimeInfo`: a master lists its slave
    /// connections (ack, gap, in sync when the gap is under `haMaxGapNotInSync`), a slave its HA client.
    pub(super) fn ha_status(&self) -> Reply {
        let max_offset = self.store.max_commit_log_offset();
        let info = match &self.ha_master {
            Some(master) => {
                let max_gap = master.settings().max_gap_not_in_sync;
                let connections: Vec<HaConnectionRuntimeInfo> = master
                    .connections()
                    .iter()
                    .map(|conn| {
                        let ack = conn.ack() as i64;
                        HaConnectionRuntimeInfo {
                            addr: conn.addr.to_string(),
                            slave_ack_offset: ack,
                            diff: max_offset - ack,
                            in_sync: max_offset - ack < max_gap as i64,
                            transferred_byte_in_second: conn.transferred_bytes_in_second() as i64,
                            transfer_from_where: conn.transfer_from(),
                        }
                    })
                    .collect();
                HaRuntimeInfo {
                    master: true,
                    master_commit_log_max_offset: max_offset,
                    in_sync_slave_nums: connections.iter().filter(|c| c.in_sync).count() as i32,
                    connections,
                    client: HaClientRuntimeInfo::default(),
                }
            }
            None => {
                let client = &self.ha_client;
                HaRuntimeInfo {
                    client: HaClientRuntimeInfo {
                        master_addr: client.master_addr.lock().clone(),
                        transferred_byte_in_second: client.transferred_bytes_in_second() as i64,
                        max_offset,
                        last_read_timestamp: client.last_read_ms.load(Ordering::Relaxed) as i64,
                        last_write_timestamp: client.last_write_ms.load(Ordering::Relaxed) as i64,
                        master_flush_offset: 0,
                    },
                    ..HaRuntimeInfo::default()
                }
            }
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
