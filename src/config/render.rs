//! The broker config as Java property text: what GET_BROKER_CONFIG answers and UPDATE_BROKER_CONFIG
//! writes back to the config file (Java's `Configuration.getAllConfigsFormatString`, `key=value` lines
//! sorted by key).
//!
//! Every key [`BrokerConfig::apply`] reads is rendered here in a form `apply` reads back, except
//! `namesrvListenPort`, `kvConfigPath` and the `tls.*` keys, which other parts of the start-up read from
//! the file; those stay in the file through [`BrokerConfig::all_properties`].

use std::collections::BTreeMap;
use std::path::Path;

use rmq_store::message_store::FlushDiskType;

use super::BrokerConfig;

/// `messageDelayLevel` text for levels in milliseconds, each with the largest unit that divides it
/// (`1s 5s ... 1m 2m ... 1h 2h` for the defaults), which `parse_delay_levels` reads back.
pub fn format_delay_levels(levels_ms: &[i64]) -> String {
    const UNITS: [(i64, char); 4] = [
        (86_400_000, 'd'),
        (3_600_000, 'h'),
        (60_000, 'm'),
        (1_000, 's'),
    ];
    levels_ms
        .iter()
        .map(|&ms| {
            let (unit_ms, unit) = UNITS
                .into_iter()
                .find(|(unit_ms, _)| ms % unit_ms == 0 && ms != 0)
                .unwrap_or((1_000, 's'));
            format!("{}{unit}", ms / unit_ms)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl BrokerConfig {
    /// Every broker key with its current value. Optional keys without a value are left out, as Java
    /// leaves out null fields.
    pub fn to_properties(&self) -> BTreeMap<String, String> {
        let s = &self.store;
        let mut p: Vec<(&str, String)> = vec![
            ("listenPort", self.listen_port.to_string()),
            ("storePathRootDir", path_text(&s.root_dir)),
            ("brokerName", self.broker_name.clone()),
            ("brokerClusterName", self.broker_cluster_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("brokerIP1", self.broker_ip1.clone()),
            ("brokerRole", self.broker_role.clone()),
            ("slaveReadEnable", self.slave_read_enable.to_string()),
            ("offsetCheckInSlave", self.offset_check_in_slave.to_string()),
            (
                "accessMessageInMemoryMaxRatio",
                self.access_message_in_memory_max_ratio.to_string(),
            ),
            (
                "autoCreateTopicEnable",
                self.auto_create_topic_enable.to_string(),
            ),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group.to_string(),
            ),
            (
                "autoCreateTopicLimit",
                self.auto_create_topic_limit.to_string(),
            ),
            (
                "autoCreateSubscriptionGroupLimit",
                self.auto_create_subscription_group_limit.to_string(),
            ),
            (
                "defaultTopicQueueNums",
                self.default_topic_queue_nums.to_string(),
            ),
            ("clusterTopicEnable", self.cluster_topic_enable.to_string()),
            ("brokerTopicEnable", self.broker_topic_enable.to_string()),
            ("brokerPermission", self.broker_permission.to_string()),
            ("regionId", self.region_id.clone()),
            ("traceOn", self.trace_on.to_string()),
            (
                "registerNameServerPeriod",
                self.register_name_server_period_ms.to_string(),
            ),
            (
                "flushConsumerOffsetInterval",
                self.flush_consumer_offset_interval_ms.to_string(),
            ),
            ("longPollingEnable", self.long_polling_enable.to_string()),
            (
                "shortPollingTimeMills",
                self.short_polling_time_ms.to_string(),
            ),
            (
                "channelExpiredTimeout",
                self.channel_expired_timeout_ms.to_string(),
            ),
            (
                "transactionCheckInterval",
                self.transaction_check_interval_ms.to_string(),
            ),
            (
                "transactionTimeOut",
                self.transaction_timeout_ms.to_string(),
            ),
            (
                "transactionCheckMax",
                self.transaction_check_max.to_string(),
            ),
            (
                "rejectTransactionMessage",
                self.reject_transaction_message.to_string(),
            ),
            (
                "enablePropertyFilter",
                self.enable_property_filter.to_string(),
            ),
            ("timerWheelEnable", self.timer_wheel_enable.to_string()),
            ("timerMaxDelaySec", self.timer_max_delay_sec.to_string()),
            (
                "useServerSideResetOffset",
                self.use_server_side_reset_offset.to_string(),
            ),
            ("aclEnable", self.acl_enable.to_string()),
            ("aclFilePath", path_text(&self.acl_file_path)),
            (
                "metricsExporterType",
                self.metrics_exporter_type.java_name().to_string(),
            ),
            (
                "metricsPromExporterHost",
                self.metrics_prom_exporter_host.clone(),
            ),
            (
                "metricsPromExporterPort",
                self.metrics_prom_exporter_port.to_string(),
            ),
            ("metricsLabel", self.metrics_label.clone()),
            (
                "brokerFastFailureEnable",
                self.broker_fast_failure_enable.to_string(),
            ),
            (
                "waitTimeMillsInSendQueue",
                self.wait_time_mills_in_send_queue.to_string(),
            ),
            (
                "maxOutboundBytesPerConnection",
                self.max_outbound_bytes_per_connection.to_string(),
            ),
            (
                "maxInflightFrameBytes",
                self.max_inflight_frame_bytes.to_string(),
            ),
            ("maxParkedRequests", self.max_parked_requests.to_string()),
            (
                "maxParkedRequestsPerConnection",
                self.max_parked_requests_per_connection.to_string(),
            ),
            (
                "longPollingMaxTimeMills",
                self.long_polling_max_time_ms.to_string(),
            ),
            ("shutdownTimeoutMills", self.shutdown_timeout_ms.to_string()),
            ("configBlackList", self.config_black_list.clone()),
            (
                crate::config::MQ_VERSION_KEY,
                rmq_codec::code::mq_version::desc(self.mq_version)
                    .unwrap_or_else(|| self.mq_version.to_string()),
            ),
            // MessageStoreConfig keys
            (
                "flushDiskType",
                match s.flush_disk_type {
                    FlushDiskType::Async => "ASYNC_FLUSH",
                    FlushDiskType::Sync => "SYNC_FLUSH",
                }
                .to_string(),
            ),
            (
                "flushIntervalCommitLog",
                s.flush_interval_commit_log_ms.to_string(),
            ),
            ("maxMessageSize", s.max_message_size.to_string()),
            (
                "mappedFileSizeCommitLog",
                s.mapped_file_size_commit_log.to_string(),
            ),
            (
                "mappedFileSizeConsumeQueue",
                s.mapped_file_size_consume_queue.to_string(),
            ),
            ("messageIndexEnable", s.message_index_enable.to_string()),
            ("maxHashSlotNum", s.max_hash_slot_num.to_string()),
            ("maxIndexNum", s.max_index_num.to_string()),
            ("syncFlushTimeout", s.sync_flush_timeout_ms.to_string()),
            (
                "truncateCorruptCommitLog",
                s.truncate_corrupt_commit_log.to_string(),
            ),
            (
                "flushCommitLogLeastPages",
                s.flush_commit_log_least_pages.to_string(),
            ),
            (
                "flushCommitLogThoroughInterval",
                s.flush_commit_log_thorough_interval_ms.to_string(),
            ),
            (
                "flushIntervalConsumeQueue",
                s.flush_interval_consume_queue_ms.to_string(),
            ),
            (
                "flushConsumeQueueLeastPages",
                s.flush_consume_queue_least_pages.to_string(),
            ),
            (
                "flushConsumeQueueThoroughInterval",
                s.flush_consume_queue_thorough_interval_ms.to_string(),
            ),
            ("fileReservedTime", s.file_reserved_time_hours.to_string()),
            ("deleteWhen", s.delete_when.clone()),
            (
                "diskMaxUsedSpaceRatio",
                s.disk_max_used_space_ratio.to_string(),
            ),
            (
                "diskSpaceWarningLevelRatio",
                s.disk_space_warning_level_ratio.to_string(),
            ),
            (
                "diskSpaceCleanForciblyRatio",
                s.disk_space_clean_forcibly_ratio.to_string(),
            ),
            (
                "cleanResourceInterval",
                s.clean_resource_interval_ms.to_string(),
            ),
            ("deleteFileBatchMax", s.delete_file_batch_max.to_string()),
            (
                "deleteCommitLogFilesInterval",
                s.delete_commit_log_files_interval_ms.to_string(),
            ),
            (
                "destroyMapedFileIntervalForcibly",
                s.destroy_mapped_file_interval_forcibly_ms.to_string(),
            ),
            (
                "messageDelayLevel",
                format_delay_levels(&s.message_delay_levels_ms),
            ),
            (
                "osPageCacheBusyTimeOutMills",
                s.os_page_cache_busy_timeout_ms.to_string(),
            ),
        ];
        if let Some(addr) = &self.namesrv_addr {
            p.push(("namesrvAddr", addr.clone()));
        }
        if let Some(ip2) = &self.broker_ip2 {
            p.push(("brokerIP2", ip2.clone()));
        }
        if let Some(ha) = &self.ha_master_address {
            p.push(("haMasterAddress", ha.clone()));
        }
        p.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Java's `Configuration.allConfigs`: the properties of the config file (keys rmqd does not know
    /// included) overlaid with [`to_properties`](Self::to_properties).
    pub fn all_properties(&self, file: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = file.clone();
        for (key, value) in UNREAD_JAVA_DEFAULTS {
            all.entry(key.to_string())
                .or_insert_with(|| value.to_string());
        }
        all.extend(self.to_properties());
        all
    }
}

/// Keys rmqd does not read, with Java's defaults, answered unless the config file sets them: 4.9.x
/// `mqadmin exportConfigs` copies them from GET_BROKER_CONFIG with `Properties.setProperty`, which throws
/// a NullPointerException for a missing key.
const UNREAD_JAVA_DEFAULTS: [(&str, &str); 4] = [
    ("filterServerNums", "0"),
    ("msgTraceTopicName", "RMQ_SYS_TRACE_TOPIC"),
    ("traceTopicEnable", "false"),
    ("useTLS", "false"),
];

/// `MixAll.properties2String(properties, true)`: `key=value\n` per entry, sorted by key.
pub fn properties_text(properties: &BTreeMap<String, String>) -> String {
    properties
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::parse_properties;
    use super::*;

    #[test]
    fn keys_4x_export_configs_copies_are_always_answered() {
        let keys = [
            "brokerClusterName",
            "brokerId",
            "brokerName",
            "brokerRole",
            "fileReservedTime",
            "filterServerNums",
            "flushDiskType",
            "maxMessageSize",
            "messageDelayLevel",
            "msgTraceTopicName",
            "slaveReadEnable",
            "traceOn",
            "traceTopicEnable",
            "useTLS",
            "autoCreateTopicEnable",
            "autoCreateSubscriptionGroup",
        ];
        let all = BrokerConfig::default().all_properties(&BTreeMap::new());
        for key in keys {
            assert!(all.contains_key(key), "{key} missing");
        }
        let file = BTreeMap::from([("useTLS".to_string(), "true".to_string())]);
        let all = BrokerConfig::default().all_properties(&file);
        assert_eq!(all["useTLS"], "true");
    }

    #[test]
    fn default_delay_levels_render_as_javas_default_text() {
        let text = format_delay_levels(&rmq_store::DEFAULT_DELAY_LEVELS_MS);
        assert_eq!(
            text,
            "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
        );
        assert_eq!(format_delay_levels(&[90_000, 2 * 86_400_000]), "90s 2d");
    }

    /// Every rendered key is one `apply` knows, and a config read back from its own rendering renders
    /// the same, with values other than the defaults.
    #[test]
    fn rendered_properties_read_back_to_the_same_config() {
        let mut config = BrokerConfig::default();
        for (k, v) in [
            ("listenPort", "20911"),
            ("namesrvAddr", "127.0.0.1:9876;127.0.0.2:9876"),
            ("brokerIP2", "10.0.0.2"),
            ("autoCreateSubscriptionGroup", "false"),
            ("brokerPermission", "4"),
            ("flushDiskType", "SYNC_FLUSH"),
            ("maxMessageSize", "1024"),
            ("messageDelayLevel", "1s 2m 3h"),
            ("brokerRole", "SYNC_MASTER"),
            ("brokerFastFailureEnable", "false"),
            ("deleteWhen", "03;15"),
        ] {
            assert!(config.apply(k, v).unwrap(), "{k}");
        }
        config.acl_file_path = PathBuf::from("/etc/rmqd/plain_acl.yml");
        let rendered = config.to_properties();
        let text = properties_text(&rendered);
        let mut again = BrokerConfig::default();
        for (k, v) in parse_properties(&text) {
            assert!(again.apply(&k, &v).unwrap(), "{k} is rendered but not read");
        }
        assert_eq!(again.to_properties(), rendered);
        assert_eq!(rendered["autoCreateSubscriptionGroup"], "false");
        assert_eq!(rendered["messageDelayLevel"], "1s 2m 3h");
        assert_eq!(again.store.put_lock_wait_limit_ms, None);
    }

    #[test]
    fn file_keys_stay_and_config_values_win() {
        let config = BrokerConfig::default();
        let file: BTreeMap<String, String> = [
            ("namesrvListenPort", "9877"),
            ("listenPort", "1"),
            ("someFutureKey", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let all = config.all_properties(&file);
        assert_eq!(all["namesrvListenPort"], "9877");
        assert_eq!(all["someFutureKey"], "x");
        assert_eq!(all["listenPort"], "10911");
        let text = properties_text(&all);
        assert!(
            text.starts_with("accessMessageInMemoryMaxRatio=40\naclEnable=false\n"),
            "sorted: {text}"
        );
    }
}
