//! Subscription group administration (Java's `AdminBrokerProcessor`): UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
//! (200), GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207) and the 5.x
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225) and GET_SUBSCRIPTIONGROUP_CONFIG (352).
//!
//! What a group's settings do here: `consumeEnable=false` refuses pulls and pops with NO_PERMISSION
//! (`Broker::consumable_group`), `retryMaxTimes` sends a message to `%DLQ%<group>` after that many
//! deliveries when the client does not say (`retry.rs`), `retryQueueNums` sizes `%RETRY%<group>`,
//! `notifyConsumerIdsChangedEnable` gates NOTIFY_CONSUMER_IDS_CHANGED. The other fields are stored and
//! reported as given.

use bytes::Bytes;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::fastjson::Value;
use rmq_codec::header::{
    CommandHeader, DeleteSubscriptionGroupRequestHeader, GetSubscriptionGroupConfigRequestHeader,
};
use rmq_store::config::SubscriptionGroupConfig;

use super::attributes::{self, GROUP_ATTRIBUTES};
use super::{ok, reply_error, Broker, Reply};
use crate::error::{java_bean, ServiceError};

impl Broker {
    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): the body is a `SubscriptionGroupConfig`, which replaces
    /// the group's config whole. A null bean (`null`, `[]`, `""`) changes nothing and answers SUCCESS, as
    /// 4.9.x does.
    pub(super) fn update_subscription_group(&self, req: &RemotingCommand) -> Reply {
        let doc = fastjson::parse_slice(&req.body)?;
        let Some(bean) = java_bean(&doc, "SubscriptionGroupConfig")? else {
            return Ok(ok());
        };
        let config = self.checked_group_config(bean)?;
        self.groups.upsert(config);
        Ok(ok())
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225, 5.x): body `{"groupConfigList":[...]}`, each config as
    /// in 200. Unlike 5.3.3, which stores the configs before a bad one and then fails, nothing is stored
    /// unless every config is valid. A missing list is SYSTEM_ERROR (Java's NullPointerException).
    pub(super) fn update_subscription_group_list(&self, req: &RemotingCommand) -> Reply {
        let doc = fastjson::parse_slice(&req.body)?;
        let list = java_bean(&doc, "SubscriptionGroupList")?
            .and_then(|bean| bean.get("groupConfigList"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                reply_error(
                    ResponseCode::SystemError,
                    "SubscriptionGroupList has no groupConfigList",
                )
            })?;
        let mut configs = Vec::with_capacity(list.len());
        for item in list {
            let Some(bean) = java_bean(item, "SubscriptionGroupConfig")? else {
                return Err(reply_error(
                    ResponseCode::SystemError,
                    "a null subscription group config",
                ));
            };
            configs.push(self.checked_group_config(bean)?);
        }
        for config in configs {
            self.groups.upsert(config);
        }
        Ok(ok())
    }

    /// GET_SUBSCRIPTIONGROUP_CONFIG (352, 5.x): the group's `SubscriptionGroupConfig`, created first when
    /// auto-creation allows (Java's `findSubscriptionGroupConfig`), else SUBSCRIPTION_GROUP_NOT_EXIST.
    pub(super) fn subscription_group(&self, req: &RemotingCommand) -> Reply {
        let h = GetSubscriptionGroupConfigRequestHeader::decode(&req.ext_fields)?;
        let Some(config) = self.groups.ensure(&h.group) else {
            return Err(reply_error(
                ResponseCode::SubscriptionGroupNotExist,
                "No group in this broker",
            ));
        };
        let mut resp = ok();
        resp.body = Bytes::from(fastjson::to_string(&config.to_value()));
        Ok(resp)
    }

    /// A config from a 200 or 225 body, with its attributes altered as 5.3.3 alters them.
    fn checked_group_config(&self, bean: &Value) -> Result<SubscriptionGroupConfig, ServiceError> {
        let mut config = SubscriptionGroupConfig::from_value(bean)?;
        // Java puts the config into a ConcurrentHashMap by its name: a null name throws (SYSTEM_ERROR).
        // An empty one is refused too rather than stored as a group nobody can name.
        if config.group_name.trim().is_empty() {
            return Err(reply_error(
                ResponseCode::SystemError,
                "subscription group config has no groupName",
            ));
        }
        let current = self.groups.get(&config.group_name);
        config.attributes = attributes::alter(
            &GROUP_ATTRIBUTES,
            current.as_ref().map(|c| &c.attributes),
            &config.attributes,
        )
        .map_err(|e| reply_error(ResponseCode::SystemError, e))?;
        Ok(config)
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): the `SubscriptionGroupWrapper`, as `subscriptionGroup.json`.
    pub(super) fn all_subscription_groups(&self) -> Reply {
        let mut resp = ok();
        resp.body = Bytes::from(fastjson::to_string(&self.groups.wrapper_value()));
        Ok(resp)
    }

    /// DELETE_SUBSCRIPTIONGROUP (207). SUCCESS also for a group that does not exist, as in Java; with
    /// `removeOffset` (4.9.x) / `cleanOffset` (5.x) the group's committed offsets go too.
    pub(super) fn delete_subscription_group(&self, req: &RemotingCommand) -> Reply {
        let h = DeleteSubscriptionGroupRequestHeader::decode(&req.ext_fields)?;
        self.groups.delete(&h.group_name);
        if h.drops_offsets() {
            let topics = self.offsets.remove_group(&h.group_name);
            tracing::info!(group = h.group_name, topics, "consumer offsets removed");
        }
        Ok(ok())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use rmq_codec::code::RequestCode;
    use rmq_codec::fastjson::Value;

    use super::*;
    use crate::broker::test_support::config_in;

    fn broker(dir: &tempfile::TempDir) -> Arc<Broker> {
        Broker::open(config_in(dir)).expect("opens")
    }

    fn request(code: RequestCode, body: &str) -> RemotingCommand {
        let mut req = RemotingCommand::new_request(code, Default::default());
        req.body = Bytes::from(body.to_owned());
        req
    }

    /// The body DefaultMQAdminExt 5.3.3 sends for `updateSubGroup -g g1 -s false -r 3 -q 2 -i 1 -w 2 -a true`
    /// (fastjson of `SubscriptionGroupConfig`, properties sorted).
    const ADMIN_5X_BODY: &str = r#"{"attributes":{},"brokerId":1,"consumeBroadcastEnable":true,
        "consumeEnable":false,"consumeFromMinEnable":true,"consumeMessageOrderly":true,
        "consumeTimeoutMinute":15,"groupName":"g1","groupRetryPolicy":{"type":"CUSTOMIZED"},
        "groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,"retryQueueNums":2,
        "whichBrokerWhenConsumeSlowly":2}"#;

    #[test]
    fn a_group_is_created_listed_and_deleted_with_its_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir);
        let resp = b
            .update_subscription_group(&request(
                RequestCode::UpdateAndCreateSubscriptiongroup,
                ADMIN_5X_BODY,
            ))
            .unwrap();
        assert_eq!(resp.code, 0);
        let g1 = b.groups.get("g1").expect("created");
        assert!(!g1.consume_enable && g1.consume_message_orderly);
        assert_eq!(
            (g1.retry_max_times, g1.retry_queue_nums, g1.broker_id),
            (3, 2, 1)
        );
        assert_eq!(g1.which_broker_when_consume_slowly, 2);

        let all = b.all_subscription_groups().unwrap();
        let doc = fastjson::parse_slice(&all.body).unwrap();
        let table = doc.get("subscriptionGroupTable").expect("table");
        let listed = table.get("g1").expect("g1 listed");
        assert_eq!(
            fastjson::to_string(listed),
            fastjson::to_string(&fastjson::parse(ADMIN_5X_BODY).unwrap()),
            "stored and listed as sent"
        );
        assert!(
            table.get("TOOLS_CONSUMER").is_some(),
            "system groups listed"
        );
        assert!(doc
            .get("dataVersion")
            .and_then(|v| v.get("counter"))
            .is_some());

        let refused = b.consumable_group("g1").unwrap_err();
        assert_eq!(refused.response_code(), ResponseCode::NoPermission);
        assert_eq!(refused.to_string(), "subscription group no permission, g1");

        b.offsets.commit("T", "g1", 0, 5);
        b.offsets.commit("T", "g10", 0, 6);
        assert!(b.offsets.assign_reset("T", "g1", 1, 3));
        let mut delete = RemotingCommand::new_request(
            RequestCode::DeleteSubscriptiongroup,
            DeleteSubscriptionGroupRequestHeader {
                group_name: "g1".into(),
                remove_offset: false,
                clean_offset: true,
            }
            .to_ext_fields(),
        );
        assert_eq!(b.delete_subscription_group(&delete).unwrap().code, 0);
        assert!(b.groups.get("g1").is_none());
        assert_eq!(b.offsets.query("T", "g1", 0), None, "offsets cleaned");
        assert_eq!(
            b.offsets.query("T", "g10", 0),
            Some(6),
            "another group's stay"
        );
        assert!(!b.offsets.has_reset("T", "g1", 1), "pending reset cleaned");
        delete
            .ext_fields
            .insert("groupName".into(), "nobody".into());
        assert_eq!(
            b.delete_subscription_group(&delete).unwrap().code,
            0,
            "unknown group: SUCCESS as in Java"
        );
    }

    #[test]
    fn a_list_is_stored_whole_or_not_at_all_and_one_group_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir);
        let list = format!(
            r#"{{"groupConfigList":[{ADMIN_5X_BODY},{{"groupName":"g2","retryMaxTimes":4}}]}}"#
        );
        let req = request(RequestCode::UpdateAndCreateSubscriptiongroupList, &list);
        assert_eq!(b.update_subscription_group_list(&req).unwrap().code, 0);
        assert_eq!(b.groups.get("g2").unwrap().retry_max_times, 4);
        assert!(!b.groups.get("g1").unwrap().consume_enable);

        let bad = r#"{"groupConfigList":[{"groupName":"g3"},{"groupName":"g4","attributes":{"+x":"1"}}]}"#;
        let req = request(RequestCode::UpdateAndCreateSubscriptiongroupList, bad);
        let err = b.update_subscription_group_list(&req).unwrap_err();
        assert_eq!(err.response_code(), ResponseCode::SystemError);
        assert!(
            b.groups.get("g3").is_none(),
            "nothing stored from a list with a bad config"
        );
        for body in ["{}", "null", r#"{"groupConfigList":7}"#] {
            let req = request(RequestCode::UpdateAndCreateSubscriptiongroupList, body);
            let err = b.update_subscription_group_list(&req).unwrap_err();
            assert_eq!(err.response_code(), ResponseCode::SystemError, "{body}");
        }

        let get = |group: &str| {
            let req = RemotingCommand::new_request(
                RequestCode::GetSubscriptiongroupConfig,
                GetSubscriptionGroupConfigRequestHeader {
                    group: group.into(),
                }
                .to_ext_fields(),
            );
            b.subscription_group(&req)
        };
        let g1 = get("g1").unwrap();
        assert_eq!(
            std::str::from_utf8(&g1.body).unwrap(),
            fastjson::to_string(&fastjson::parse(ADMIN_5X_BODY).unwrap())
        );
        assert!(get("auto_made").is_ok(), "auto-created like a pull would");
        b.groups.allow_auto_create(false);
        let err = get("not_made").unwrap_err();
        assert_eq!(err.response_code(), ResponseCode::SubscriptionGroupNotExist);
        assert_eq!(err.to_string(), "No group in this broker");
    }

    #[test]
    fn a_4x_body_takes_the_defaults_of_the_fields_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir);
        let body = r#"{"brokerId":0,"consumeBroadcastEnable":false,"consumeEnable":true,
            "consumeFromMinEnable":false,"groupName":"old","notifyConsumerIdsChangedEnable":false,
            "retryMaxTimes":5,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;
        b.update_subscription_group(&request(
            RequestCode::UpdateAndCreateSubscriptiongroup,
            body,
        ))
        .unwrap();
        let old = b.groups.get("old").unwrap();
        assert!(!old.consume_broadcast_enable && !old.notify_consumer_ids_changed_enable);
        assert_eq!(old.retry_max_times, 5);
        assert_eq!(old.consume_timeout_minute, 15);
        assert_eq!(
            old.group_retry_policy,
            Value::object([("type", Value::from("CUSTOMIZED"))])
        );
    }

    #[test]
    fn bad_bodies_answer_system_error_and_null_beans_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let b = broker(&dir);
        let before = b.groups.wrapper_value();
        for body in ["null", "[]", "\"\""] {
            let req = request(RequestCode::UpdateAndCreateSubscriptiongroup, body);
            assert_eq!(b.update_subscription_group(&req).unwrap().code, 0, "{body}");
        }
        assert_eq!(b.groups.wrapper_value(), before);
        for body in [
            "",
            "{",
            "7",
            r#"{"consumeEnable":false}"#,
            r#"{"groupName":"g","retryMaxTimes":"x"}"#,
        ] {
            let req = request(RequestCode::UpdateAndCreateSubscriptiongroup, body);
            let err = b.update_subscription_group(&req).unwrap_err();
            assert_eq!(err.response_code(), ResponseCode::SystemError, "{body}");
        }
        let with_attr = r#"{"groupName":"g","attributes":{"+x":"1"}}"#;
        let err = b
            .update_subscription_group(&request(
                RequestCode::UpdateAndCreateSubscriptiongroup,
                with_attr,
            ))
            .unwrap_err();
        assert_eq!(err.to_string(), "unsupported key: x");
        assert!(b.groups.get("g").is_none());
    }

    #[test]
    fn attributes_follow_javas_alter_rules() {
        let alter_attributes = |current: Option<&BTreeMap<String, String>>, requested: &_| {
            attributes::alter(&GROUP_ATTRIBUTES, current, requested)
        };
        let attrs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let empty = BTreeMap::new();
        assert_eq!(alter_attributes(None, &empty), Ok(empty.clone()));
        assert_eq!(
            alter_attributes(None, &attrs(&[("xy", "1")])),
            Err("only add attribute is supported while creating topic. key: y".into())
        );
        assert_eq!(
            alter_attributes(None, &attrs(&[("x", "1")])),
            Err("kv string format wrong.".into())
        );
        assert_eq!(
            alter_attributes(None, &attrs(&[("+x", "1")])),
            Err("unsupported key: x".into())
        );
        assert_eq!(
            alter_attributes(Some(&empty), &attrs(&[("-x", "")])),
            Err("attempt to delete a nonexistent key: x".into())
        );
        assert_eq!(
            alter_attributes(Some(&empty), &attrs(&[("=x", "")])),
            Err("wrong format key: x".into())
        );
        assert_eq!(
            alter_attributes(Some(&empty), &attrs(&[("+a-b", "")])),
            Err("kv string format wrong.".into())
        );
        let kept = attrs(&[("old", "v")]);
        assert_eq!(alter_attributes(Some(&kept), &empty), Ok(kept.clone()));
    }
}
