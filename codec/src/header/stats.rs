//! Admin statistics the broker answers from its own tables: topic stats (202), connections (203, 204),
//! consume stats (208, and 317 for every group), who consumes a topic (300), a consume queue's units
//! (321) and one topic's config (351).

command_header! {
    /// GET_TOPIC_STATS_INFO (202).
    pub struct GetTopicStatsInfoRequestHeader {
        topic: String = "topic",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203).
    pub struct GetConsumerConnectionListRequestHeader {
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct GetProducerConnectionListRequestHeader {
        producer_group: String = "producerGroup",
    }
}

command_header! {
    /// GET_CONSUME_STATS (208). Without `topic` the broker reports every topic the group has offsets
    /// for; 5.x's `topicList` (names separated by `;`) overrides both.
    pub struct GetConsumeStatsRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: Option<String> = "topic",
        topic_list: Option<String> = "topicList",
    }
}

impl GetConsumeStatsRequestHeader {
    /// The names of `topicList`, blanks dropped (Java's `fetchTopicList`: `StringUtils.split` on `;`).
    pub fn topics_listed(&self) -> Vec<String> {
        self.topic_list
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The single topic asked for, when it is not blank (Java's `UtilAll.isBlank`).
    pub fn topic_given(&self) -> Option<&str> {
        self.topic.as_deref().filter(|t| !t.trim().is_empty())
    }
}

command_header! {
    /// QUERY_TOPIC_CONSUME_BY_WHO (300).
    pub struct QueryTopicConsumeByWhoRequestHeader {
        topic: String = "topic",
    }
}

command_header! {
    /// GET_TOPIC_CONFIG (351, 5.x). `lo` asks for the static-topic mapping, which rmqd never has.
    pub struct GetTopicConfigRequestHeader {
        topic: String = "topic",
        lo: Option<bool> = "lo",
    }
}

command_header! {
    /// GET_BROKER_CONSUME_STATS (317). `isOrder` keeps only orderly topics.
    pub struct GetConsumeStatsInBrokerHeader {
        is_order: bool = "isOrder",
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE (321): `count` units of a consume queue from `index`; with `consumerGroup`
    /// the group's subscription of the topic too.
    pub struct QueryConsumeQueueRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        index: i64 = "index",
        count: i32 = "count",
        consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// QUERY_CONSUME_TIME_SPAN (303): store times of a topic's queues against a group's progress.
    pub struct QueryConsumeTimeSpanRequestHeader {
        topic: String = "topic",
        group: String = "group",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{ext_of, CommandHeader};
    use crate::CodecError;

    #[test]
    fn consume_stats_topics() {
        let h = GetConsumeStatsRequestHeader::decode(&ext_of(&[
            ("consumerGroup", "g"),
            ("topic", " "),
            ("topicList", "A;;B;"),
        ]))
        .unwrap();
        assert_eq!(h.topics_listed(), vec!["A", "B"]);
        assert_eq!(h.topic_given(), None);
        let only_group =
            GetConsumeStatsRequestHeader::decode(&ext_of(&[("consumerGroup", "g")])).unwrap();
        assert!(only_group.topics_listed().is_empty());
        assert_eq!(
            GetConsumeStatsRequestHeader::decode(&ext_of(&[("topic", "T")])),
            Err(CodecError::MissingField("consumerGroup"))
        );
    }

    #[test]
    fn required_fields() {
        let empty = ext_of(&[]);
        assert_eq!(
            GetTopicStatsInfoRequestHeader::decode(&empty),
            Err(CodecError::MissingField("topic"))
        );
        assert_eq!(
            GetProducerConnectionListRequestHeader::decode(&empty),
            Err(CodecError::MissingField("producerGroup"))
        );
        let h = GetTopicConfigRequestHeader::decode(&ext_of(&[("topic", "T"), ("lo", "true")]))
            .unwrap();
        assert_eq!((h.topic.as_str(), h.lo), ("T", Some(true)));
    }
}
