//! A topic's `message.type` attribute as 5.3.3 reads it (`TopicMessageType`), for the gRPC layer: the
//! accepted types QueryRoute lists and the check SendMessage makes. Java's broker uses neither on its
//! remoting path (SEND_MESSAGE accepts any message on any topic); only the proxy checks
//! (`DefaultTopicMessageTypeValidator`, on while the proxy's `enableTopicMessageTypeCheck` is true).

use std::collections::BTreeMap;

use rmq_codec::message::properties;

use super::attributes::MESSAGE_TYPE;

/// Java's `TopicMessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicMessageType {
    Unspecified,
    Normal,
    Fifo,
    Delay,
    Transaction,
    Mixed,
}

impl TopicMessageType {
    const ALL: [TopicMessageType; 6] = [
        TopicMessageType::Unspecified,
        TopicMessageType::Normal,
        TopicMessageType::Fifo,
        TopicMessageType::Delay,
        TopicMessageType::Transaction,
        TopicMessageType::Mixed,
    ];

    /// The attribute value (`getValue()`, also the enum constant's name).
    pub fn name(self) -> &'static str {
        match self {
            TopicMessageType::Unspecified => "UNSPECIFIED",
            TopicMessageType::Normal => "NORMAL",
            TopicMessageType::Fifo => "FIFO",
            TopicMessageType::Delay => "DELAY",
            TopicMessageType::Transaction => "TRANSACTION",
            TopicMessageType::Mixed => "MIXED",
        }
    }

    /// `TopicMessageType.valueOf`: exact, case-sensitive names.
    pub fn parse(name: &str) -> Option<TopicMessageType> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// `TopicConfig.getTopicMessageType`: NORMAL when the topic has no `message.type`. A stored value that
    /// is no type's name (Java's valueOf would throw; the attribute rules never store one) reads as
    /// UNSPECIFIED, which no send passes.
    pub fn of_topic(attributes: &BTreeMap<String, String>) -> TopicMessageType {
        match attributes.get(MESSAGE_TYPE.name) {
            None => TopicMessageType::Normal,
            Some(value) => Self::parse(value).unwrap_or(TopicMessageType::Unspecified),
        }
    }

    /// `TopicMessageType.parseFromMessageProperty`: TRANSACTION for `TRAN_MSG=true`, DELAY for a delay
    /// level or a timer property, FIFO for a sharding key (the gRPC message group), else NORMAL.
    pub fn of_message<'a>(property: impl Fn(&str) -> Option<&'a str>) -> TopicMessageType {
        if property(properties::TRANSACTION_PREPARED) == Some("true") {
            TopicMessageType::Transaction
        } else if [
            properties::DELAY,
            properties::TIMER_DELIVER_MS,
            properties::TIMER_DELAY_SEC,
            properties::TIMER_DELAY_MS,
        ]
        .iter()
        .any(|key| property(key).is_some())
        {
            TopicMessageType::Delay
        } else if property(properties::SHARDING_KEY).is_some() {
            TopicMessageType::Fifo
        } else {
            TopicMessageType::Normal
        }
    }

    /// [`of_message`](Self::of_message) over a message's encoded properties string.
    pub fn of_properties(encoded: &str) -> TopicMessageType {
        Self::of_message(|key| properties::get(encoded, key))
    }

    /// `DefaultTopicMessageTypeValidator.validate(self, actual)` passes: the message has a type and it is
    /// the topic's, or the topic is MIXED. Java's proxy refuses the others with
    /// MESSAGE_PROPERTY_CONFLICT_WITH_TYPE and the text of [`mismatch`](Self::mismatch).
    pub fn accepts(self, actual: TopicMessageType) -> bool {
        actual != TopicMessageType::Unspecified
            && (actual == self || self == TopicMessageType::Mixed)
    }

    /// The validator's error message for a message of type `actual` sent to a topic of type `self`.
    pub fn mismatch(self, actual: TopicMessageType) -> String {
        format!(
            "TopicMessageType validate failed, the expected type is {}, but actual type is {}",
            self.name(),
            actual.name()
        )
    }

    /// The types a route's queues accept (`RouteActivity.parseTopicMessageType` of the 5.3.3 proxy): MIXED
    /// accepts NORMAL, FIFO, DELAY and TRANSACTION; every other type itself (UNSPECIFIED included, which
    /// the gRPC layer writes as MESSAGE_TYPE_UNSPECIFIED).
    pub fn accepted(self) -> &'static [TopicMessageType] {
        match self {
            TopicMessageType::Mixed => &[
                TopicMessageType::Normal,
                TopicMessageType::Fifo,
                TopicMessageType::Delay,
                TopicMessageType::Transaction,
            ],
            TopicMessageType::Normal => &[TopicMessageType::Normal],
            TopicMessageType::Fifo => &[TopicMessageType::Fifo],
            TopicMessageType::Delay => &[TopicMessageType::Delay],
            TopicMessageType::Transaction => &[TopicMessageType::Transaction],
            TopicMessageType::Unspecified => &[TopicMessageType::Unspecified],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_without_the_attribute_is_normal() {
        let mut attributes = BTreeMap::new();
        assert_eq!(
            TopicMessageType::of_topic(&attributes),
            TopicMessageType::Normal
        );
        for t in TopicMessageType::ALL {
            attributes.insert("message.type".into(), t.name().into());
            assert_eq!(TopicMessageType::of_topic(&attributes), t);
        }
        attributes.insert("message.type".into(), "fifo".into());
        assert_eq!(
            TopicMessageType::of_topic(&attributes),
            TopicMessageType::Unspecified
        );
    }

    #[test]
    fn a_message_type_comes_from_its_properties_in_javas_order() {
        let props = |pairs: &[(&str, &str)]| {
            let owned: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            TopicMessageType::of_properties(&properties::encode(&owned))
        };
        assert_eq!(props(&[]), TopicMessageType::Normal);
        assert_eq!(props(&[("TRAN_MSG", "false")]), TopicMessageType::Normal);
        assert_eq!(
            props(&[("TRAN_MSG", "true"), ("DELAY", "3"), ("__SHARDINGKEY", "g")]),
            TopicMessageType::Transaction
        );
        assert_eq!(
            props(&[("TIMER_DELAY_SEC", "3"), ("__SHARDINGKEY", "g")]),
            TopicMessageType::Delay
        );
        assert_eq!(props(&[("__SHARDINGKEY", "g")]), TopicMessageType::Fifo);
    }

    #[test]
    fn the_validator_passes_the_topics_own_type_or_any_on_mixed() {
        use TopicMessageType::*;
        assert!(Fifo.accepts(Fifo));
        assert!(!Fifo.accepts(Normal));
        assert!(Mixed.accepts(Delay));
        assert!(!Mixed.accepts(Unspecified));
        assert!(!Unspecified.accepts(Normal));
        assert!(!Unspecified.accepts(Unspecified));
        assert_eq!(
            Fifo.mismatch(Normal),
            "TopicMessageType validate failed, the expected type is FIFO, but actual type is NORMAL"
        );
        assert_eq!(Mixed.accepted(), &[Normal, Fifo, Delay, Transaction]);
        assert_eq!(Unspecified.accepted(), &[Unspecified]);
    }
}
