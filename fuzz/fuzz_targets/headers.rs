//! Every typed header's from-`extFields` path. The input is `key=value` lines (split at the first `=`); each
//! header that decodes must encode to fields that decode to the same header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_codec::command::ExtFields;
use rmq_codec::header::*;

fn round_trip<H: CommandHeader + PartialEq + std::fmt::Debug>(ext: &ExtFields) {
    if let Ok(header) = H::decode(ext) {
        let again = H::decode(&header.to_ext_fields()).expect("our own fields decode");
        assert_eq!(again, header);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ext: ExtFields = text
        .split('\n')
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();

    if let Ok(header) = SendMessageRequestHeader::decode_any(&ext) {
        let mut v2 = ExtFields::new();
        header.encode_v2(&mut v2);
        assert_eq!(
            SendMessageRequestHeader::decode_v2(&v2).as_ref(),
            Ok(&header)
        );
        assert_eq!(
            SendMessageRequestHeader::decode(&header.to_ext_fields()),
            Ok(header)
        );
    }
    round_trip::<SendMessageRequestHeader>(&ext);
    round_trip::<SendMessageResponseHeader>(&ext);
    round_trip::<ConsumerSendMsgBackRequestHeader>(&ext);
    round_trip::<EndTransactionRequestHeader>(&ext);
    round_trip::<CheckTransactionStateRequestHeader>(&ext);
    round_trip::<PullMessageRequestHeader>(&ext);
    round_trip::<PullMessageResponseHeader>(&ext);
    round_trip::<QueryConsumerOffsetRequestHeader>(&ext);
    round_trip::<UpdateConsumerOffsetRequestHeader>(&ext);
    round_trip::<OffsetResponseHeader>(&ext);
    round_trip::<GetMaxOffsetRequestHeader>(&ext);
    round_trip::<GetMinOffsetRequestHeader>(&ext);
    round_trip::<SearchOffsetRequestHeader>(&ext);
    round_trip::<GetEarliestMsgStoretimeRequestHeader>(&ext);
    round_trip::<GetEarliestMsgStoretimeResponseHeader>(&ext);
    round_trip::<GetConsumerListByGroupRequestHeader>(&ext);
    round_trip::<UnregisterClientRequestHeader>(&ext);
    round_trip::<NotifyConsumerIdsChangedRequestHeader>(&ext);
    round_trip::<CreateTopicRequestHeader>(&ext);
    round_trip::<DeleteTopicRequestHeader>(&ext);
    round_trip::<GetTopicsByClusterRequestHeader>(&ext);
    round_trip::<ViewMessageRequestHeader>(&ext);
    round_trip::<QueryMessageRequestHeader>(&ext);
    round_trip::<QueryMessageResponseHeader>(&ext);
    round_trip::<ResetOffsetRequestHeader>(&ext);
    round_trip::<GetConsumerRunningInfoRequestHeader>(&ext);
    round_trip::<ConsumeMessageDirectlyRequestHeader>(&ext);
    round_trip::<RegisterBrokerRequestHeader>(&ext);
    round_trip::<RegisterBrokerResponseHeader>(&ext);
    round_trip::<UnregisterBrokerRequestHeader>(&ext);
    round_trip::<QueryDataVersionRequestHeader>(&ext);
    round_trip::<QueryDataVersionResponseHeader>(&ext);
    round_trip::<GetRouteInfoRequestHeader>(&ext);
    round_trip::<PutKvConfigRequestHeader>(&ext);
    round_trip::<GetKvConfigRequestHeader>(&ext);
    round_trip::<GetKvConfigResponseHeader>(&ext);
    round_trip::<DeleteKvConfigRequestHeader>(&ext);
    round_trip::<GetKvListByNamespaceRequestHeader>(&ext);
    round_trip::<pop::PopMessageRequestHeader>(&ext);
    round_trip::<pop::PopMessageResponseHeader>(&ext);
    round_trip::<pop::AckMessageRequestHeader>(&ext);
    round_trip::<pop::ChangeInvisibleTimeRequestHeader>(&ext);
    round_trip::<pop::ChangeInvisibleTimeResponseHeader>(&ext);
});
