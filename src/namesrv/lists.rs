//! Lists the name server keeps for operators (Java's `DefaultRequestProcessor`): a KV namespace
//! (GET_KVLIST_BY_NAMESPACE 219, body `KVTable`) and the unit-topic lists (GET_UNIT_TOPIC_LIST 311,
//! GET_HAS_UNIT_SUB_TOPIC_LIST 312, GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST 313, body `TopicList`).

use std::collections::BTreeMap;

use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson::{self, Value};
use rmq_codec::header::{CommandHeader, GetKvListByNamespaceRequestHeader};

use super::routes::RouteTable;
use super::{body, with_body, NameServer, Reply};
use crate::error::ServiceError;

/// `TopicSysFlag.FLAG_UNIT`.
const FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag.FLAG_UNIT_SUB`.
const FLAG_UNIT_SUB: i32 = 0x2;

/// Which topics a unit-topic list names, by the `topicSysFlag` of the topic's first queue data (Java
/// looks at the first entry of its per-broker map; rmqd's first is the smallest broker name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitTopics {
    /// GET_UNIT_TOPIC_LIST (311): the unit flag.
    Unit,
    /// GET_HAS_UNIT_SUB_TOPIC_LIST (312): the unit-sub flag.
    HasUnitSub,
    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313): the unit-sub flag without the unit flag.
    HasUnitSubNotUnit,
}

impl UnitTopics {
    pub fn of(code: RequestCode) -> Option<Self> {
        match code {
            RequestCode::GetUnitTopicList => Some(Self::Unit),
            RequestCode::GetHasUnitSubTopicList => Some(Self::HasUnitSub),
            RequestCode::GetHasUnitSubUnunitTopicList => Some(Self::HasUnitSubNotUnit),
            _ => None,
        }
    }

    fn admits(self, sys_flag: i32) -> bool {
        let unit = sys_flag & FLAG_UNIT != 0;
        let unit_sub = sys_flag & FLAG_UNIT_SUB != 0;
        match self {
            Self::Unit => unit,
            Self::HasUnitSub => unit_sub,
            Self::HasUnitSubNotUnit => unit_sub && !unit,
        }
    }

    /// The names of the topics this list admits.
    pub fn select(self, routes: &RouteTable) -> Vec<String> {
        routes
            .first_sys_flags()
            .filter(|(_, flag)| self.admits(*flag))
            .map(|(topic, _)| topic.clone())
            .collect()
    }
}

/// `KVTable`: `{"table":{key:value,...}}`.
fn kv_table(entries: BTreeMap<String, String>) -> Value {
    let table = Value::object(entries.into_iter().map(|(k, v)| (k, Value::Str(v))));
    Value::object([("table", table)])
}

impl NameServer {
    /// GET_KVLIST_BY_NAMESPACE (219): the namespace's entries, or QUERY_NOT_FOUND (22) with Java's remark.
    /// rmqd drops a namespace with its last key (DELETE_KV_CONFIG), where Java keeps it empty and answers
    /// an empty table.
    pub(super) fn kv_list(&self, req: &RemotingCommand) -> Reply {
        let h = GetKvListByNamespaceRequestHeader::decode(&req.ext_fields)?;
        match self.kv.namespace(&h.namespace) {
            Some(entries) => Ok(with_body(fastjson::to_string(&kv_table(entries)))),
            None => Err(ServiceError::reply(
                ResponseCode::QueryNotFound,
                format!("No config item, Namespace: {}", h.namespace),
            )),
        }
    }

    /// GET_UNIT_TOPIC_LIST (311) and its two siblings.
    pub(super) fn unit_topic_list(&self, which: UnitTopics) -> Reply {
        let names = which.select(&self.routes.lock());
        Ok(with_body(fastjson::to_string(&body::topic_list(names))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lists_follow_the_two_flags() {
        let flags = [0, FLAG_UNIT, FLAG_UNIT_SUB, FLAG_UNIT | FLAG_UNIT_SUB];
        let admitted = |which: UnitTopics| -> Vec<i32> {
            flags.into_iter().filter(|f| which.admits(*f)).collect()
        };
        assert_eq!(admitted(UnitTopics::Unit), [1, 3]);
        assert_eq!(admitted(UnitTopics::HasUnitSub), [2, 3]);
        assert_eq!(admitted(UnitTopics::HasUnitSubNotUnit), [2]);
    }

    #[test]
    fn kv_table_is_an_object_of_strings() {
        let entries = BTreeMap::from([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "x:1;y:2".to_string()),
        ]);
        assert_eq!(
            fastjson::to_string(&kv_table(entries)),
            r#"{"table":{"a":"x:1;y:2","b":"2"}}"#
        );
    }
}
