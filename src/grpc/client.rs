//! The client's lifecycle (Java proxy's `ClientActivity` and `GrpcClientSettingsManager`): settings
//! reported on the Telemetry stream and answered with the server's, Heartbeat (a remoting HEART_BEAT that
//! registers the producer or consumer group on the client's virtual connection), and
//! NotifyClientTermination (the connection leaves, and the broker forgets the client).

use std::collections::HashMap;

use parking_lot::Mutex;
use rmq_codec::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use rmq_codec::code::RequestCode;
use rmq_codec::command::{ExtFields, RemotingCommand};
use rmq_codec::header::{CommandHeader, GetSubscriptionGroupConfigRequestHeader};
use rmq_proto::v2::{retry_policy::Strategy, Metric};
use rmq_proto::v2::{
    settings::PubSub, ClientType, Code, CustomizedBackoff, ExponentialBackoff, FilterType,
    HeartbeatRequest, HeartbeatResponse, NotifyClientTerminationRequest,
    NotifyClientTerminationResponse, RetryPolicy, Settings, SubscriptionEntry,
};
use rmq_store::config::SubscriptionGroupConfig;

use super::context::ClientContext;
use super::status::{ok, status, GrpcError, GrpcResult};
use super::GrpcEndpoint;
use crate::broker::Broker;

/// Settings kept at once; a client that never terminates leaves with its connection's expiry.
const MAX_SETTINGS: usize = 10_000;

/// `MixAll.CID_SYS_RMQ_SYS_PREFIX`.
const SYS_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Each client's settings as reported (`GrpcClientSettingsManager.CLIENT_SETTINGS_MAP`).
#[derive(Default)]
pub struct SettingsTable {
    by_client: Mutex<HashMap<String, Settings>>,
}

impl SettingsTable {
    pub fn put(&self, client_id: &str, settings: Settings) {
        let mut table = self.by_client.lock();
        if table.len() < MAX_SETTINGS || table.contains_key(client_id) {
            table.insert(client_id.to_string(), settings);
        }
    }

    pub fn reported(&self, client_id: &str) -> Option<Settings> {
        self.by_client.lock().get(client_id).cloned()
    }

    pub fn remove(&self, client_id: &str) -> Option<Settings> {
        self.by_client.lock().remove(client_id)
    }
}

/// `GrpcValidator.validateTopic`: Java's topic name rule, and no system topic.
pub fn check_topic(broker: &Broker, topic: &str) -> GrpcResult<()> {
    crate::broker::topics::validate_topic_name(topic)
        .map_err(|message| GrpcError::new(Code::IllegalTopic, message))?;
    if broker.is_system_topic(topic) {
        return Err(GrpcError::new(
            Code::IllegalTopic,
            "cannot access system topic",
        ));
    }
    Ok(())
}

/// `GrpcValidator.validateConsumerGroup`: `Validators.checkGroup` and no system group.
pub fn check_group(group: &str) -> GrpcResult<()> {
    let refuse = |message: String| Err(GrpcError::new(Code::IllegalConsumerGroup, message));
    if group.trim().is_empty() {
        return refuse("the specified group is blank".into());
    }
    if group.chars().count() > 255 {
        return refuse("the specified group is longer than group max length 255.".into());
    }
    if !group
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
    {
        return refuse(format!(
            "the specified group[{group}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if group.starts_with(SYS_GROUP_PREFIX) {
        return refuse("cannot use system consumer group".into());
    }
    Ok(())
}

/// `GrpcClientSettingsManager.getClientSettings`: the reported settings with the server's parts merged in
/// (producer retry policy and limits, consumer batch size, long polling timeout and retry policy, metrics
/// off).
pub async fn merged_settings(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    reported: &Settings,
) -> Settings {
    let mut settings = reported.clone();
    match &mut settings.pub_sub {
        Some(PubSub::Publishing(publishing)) => {
            settings.backoff_policy = Some(RetryPolicy {
                max_attempts: 3,
                strategy: Some(Strategy::ExponentialBackoff(ExponentialBackoff {
                    initial: Some(duration_ms(10)),
                    max: Some(duration_ms(1000)),
                    multiplier: 2.0,
                })),
            });
            publishing.validate_message_type = true;
            publishing.max_body_size = ep.limits.max_body_bytes as i32;
        }
        Some(PubSub::Subscription(subscription)) => {
            subscription.receive_batch_size = Some(32);
            subscription.long_polling_timeout = Some(duration_ms(20_000));
            let group = subscription.group.clone().unwrap_or_default().name;
            let config = group_config(ep, ctx, &group).await;
            subscription.fifo = Some(config.as_ref().is_some_and(|c| c.consume_message_orderly));
            let retry_max = config.as_ref().map_or(16, |c| c.retry_max_times);
            settings.backoff_policy = Some(RetryPolicy {
                max_attempts: retry_max + 1,
                strategy: Some(Strategy::CustomizedBackoff(CustomizedBackoff {
                    next: CUSTOMIZED_RETRY_MS
                        .iter()
                        .map(|&ms| duration_ms(ms))
                        .collect(),
                })),
            });
        }
        None => {}
    }
    settings.metric = Some(Metric {
        on: false,
        endpoints: None,
    });
    settings
}

/// The group's config (GET_SUBSCRIPTIONGROUP_CONFIG through the bridge), as the proxy's
/// `getSubscriptionGroupConfig` reads it; None when the broker has none.
async fn group_config(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    group: &str,
) -> Option<SubscriptionGroupConfig> {
    let header = GetSubscriptionGroupConfigRequestHeader {
        group: group.to_string(),
    };
    let cmd = RemotingCommand::new_request(
        RequestCode::GetSubscriptiongroupConfig,
        header.to_ext_fields(),
    );
    let response = ep.bridge.call(&ctx.client_id, ctx.peer, cmd).await.ok()?;
    if response.cmd.code != 0 {
        return None;
    }
    let value = rmq_codec::fastjson::parse(std::str::from_utf8(&response.body).ok()?).ok()?;
    SubscriptionGroupConfig::from_value(&value).ok()
}

/// `CustomizedRetryPolicy`'s default `next`: the delay levels from 1 s to 2 h.
const CUSTOMIZED_RETRY_MS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];

fn duration_ms(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// The HEART_BEAT Java's proxy sends for these settings (`ClientActivity.registerProducer` /
/// `registerConsumer`): gRPC producers register each topic as a producer group; consumers register
/// their group as CLUSTERING, CONSUME_FROM_LAST_OFFSET, with the subscriptions of the settings.
pub fn heartbeat_command(
    ctx: &ClientContext,
    settings: &Settings,
    group: &str,
    now_ms: i64,
) -> GrpcResult<RemotingCommand> {
    let mut data = HeartbeatData {
        client_id: ctx.client_id.clone(),
        ..Default::default()
    };
    match &settings.pub_sub {
        Some(PubSub::Publishing(publishing)) => {
            data.producer_data_set = publishing
                .topics
                .iter()
                .map(|t| ProducerData {
                    group_name: t.name.clone(),
                })
                .collect();
        }
        Some(PubSub::Subscription(subscription)) => {
            check_group(group)?;
            let consume_type = match ClientType::try_from(settings.client_type.unwrap_or(0)) {
                Ok(ClientType::SimpleConsumer) => "CONSUME_ACTIVELY",
                Ok(ClientType::PushConsumer) => "CONSUME_PASSIVELY",
                _ => {
                    return Err(GrpcError::new(
                        Code::UnrecognizedClientType,
                        "unrecognized client type",
                    ))
                }
            };
            data.consumer_data_set = vec![ConsumerData {
                group_name: group.to_string(),
                consume_type: consume_type.into(),
                message_model: "CLUSTERING".into(),
                consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
                subscription_data_set: subscription
                    .subscriptions
                    .iter()
                    .map(|s| subscription_data(s, now_ms))
                    .collect(),
                unit_mode: false,
            }];
        }
        None => {}
    }
    let mut cmd = RemotingCommand::new_request(RequestCode::HeartBeat, ExtFields::new());
    cmd.language = ctx.language;
    Ok(cmd.with_body(data.encode()))
}

/// `FilterAPI.build(topic, expression, type)` as the broker reads it (it rebuilds tags from the
/// expression).
fn subscription_data(entry: &SubscriptionEntry, now_ms: i64) -> SubscriptionData {
    let expression = entry.expression.clone().unwrap_or_default();
    let sql = expression.r#type == FilterType::Sql as i32;
    let sub_string = match expression.expression.trim() {
        "" if !sql => "*".to_string(),
        e => e.to_string(),
    };
    SubscriptionData {
        topic: entry.topic.clone().unwrap_or_default().name,
        sub_string,
        expression_type: if sql { "SQL92" } else { "TAG" }.into(),
        sub_version: now_ms,
        ..Default::default()
    }
}

/// Registers the client's groups with the broker (Heartbeat and the settings on Telemetry).
pub async fn register(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    settings: &Settings,
    group: &str,
) -> GrpcResult<()> {
    let now = crate::remoting::connection::now_ms() as i64;
    let cmd = heartbeat_command(ctx, settings, group, now)?;
    let response = ep.bridge.call(&ctx.client_id, ctx.peer, cmd).await?;
    if response.cmd.code != 0 {
        return Err(GrpcError::from_remoting(
            response.cmd.code,
            response.cmd.remark.as_deref(),
        ));
    }
    Ok(())
}

pub async fn heartbeat(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let outcome = async {
        let Some(settings) = ep.settings.reported(&ctx.client_id) else {
            return Err(GrpcError::new(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            ));
        };
        let group = request.group.clone().unwrap_or_default().name;
        register(ep, ctx, &settings, &group).await
    };
    HeartbeatResponse {
        status: Some(match outcome.await {
            Ok(()) => ok(),
            Err(e) => e.status(),
        }),
    }
}

/// `ClientActivity.notifyClientTermination`: the settings and the virtual connection go, so the broker
/// forgets the client's producer and consumer registrations.
pub fn notify_client_termination(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    request: NotifyClientTerminationRequest,
) -> NotifyClientTerminationResponse {
    let outcome = (|| {
        let Some(settings) = ep.settings.remove(&ctx.client_id) else {
            return Err(GrpcError::new(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            ));
        };
        if let Some(PubSub::Subscription(_)) = settings.pub_sub {
            check_group(&request.group.clone().unwrap_or_default().name)?;
        }
        ep.bridge.remove(&ctx.client_id);
        Ok(())
    })();
    NotifyClientTerminationResponse {
        status: Some(match outcome {
            Ok(()) => ok(),
            Err(e) => e.status(),
        }),
    }
}

/// `ClientActivity.processAndWriteClientSettings`: check and register what the settings name, keep them,
/// and answer with the merged settings.
pub async fn apply_settings(
    ep: &GrpcEndpoint,
    ctx: &ClientContext,
    settings: Settings,
) -> Result<rmq_proto::v2::TelemetryCommand, tonic::Status> {
    let group = match &settings.pub_sub {
        Some(PubSub::Publishing(publishing)) => {
            for topic in &publishing.topics {
                check_topic(&ep.broker, &topic.name).map_err(invalid_argument)?;
            }
            String::new()
        }
        Some(PubSub::Subscription(subscription)) => {
            let group = subscription.group.clone().unwrap_or_default().name;
            check_group(&group).map_err(invalid_argument)?;
            group
        }
        None => {
            return Err(tonic::Status::invalid_argument(
                "there is no publishing or subscription data in settings",
            ))
        }
    };
    register(ep, ctx, &settings, &group).await.map_err(|e| {
        tonic::Status::internal(format!(
            "process client telemetryCommand failed. {}",
            e.message
        ))
    })?;
    ep.settings.put(&ctx.client_id, settings.clone());
    Ok(rmq_proto::v2::TelemetryCommand {
        status: Some(status(Code::Ok, "OK")),
        command: Some(rmq_proto::v2::telemetry_command::Command::Settings(
            merged_settings(ep, ctx, &settings).await,
        )),
    })
}

/// `processTelemetryException`: a 4xxxx code is INVALID_ARGUMENT.
fn invalid_argument(e: GrpcError) -> tonic::Status {
    tonic::Status::invalid_argument(format!(
        "process client telemetryCommand failed. {}",
        e.message
    ))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
