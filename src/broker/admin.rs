//! Topic administration and message lookup: 17, 18, 215, 21, 33, 12.

use std::collections::BTreeMap;

use bytes::Bytes;
use rmq_codec::body::java_bean;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Value};
use rmq_codec::header::{
    CommandHeader, CreateTopicRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
    ViewMessageRequestHeader,
};
use rmq_store::config::TopicConfig;

use super::attributes;
use super::message_type::TopicMessageType;
use super::topics::validate_topic_name;
use super::{ok, reply_error, Broker, Reply};
use crate::error::ServiceError;
use crate::remoting::Outbound;

/// `defaultQueryMaxNum`: what a query by unique key may return, whatever the client asked.
const UNIQUE_KEY_QUERY_MAX_NUM: i32 = 32;

impl Broker {
    /// UPDATE_AND_CREATE_TOPIC (17): the topic's config from the header; `attributes` is the `+k=v,-k`
    /// string mqadmin's `updateTopic -a` sends, altered into the stored attributes as 5.3.3 does.
    pub(super) fn create_topic(&self, req: &RemotingCommand) -> Reply {
        let h = CreateTopicRequestHeader::decode(&req.ext_fields)?;
        validate_topic_name(&h.topic).map_err(|e| reply_error(ResponseCode::SystemError, e))?;
        if h.topic == self.config.broker_cluster_name {
            return Err(reply_error(
                ResponseCode::SystemError,
                format!(
                    "The topic[{}] is conflict with system reserved words.",
                    h.topic
                ),
            ));
        }
        // AttributeParser.parseToMap's exceptions answer SYSTEM_ERROR, as every exception here does.
        let requested = attributes::parse_modification(h.attributes.as_deref().unwrap_or(""))
            .map_err(|e| reply_error(ResponseCode::SystemError, e))?;
        check_message_type(&requested)?;
        let config = TopicConfig {
            topic_name: h.topic.clone(),
            read_queue_nums: h.read_queue_nums,
            write_queue_nums: h.write_queue_nums,
            perm: h.perm,
            topic_filter_type: h.topic_filter_type.clone(),
            topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
            order: h.order,
            attributes: requested,
        };
        self.store_topics(vec![config])?;
        Ok(ok())
    }

    /// UPDATE_AND_CREATE_TOPIC_LIST (18, 5.x `updateTopicList`): a `CreateTopicListRequestBody`; every
    /// config is checked first as 5.3.3 does (name rule, system topic, MIXED message type: INVALID_PARAMETER
    /// with Java's remark), then all are stored with their attributes altered as for 17. Unlike 5.3.3, which
    /// answers SUCCESS without storing anything once it meets a config equal to the stored one, and which
    /// keeps the configs before one whose attributes fail, the list is stored whole or not at all.
    pub(super) fn create_topic_list(&self, req: &RemotingCommand) -> Reply {
        let configs = topic_config_list(&req.body)?;
        for config in &configs {
            self.check_listed_topic(config)?;
        }
        self.store_topics(configs)?;
        Ok(ok())
    }

    /// Stores `configs`, whose attributes are the request's `+key`/`-key` map (`TopicConfigManager.
    /// updateTopicConfig`), and prepares their queues. A bad attribute is SYSTEM_ERROR with Java's message.
    fn store_topics(&self, configs: Vec<TopicConfig>) -> Result<(), ServiceError> {
        let queues: Vec<_> = configs
            .iter()
            .map(|c| (c.topic_name.clone(), c.write_queue_nums, c.perm))
            .collect();
        self.topics
            .update_with_attributes(configs)
            .map_err(|e| reply_error(ResponseCode::SystemError, e))?;
        for (topic, write_queue_nums, perm) in queues {
            self.prepare_queues(&topic, write_queue_nums, perm);
        }
        Ok(())
    }

    fn check_listed_topic(&self, config: &TopicConfig) -> Result<(), ServiceError> {
        let topic = &config.topic_name;
        validate_topic_name(topic).map_err(|e| reply_error(ResponseCode::InvalidParameter, e))?;
        if self.is_system_topic(topic) {
            return Err(reply_error(
                ResponseCode::InvalidParameter,
                format!("The topic[{topic}] is conflict with system topic."),
            ));
        }
        check_message_type(&config.attributes)
    }

    pub(super) fn all_topic_config(&self) -> Reply {
        let mut resp = ok();
        resp.body = Bytes::from(fastjson::to_string(&self.topics.wrapper_value()));
        Ok(resp)
    }

    pub(super) fn view_message(&self, req: &RemotingCommand) -> Reply {
        let h = ViewMessageRequestHeader::decode(&req.ext_fields)?;
        match self.store.message_at(h.offset) {
            Some(record) => {
                let mut resp = ok();
                resp.body = record;
                Ok(resp)
            }
            None => Err(reply_error(
                ResponseCode::SystemError,
                format!("can not find message by the offset, {}", h.offset),
            )),
        }
    }

    /// QUERY_MESSAGE: records indexed under `topic#key` in the time range, raw, concatenated.
    pub(super) fn query_message(&self, req: &RemotingCommand) -> Result<Outbound, ServiceError> {
        let h = QueryMessageRequestHeader::decode(&req.ext_fields)?;
        let unique_key_query = req
            .ext_fields
            .get("_UNIQUE_KEY_QUERY")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let max_num = if unique_key_query {
            UNIQUE_KEY_QUERY_MAX_NUM
        } else {
            h.max_num
        };
        let result = self.store.query_message(
            &h.topic,
            &h.key,
            max_num.max(0) as usize,
            h.begin_timestamp,
            h.end_timestamp,
        );
        if result.messages.is_empty() {
            return Err(reply_error(
                ResponseCode::QueryNotFound,
                "can not find message, maybe time range not correct",
            ));
        }
        let mut cmd = ok();
        QueryMessageResponseHeader {
            index_last_update_timestamp: result.index_last_update_timestamp,
            index_last_update_phyoffset: result.index_last_update_phy_offset,
        }
        .encode(&mut cmd.ext_fields);
        Ok(Outbound::Records {
            cmd,
            records: result.messages,
        })
    }
}

/// `+message.type=MIXED` is refused (5.3.3 while `enableMixedMessageType` is false, its default; rmqd has
/// no such switch).
fn check_message_type(requested: &BTreeMap<String, String>) -> Result<(), ServiceError> {
    let key = format!("+{}", attributes::MESSAGE_TYPE.name);
    if requested.get(&key).map(String::as_str) == Some(TopicMessageType::Mixed.name()) {
        return Err(reply_error(
            ResponseCode::InvalidParameter,
            "MIXED message type is not supported.",
        ));
    }
    Ok(())
}

/// The `topicConfigList` of a `CreateTopicListRequestBody`; a missing list or a null entry is the
/// NullPointerException Java answers with SYSTEM_ERROR.
fn topic_config_list(body: &[u8]) -> Result<Vec<TopicConfig>, ServiceError> {
    let doc = fastjson::parse_slice(body)?;
    let list = java_bean(&doc, "CreateTopicListRequestBody")?
        .and_then(|bean| bean.get("topicConfigList"))
        .and_then(Value::as_array)
        .ok_or_else(|| reply_error(ResponseCode::SystemError, "topicConfigList is null"))?;
    list.iter()
        .map(|item| match java_bean(item, "TopicConfig")? {
            Some(bean) => Ok(TopicConfig::from_value(bean)?),
            None => Err(reply_error(
                ResponseCode::SystemError,
                "a null topic config",
            )),
        })
        .collect()
}
