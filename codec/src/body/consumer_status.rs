//! `GetConsumerStatusBody`: a consumer's answer to GET_CONSUMER_STATUS_FROM_CLIENT (221) carries its
//! `messageQueueTable` (offsets keyed by `MessageQueue` objects); the broker's answer to
//! INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) gathers them in `consumerTable` by client id, with its own
//! `messageQueueTable` empty (Java's `Broker2Client.getConsumeStatus`).
//!
//! ```text
//! {"consumerTable":{"127.0.0.1@4711#1":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:3}},
//!  "messageQueueTable":{}}
//! ```
//!
//! A client's table is passed on as that client wrote it, keys and all, so the admin reads it back with
//! the JSON library that wrote it.

use super::{java_bean, parse_body};
use crate::fastjson::{self, Value};
use crate::CodecError;

/// The `messageQueueTable` of a consumer's `GetConsumerStatusBody`; None when the body is a null bean or
/// has no table (Java then puts a null table, which fastjson leaves out).
pub fn client_queue_table(body: &[u8]) -> Result<Option<Value>, CodecError> {
    let doc = parse_body(body, "GetConsumerStatusBody")?;
    Ok(java_bean(&doc, "GetConsumerStatusBody")?
        .and_then(|bean| bean.get("messageQueueTable"))
        .filter(|table| table.as_object().is_some())
        .cloned())
}

/// The broker's `GetConsumerStatusBody`: `(client id, its messageQueueTable)` pairs.
pub fn encode_broker_consumer_status(tables: Vec<(String, Value)>) -> String {
    fastjson::to_string(&Value::object([
        ("consumerTable", Value::object(tables)),
        ("messageQueueTable", Value::empty_object()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_BODY: &str =
        r#"{"messageQueueTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:3}}"#;

    #[test]
    fn a_clients_table_is_passed_on_under_its_client_id() {
        let table = client_queue_table(CLIENT_BODY.as_bytes())
            .expect("parses")
            .expect("has a table");
        assert_eq!(
            encode_broker_consumer_status(vec![("c1".into(), table)]),
            r#"{"consumerTable":{"c1":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:3}},"messageQueueTable":{}}"#
        );
        assert_eq!(
            encode_broker_consumer_status(Vec::new()),
            r#"{"consumerTable":{},"messageQueueTable":{}}"#
        );
    }

    #[test]
    fn bodies_without_a_table_give_none_and_broken_ones_an_error() {
        assert_eq!(client_queue_table(b"{}").expect("parses"), None);
        assert_eq!(client_queue_table(b"null").expect("parses"), None);
        assert!(client_queue_table(b"{\"messageQueueTable\":").is_err());
        assert!(client_queue_table(b"5").is_err());
    }
}
