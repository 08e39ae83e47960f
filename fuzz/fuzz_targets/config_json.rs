//! The broker's JSON config documents (topics.json, subscriptionGroup.json, consumerOffset.json,
//! delayOffset.json, DataVersion), which are also the shape of the topic-config and subscription-group request
//! bodies: fastjson parse, then each `from_value`; what decodes must survive `to_value` → `from_value`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::fastjson;
use rmq_store::config::{
    ConsumerOffsetFile, DataVersion, DelayOffsetFile, SubscriptionGroupConfig,
    SubscriptionGroupFile, TopicConfig, TopicConfigFile,
};

macro_rules! round_trip {
    ($ty:ty, $doc:expr) => {
        round_trip!($ty, $doc, to_value)
    };
    ($ty:ty, $doc:expr, $to_value:ident) => {
        if let Ok(first) = <$ty>::from_value($doc) {
            let again = <$ty>::from_value(&first.$to_value()).expect("our own document decodes");
            assert_eq!(again, first);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = fastjson::parse_slice(data) else {
        return;
    };
    round_trip!(TopicConfigFile, &doc, to_wrapper_value);
    round_trip!(TopicConfig, &doc);
    round_trip!(SubscriptionGroupFile, &doc);
    round_trip!(SubscriptionGroupConfig, &doc);
    round_trip!(ConsumerOffsetFile, &doc);
    round_trip!(DelayOffsetFile, &doc);
    round_trip!(DataVersion, &doc);
});
