//! Topic administration and message lookup: 17, 215, 21, 33.

use bytes::Bytes;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::header::{
    CommandHeader, CreateTopicRequestHeader, DeleteTopicRequestHeader, ViewMessageRequestHeader,
};
use rmq_store::config::TopicConfig;

use super::topics::validate_topic_name;
use super::{ok, reply_error, Broker, Reply};

impl Broker {
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
        let config = TopicConfig {
            topic_name: h.topic.clone(),
            read_queue_nums: h.read_queue_nums,
            write_queue_nums: h.write_queue_nums,
            perm: h.perm,
            topic_filter_type: h.topic_filter_type.clone(),
            topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
            order: h.order,
            attributes: Default::default(),
        };
        self.topics.upsert(config)?;
        Ok(ok())
    }

    pub(super) fn delete_topic(&self, req: &RemotingCommand) -> Reply {
        let h = DeleteTopicRequestHeader::decode(&req.ext_fields)?;
        self.topics.delete(&h.topic)?;
        Ok(ok())
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
}
