//! The GET_ROUTEINFO_BY_TOPIC and GET_BROKER_CLUSTER_INFO bodies: decode of arbitrary bytes never panics, and
//! what it decodes survives both route encodings (fastjson and standard JSON) → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::body::{ClusterInfo, TopicRouteData};

fuzz_target!(|data: &[u8]| {
    if let Ok(first) = TopicRouteData::decode(data) {
        let fastjson = first.encode_fastjson();
        let second = TopicRouteData::decode(fastjson.as_bytes()).expect("fastjson route decodes");
        assert_eq!(second, first, "fastjson form");
        assert_eq!(second.encode_fastjson(), fastjson, "encode is not a fixpoint");
        let standard = first.encode_standard();
        let third = TopicRouteData::decode(standard.as_bytes()).expect("standard route decodes");
        assert_eq!(third, first, "standard form");
    }
    if let Ok(first) = ClusterInfo::decode(data) {
        let text = first.encode();
        let second = ClusterInfo::decode(text.as_bytes()).expect("our own cluster info decodes");
        assert_eq!(second, first);
    }
});
