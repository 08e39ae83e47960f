//! Live producers and consumers, learned from HEART_BEAT, and the subscriptions pulls are matched against.

use std::collections::{BTreeMap, HashMap};

use rmq_codec::body::{ConsumerData, HeartbeatData};
use rmq_codec::code::LanguageCode;
use rmq_codec::message::java_string_hash;
use rmq_codec::CodecError;

use crate::remoting::Connection;

/// Upper bound on distinct consumer plus producer groups, so a misbehaving client cannot grow the
/// registry without limit.
const MAX_GROUPS: usize = 100_000;

/// A subscription as the broker matches it: `*` or a set of tags (by Java `String.hashCode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    pub sub_string: String,
    pub expression_type: String,
    pub tags: Vec<String>,
    pub code_set: Vec<i32>,
    pub sub_version: i64,
}

impl Subscription {
    /// Builds a TAG subscription from an expression like `"TagA || TagB"` (FilterAPI.buildSubscriptionData).
    pub fn from_expression(topic: &str, expression: &str, sub_version: i64) -> Self {
        let mut tags = Vec::new();
        let trimmed = expression.trim();
        if !trimmed.is_empty() && trimmed != "*" {
            for tag in trimmed.split("||").map(str::trim).filter(|t| !t.is_empty()) {
                if !tags.iter().any(|t: &String| t == tag) {
                    tags.push(tag.to_string());
                }
            }
        }
        let code_set = tags.iter().map(|t| java_string_hash(t)).collect();
        Subscription {
            topic: topic.to_string(),
            sub_string: if trimmed.is_empty() {
                "*".into()
            } else {
                trimmed.to_string()
            },
            expression_type: "TAG".into(),
            tags,
            code_set,
            sub_version,
        }
    }

    pub fn matches_all(&self) -> bool {
        self.tags.is_empty()
    }

    /// Consume-queue level match on the tag hash; the client re-checks the tag string.
    pub fn matches_tags_code(&self, tags_code: i64) -> bool {
        self.matches_all() || self.code_set.contains(&(tags_code as i32))
    }
}

#[derive(Clone)]
pub struct ClientChannel {
    pub conn: Connection,
    pub client_id: String,
    /// Language and version of the client's heartbeat command (Java's `ClientChannelInfo`), reported by
    /// GET_CONSUMER_CONNECTION_LIST and GET_PRODUCER_CONNECTION_LIST.
    pub language: LanguageCode,
    pub version: i32,
    pub last_update_ms: u64,
}

#[derive(Default)]
pub struct ConsumerGroup {
    pub channels: BTreeMap<u64, ClientChannel>,
    pub subscriptions: HashMap<String, Subscription>,
    pub message_model: String,
    pub consume_type: String,
    pub consume_from_where: String,
}

/// What a heartbeat says about one consumer group.
pub struct ConsumerHeartbeat {
    pub group: String,
    pub message_model: String,
    pub consume_type: String,
    pub consume_from_where: String,
    pub subscriptions: Vec<Subscription>,
}

pub struct Heartbeat {
    pub client_id: String,
    pub consumers: Vec<ConsumerHeartbeat>,
    pub producer_groups: Vec<String>,
}

/// Reads a HEART_BEAT body (`HeartbeatData::decode`: every `Err` is Java's SYSTEM_ERROR). Subscriptions
/// are rebuilt from their expression; the client's `tagsSet` and `codeSet` are not trusted.
pub fn parse_heartbeat(body: &[u8]) -> Result<Heartbeat, CodecError> {
    let hb = HeartbeatData::decode(body)?;
    Ok(Heartbeat {
        client_id: hb.client_id,
        consumers: hb
            .consumer_data_set
            .into_iter()
            .map(consumer_heartbeat)
            .collect(),
        producer_groups: hb
            .producer_data_set
            .into_iter()
            .map(|p| p.group_name)
            .filter(|group| !group.is_empty())
            .collect(),
    })
}

fn consumer_heartbeat(c: ConsumerData) -> ConsumerHeartbeat {
    let subscriptions = c
        .subscription_data_set
        .into_iter()
        .map(|sub| {
            let mut parsed =
                Subscription::from_expression(&sub.topic, &sub.sub_string, sub.sub_version);
            if !sub.expression_type.is_empty() {
                parsed.expression_type = sub.expression_type;
            }
            parsed
        })
        .collect();
    ConsumerHeartbeat {
        group: c.group_name,
        message_model: c.message_model,
        consume_type: c.consume_type,
        consume_from_where: c.consume_from_where,
        subscriptions,
    }
}

/// A consumer channel UNREGISTER_CLIENT removed from its group.
#[derive(Debug, PartialEq)]
pub struct Unregistered {
    pub group: String,
    /// The channel's client id when no other channel of that client is left in the group.
    pub departed: Option<String>,
}

#[derive(Default)]
pub struct ClientRegistry {
    pub consumers: HashMap<String, ConsumerGroup>,
    pub producers: HashMap<String, BTreeMap<u64, ClientChannel>>,
}

impl ClientRegistry {
    /// Registers a consumer channel and its subscriptions. Returns true when membership or subscriptions
    /// changed, i.e. when the group's members must be told to rebalance.
    pub fn register_consumer(&mut self, hb: &ConsumerHeartbeat, channel: ClientChannel) -> bool {
        if !self.consumers.contains_key(&hb.group) && self.group_count() >= MAX_GROUPS {
            return false;
        }
        let group = self.consumers.entry(hb.group.clone()).or_default();
        group.message_model = hb.message_model.clone();
        group.consume_type = hb.consume_type.clone();
        group.consume_from_where = hb.consume_from_where.clone();
        let conn_id = channel.conn.id();
        let new_member = match group.channels.get_mut(&conn_id) {
            Some(existing) => {
                existing.last_update_ms = channel.last_update_ms;
                false
            }
            None => {
                group.channels.insert(conn_id, channel);
                true
            }
        };
        let mut subs_changed = false;
        for sub in &hb.subscriptions {
            match group.subscriptions.get(&sub.topic) {
                Some(old) if old.sub_version >= sub.sub_version => {}
                Some(old) => {
                    subs_changed |= old.sub_string != sub.sub_string;
                    group.subscriptions.insert(sub.topic.clone(), sub.clone());
                }
                None => {
                    subs_changed = true;
                    group.subscriptions.insert(sub.topic.clone(), sub.clone());
                }
            }
        }
        let before = group.subscriptions.len();
        group
            .subscriptions
            .retain(|topic, _| hb.subscriptions.iter().any(|s| &s.topic == topic));
        subs_changed |= group.subscriptions.len() != before;
        new_member || subs_changed
    }

    pub fn register_producer(&mut self, group: &str, channel: ClientChannel) {
        if !self.producers.contains_key(group) && self.group_count() >= MAX_GROUPS {
            return;
        }
        self.producers
            .entry(group.to_string())
            .or_default()
            .insert(channel.conn.id(), channel);
    }

    /// Removes a connection from every group. Returns the consumer groups whose membership changed.
    pub fn remove_connection(&mut self, conn_id: u64) -> Vec<String> {
        for channels in self.producers.values_mut() {
            channels.remove(&conn_id);
        }
        self.producers.retain(|_, c| !c.is_empty());
        let mut changed = Vec::new();
        for (name, group) in self.consumers.iter_mut() {
            if group.channels.remove(&conn_id).is_some() {
                changed.push(name.clone());
            }
        }
        self.consumers.retain(|_, g| !g.channels.is_empty());
        changed
    }

    /// UNREGISTER_CLIENT: drop this connection from the named groups. Returns the consumer channel removed.
    pub fn unregister(
        &mut self,
        conn_id: u64,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Option<Unregistered> {
        if let Some(g) = producer_group {
            if let Some(channels) = self.producers.get_mut(g) {
                channels.remove(&conn_id);
                if channels.is_empty() {
                    self.producers.remove(g);
                }
            }
        }
        let g = consumer_group?;
        let group = self.consumers.get_mut(g)?;
        let removed = group.channels.remove(&conn_id)?;
        let stays = group
            .channels
            .values()
            .any(|c| c.client_id == removed.client_id);
        if group.channels.is_empty() {
            self.consumers.remove(g);
        }
        Some(Unregistered {
            group: g.to_string(),
            departed: (!stays).then_some(removed.client_id),
        })
    }

    /// Drops channels silent for longer than `timeout_ms`. Returns (changed groups, dropped connections).
    pub fn expire(&mut self, now_ms: u64, timeout_ms: u64) -> Vec<String> {
        let stale = |c: &ClientChannel| now_ms.saturating_sub(c.last_update_ms) > timeout_ms;
        for channels in self.producers.values_mut() {
            channels.retain(|_, c| !stale(c));
        }
        self.producers.retain(|_, c| !c.is_empty());
        let mut changed = Vec::new();
        for (name, group) in self.consumers.iter_mut() {
            let before = group.channels.len();
            group.channels.retain(|_, c| !stale(c));
            if group.channels.len() != before {
                changed.push(name.clone());
            }
        }
        self.consumers.retain(|_, g| !g.channels.is_empty());
        changed
    }

    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.client_id.clone()).collect())
            .unwrap_or_default()
    }

    pub fn consumer_connections(&self, group: &str) -> Vec<Connection> {
        self.consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.conn.clone()).collect())
            .unwrap_or_default()
    }

    pub fn subscription(&self, group: &str, topic: &str) -> Option<&Subscription> {
        self.consumers.get(group)?.subscriptions.get(topic)
    }

    /// Java's `findSubscriptionDataCount`: how many topics the online group subscribes to (0 offline).
    pub fn subscription_count(&self, group: &str) -> usize {
        self.consumers
            .get(group)
            .map_or(0, |g| g.subscriptions.len())
    }

    pub fn is_broadcasting(&self, group: &str) -> bool {
        self.consumers
            .get(group)
            .is_some_and(|g| g.message_model == "BROADCASTING")
    }

    fn group_count(&self) -> usize {
        self.consumers.len() + self.producers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions_match_like_java() {
        let sub = Subscription::from_expression("T", "TagA || TagB ||", 1);
        assert_eq!(sub.tags, vec!["TagA", "TagB"]);
        assert!(sub.matches_tags_code(java_string_hash("TagA") as i64));
        assert!(!sub.matches_tags_code(java_string_hash("TagC") as i64));
        assert!(Subscription::from_expression("T", "*", 1).matches_tags_code(12345));
        assert!(Subscription::from_expression("T", "", 1).matches_all());
    }

    #[test]
    fn parses_a_java_heartbeat() {
        let body = br#"{"clientID":"10.0.0.5@12345#8123456789","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000123,"tagsSet":["TagA"],"topic":"TopicTest"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;
        let hb = parse_heartbeat(body).unwrap();
        assert_eq!(hb.client_id, "10.0.0.5@12345#8123456789");
        assert_eq!(hb.consumers[0].group, "cg1");
        let sub = &hb.consumers[0].subscriptions[0];
        assert_eq!(sub.code_set, vec![2598919]);
        assert_eq!(sub.sub_version, 1700000000123);
        assert_eq!(hb.producer_groups, vec!["CLIENT_INNER_PRODUCER"]);
    }

    fn register(registry: &mut ClientRegistry, conn_id: u64, client_id: &str) {
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let channel = ClientChannel {
            conn: Connection::new(conn_id, "127.0.0.1:40000".parse().unwrap(), tx),
            client_id: client_id.into(),
            language: LanguageCode::Java,
            version: 0,
            last_update_ms: 0,
        };
        let hb = ConsumerHeartbeat {
            group: "g".into(),
            message_model: "CLUSTERING".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
            subscriptions: vec![Subscription::from_expression("T", "*", 1)],
        };
        registry.register_consumer(&hb, channel);
    }

    #[test]
    fn unregister_says_when_a_client_has_left_the_group() {
        let mut registry = ClientRegistry::default();
        register(&mut registry, 1, "a");
        register(&mut registry, 2, "b");
        register(&mut registry, 3, "a");
        let left = |group: &str, departed: Option<&str>| {
            Some(Unregistered {
                group: group.into(),
                departed: departed.map(String::from),
            })
        };
        // Client "a" still has a channel in the group on connection 3.
        assert_eq!(registry.unregister(1, None, Some("g")), left("g", None));
        assert_eq!(registry.unregister(1, None, Some("g")), None);
        assert_eq!(
            registry.unregister(3, None, Some("g")),
            left("g", Some("a"))
        );
        assert_eq!(
            registry.unregister(2, Some("pg"), Some("g")),
            left("g", Some("b"))
        );
        assert!(registry.consumers.is_empty());
        assert_eq!(registry.unregister(2, None, Some("other")), None);
    }

    /// What Java 4.9.7 and 5.3.3 answered for these bodies (SUCCESS = parsed): fastjson refuses non-objects,
    /// and `heartBeat` throws NullPointerException on null beans, sets, elements and group names.
    #[test]
    fn heartbeat_shapes_java_refuses() {
        for body in [
            "null",
            "[]",
            "\"\"",
            "[1,2]",
            "7",
            r#"{"consumerDataSet":null}"#,
            r#"{"consumerDataSet":7}"#,
            r#"{"consumerDataSet":[{}]}"#,
            r#"{"consumerDataSet":[null]}"#,
            r#"{"producerDataSet":[{}]}"#,
            r#"{"consumerDataSet":[{"groupName":"g","subscriptionDataSet":null}]}"#,
            r#"{"consumerDataSet":[{"groupName":"g","subscriptionDataSet":[3]}]}"#,
        ] {
            assert!(parse_heartbeat(body.as_bytes()).is_err(), "{body}");
        }
        for body in [
            r#"{"mqSet":7}"#,
            r#"{"subscriptionData":7}"#,
            r#"{"consumerDataSet":[],"producerDataSet":[{"groupName":"p"}]}"#,
        ] {
            assert!(parse_heartbeat(body.as_bytes()).is_ok(), "{body}");
        }
    }
}
