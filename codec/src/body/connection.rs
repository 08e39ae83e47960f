//! Who is connected and who consumes: `ConsumerConnection` (GET_CONSUMER_CONNECTION_LIST 203),
//! `ProducerConnection` (GET_PRODUCER_CONNECTION_LIST 204) and `GroupList` (QUERY_TOPIC_CONSUME_BY_WHO 300).
//! Java's `HashSet`s travel as JSON arrays; enums by name, left out when null.
//!
//! ```text
//! {"connectionSet":[{"clientAddr":"127.0.0.1:50210","clientId":"127.0.0.1@4711#1","language":"JAVA",
//!  "version":399}],"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY",
//!  "messageModel":"CLUSTERING","subscriptionTable":{"T":{"classFilterMode":false,...,"topic":"T"}}}
//! ```

use super::{string_array, SubscriptionData};
use crate::code::LanguageCode;
use crate::fastjson::{self, Key, Value};

/// `Connection`: one client channel of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub client_id: String,
    /// The channel's remote address, `ip:port`.
    pub client_addr: String,
    /// The language of the client's requests; an unknown code is written as null (left out).
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal, from its requests.
    pub version: i32,
}

/// `ConsumerConnection`: a consumer group's channels and what the group said in its heartbeats. The enum
/// fields hold Java enum names; an empty one is left out, as fastjson leaves out a null enum.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    /// By topic.
    pub subscription_table: Vec<(String, SubscriptionData)>,
    pub consume_type: String,
    pub message_model: String,
    pub consume_from_where: String,
}

/// `ProducerConnection`: a producer group's channels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

/// `GroupList`: group names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupList {
    pub group_list: Vec<String>,
}

impl Connection {
    fn to_value(&self) -> Value {
        Value::object([
            ("clientAddr", Value::from(self.client_addr.as_str())),
            ("clientId", Value::from(self.client_id.as_str())),
            (
                "language",
                self.language.known_name().map_or(Value::Null, Value::from),
            ),
            ("version", Value::from(self.version)),
        ])
    }
}

fn connection_array(connections: &[Connection]) -> Value {
    Value::Array(connections.iter().map(Connection::to_value).collect())
}

/// An enum property: its name, or null (left out) when there is none.
fn enum_name(name: &str) -> Value {
    if name.is_empty() {
        Value::Null
    } else {
        Value::from(name)
    }
}

impl ConsumerConnection {
    pub fn encode(&self) -> String {
        let subscriptions = self
            .subscription_table
            .iter()
            .map(|(topic, sub)| (Key::from(topic.as_str()), sub.to_value()))
            .collect();
        fastjson::to_string(&Value::object([
            ("connectionSet", connection_array(&self.connection_set)),
            ("consumeFromWhere", enum_name(&self.consume_from_where)),
            ("consumeType", enum_name(&self.consume_type)),
            ("messageModel", enum_name(&self.message_model)),
            ("subscriptionTable", Value::Object(subscriptions)),
        ]))
    }
}

impl ProducerConnection {
    pub fn encode(&self) -> String {
        fastjson::to_string(&Value::object([(
            "connectionSet",
            connection_array(&self.connection_set),
        )]))
    }
}

impl GroupList {
    pub fn encode(&self) -> String {
        fastjson::to_string(&Value::object([(
            "groupList",
            string_array(&self.group_list),
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        Connection {
            client_id: "127.0.0.1@4711#1".into(),
            client_addr: "127.0.0.1:50210".into(),
            language: LanguageCode::Java,
            version: 399,
        }
    }

    /// `ConsumerConnection` as fastjson writes it: properties sorted, the set as an array, the
    /// subscription under its topic with `SubscriptionData`'s properties (no `filterClassSource`).
    #[test]
    fn consumer_connection_as_fastjson_writes_it() {
        let body = ConsumerConnection {
            connection_set: vec![connection()],
            subscription_table: vec![(
                "T".into(),
                SubscriptionData {
                    topic: "T".into(),
                    sub_string: "TagA".into(),
                    expression_type: "TAG".into(),
                    sub_version: 1_700_000_000_123,
                    tags_set: vec!["TagA".into()],
                    code_set: vec![2_598_919],
                    class_filter_mode: false,
                },
            )],
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: "CLUSTERING".into(),
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
        };
        assert_eq!(
            body.encode(),
            concat!(
                r#"{"connectionSet":[{"clientAddr":"127.0.0.1:50210","clientId":"127.0.0.1@4711#1","#,
                r#""language":"JAVA","version":399}],"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","#,
                r#""consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":"#,
                r#"{"T":{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","#,
                r#""subString":"TagA","subVersion":1700000000123,"tagsSet":["TagA"],"topic":"T"}}}"#
            )
        );
    }

    /// Null enums and an unknown language are left out, as fastjson leaves out nulls.
    #[test]
    fn nulls_are_left_out() {
        let mut unknown = connection();
        unknown.language = LanguageCode::Unknown(200);
        let consumer = ConsumerConnection {
            connection_set: vec![unknown.clone()],
            ..Default::default()
        };
        assert_eq!(
            consumer.encode(),
            concat!(
                r#"{"connectionSet":[{"clientAddr":"127.0.0.1:50210","clientId":"127.0.0.1@4711#1","#,
                r#""version":399}],"subscriptionTable":{}}"#
            )
        );
        let producer = ProducerConnection {
            connection_set: vec![connection()],
        };
        assert_eq!(
            producer.encode(),
            concat!(
                r#"{"connectionSet":[{"clientAddr":"127.0.0.1:50210","clientId":"127.0.0.1@4711#1","#,
                r#""language":"JAVA","version":399}]}"#
            )
        );
        assert_eq!(
            ProducerConnection::default().encode(),
            r#"{"connectionSet":[]}"#
        );
    }

    #[test]
    fn group_list() {
        let groups = GroupList {
            group_list: vec!["g1".into(), "g2".into()],
        };
        assert_eq!(groups.encode(), r#"{"groupList":["g1","g2"]}"#);
        assert_eq!(GroupList::default().encode(), r#"{"groupList":[]}"#);
    }
}
