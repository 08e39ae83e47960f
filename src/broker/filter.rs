//! SQL92 property filtering in the broker: CHECK_CLIENT_CONFIG (46), the
//! compiled-selector cache, and the commit-log record filter pulls apply.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rmq_codec::code::ResponseCode;
use rmq_codec::command::RemotingCommand;
use rmq_codec::fastjson;
use rmq_codec::message::record::{peek_record, RecordPeek};

use super::sql92::{self, Selector, SelectorError};
use super::{ok, reply_error, Broker, Reply};
use crate::error::{java_bean, ServiceError};

/// Compiled expressions kept, like Java's parse cache (100 entries). Subscriptions are few and change
/// rarely, so starting over when full is as good as LRU here.
const SELECTOR_CACHE_LEN: usize = 100;

/// Compiled selectors by expression text; failures are cached too, as Java does.
#[derive(Default)]
pub struct SelectorCache {
    compiled: Mutex<HashMap<String, Result<Arc<Selector>, SelectorError>>>,
}

impl SelectorCache {
    pub fn compile(&self, sql: &str) -> Result<Arc<Selector>, SelectorError> {
        let mut compiled = self.compiled.lock();
        if let Some(hit) = compiled.get(sql) {
            return hit.clone();
        }
        if compiled.len() >= SELECTOR_CACHE_LEN {
            compiled.clear();
        }
        let outcome = sql92::compile(sql).map(Arc::new);
        compiled.insert(sql.to_string(), outcome.clone());
        outcome
    }
}

/// `ExpressionType.isTagType`: absent, empty or `TAG` (any case).
pub fn is_tag_type(expression_type: &str) -> bool {
    expression_type.is_empty() || expression_type.eq_ignore_ascii_case("TAG")
}

/// Whether a raw commit-log record's properties satisfy `selector`. A record that does not decode is
/// not delivered.
pub fn record_matches(selector: &Selector, record: &[u8]) -> bool {
    match peek_record(record) {
        Ok(RecordPeek::Message(view)) => selector.matches_properties(&view.properties),
        _ => false,
    }
}

fn unsupported(expression_type: &str) -> ServiceError {
    reply_error(
        ResponseCode::SystemError,
        format!("The broker does not support consumer to filter message by {expression_type}"),
    )
}

impl Broker {
    /// The selector a pull applies, once the subscription is known. `from_header` selects the error of
    /// a bad expression: SUBSCRIPTION_PARSE_FAILED for the pull's own subscription, FILTER_DATA_NOT_EXIST
    /// for one registered by heartbeat (Java failed to register its filter data then).
    pub(super) fn pull_selector(
        &self,
        expression_type: &str,
        expression: &str,
        from_header: bool,
    ) -> Result<Option<Arc<Selector>>, ServiceError> {
        if is_tag_type(expression_type) {
            return Ok(None);
        }
        let selector =
            match self.selectors.compile(expression) {
                Ok(s) => s,
                Err(_) if from_header => {
                    return Err(reply_error(
                        ResponseCode::SubscriptionParseFailed,
                        "parse the consumer's subscription failed",
                    ))
                }
                Err(_) => return Err(reply_error(
                    ResponseCode::FilterDataNotExist,
                    "The broker's consumer filter data is not exist!Your expression may be wrong!",
                )),
            };
        if !self.runtime().enable_property_filter {
            return Err(unsupported(expression_type));
        }
        Ok(Some(selector))
    }

    /// CHECK_CLIENT_CONFIG (46): body `CheckClientRequestBody`; compiles a non-TAG subscription.
    ///
    /// A body or `subscriptionData` that fastjson turns into null (`null`, `[]`, `""`) is skipped by Java's
    /// null checks (SUCCESS); one that is not an object makes fastjson throw (SYSTEM_ERROR). No body at all
    /// is SUCCESS as in 5.x (4.9.8's `new String(null)` throws).
    pub(super) fn check_client_config(&self, req: &RemotingCommand) -> Reply {
        if req.body.is_empty() {
            return Ok(ok());
        }
        let doc = fastjson::parse_slice(&req.body)?;
        let Some(body) = java_bean(&doc, "CheckClientRequestBody")? else {
            return Ok(ok());
        };
        let Some(sub) = body.get("subscriptionData") else {
            return Ok(ok());
        };
        let Some(sub) = java_bean(sub, "subscriptionData")? else {
            return Ok(ok());
        };
        let expression_type = sub
            .get("expressionType")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if is_tag_type(expression_type) {
            return Ok(ok());
        }
        if !self.runtime().enable_property_filter {
            return Err(unsupported(expression_type));
        }
        if !expression_type.eq_ignore_ascii_case("SQL92") {
            // FilterFactory has no other filter: Java's compile throws a NullPointerException.
            return Err(reply_error(ResponseCode::SubscriptionParseFailed, "null"));
        }
        let expression = sub.get("subString").and_then(|v| v.as_str()).unwrap_or("");
        match self.selectors.compile(expression) {
            Ok(_) => Ok(ok()),
            Err(e) => {
                tracing::warn!(expression, error = %e, "client filter expression does not compile");
                Err(reply_error(
                    ResponseCode::SubscriptionParseFailed,
                    e.to_string(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keeps_failures_and_successes() {
        let cache = SelectorCache::default();
        assert!(cache.compile("a > 1").is_ok());
        assert!(cache.compile("a >").is_err());
        assert!(cache.compile("a >").is_err());
        for i in 0..(SELECTOR_CACHE_LEN + 5) {
            assert!(cache.compile(&format!("a > {i}")).is_ok());
        }
        assert!(cache.compiled.lock().len() <= SELECTOR_CACHE_LEN);
    }

    #[test]
    fn tag_types() {
        assert!(is_tag_type(""));
        assert!(is_tag_type("tag"));
        assert!(!is_tag_type("SQL92"));
    }
}
