//! The broker role's settings (`BrokerConfig`, `MessageStoreConfig` and `NettyServerConfig` keys of Java).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use rmq_store::message_store::FlushDiskType;
use rmq_store::StoreConfig;

use super::{parse, parse_bool, parse_delay_levels};
use crate::remoting::tls::TlsSettings;

/// Settings of the broker role.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub listen_port: u16,
    pub namesrv_addr: Option<String>,
    pub broker_name: String,
    pub broker_cluster_name: String,
    pub broker_id: i64,
    pub broker_ip1: String,
    pub broker_ip2: Option<String>,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    /// `autoCreateTopicLimit` and `autoCreateSubscriptionGroupLimit` (rmqd only, 30,000 each): auto-creation
    /// by clients stops once the broker has this many topics / groups, all counted (`broker::auto_create`).
    pub auto_create_topic_limit: usize,
    pub auto_create_subscription_group_limit: usize,
    pub default_topic_queue_nums: i32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    pub broker_permission: i32,
    pub region_id: String,
    pub trace_on: bool,
    pub register_name_server_period_ms: u64,
    pub flush_consumer_offset_interval_ms: u64,
    pub long_polling_enable: bool,
    pub short_polling_time_ms: u64,
    pub channel_expired_timeout_ms: u64,
    /// SQL92 property filters (`enablePropertyFilter`); off by default, as in Java.
    pub enable_property_filter: bool,
    /// Transactions: how often unresolved half messages are checked back
    /// (`transactionCheckInterval`, 60 s as in 4.x; 5.x uses 30 s), how old a half must be before its
    /// first check (`transactionTimeOut`), the check limit (`transactionCheckMax`), and whether
    /// transactional sends are refused (`rejectTransactionMessage`).
    pub transaction_check_interval_ms: u64,
    pub transaction_timeout_ms: u64,
    pub transaction_check_max: i32,
    pub reject_transaction_message: bool,
    /// 5.x timer messages: whether TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS
    /// are honoured (`timerWheelEnable`) and the longest delay accepted (`timerMaxDelaySec`, 3 days).
    pub timer_wheel_enable: bool,
    pub timer_max_delay_sec: i64,
    /// `useServerSideResetOffset` (default true, as in 5.3.3): INVOKE_BROKER_TO_RESET_OFFSET records the
    /// offsets on the broker for the group's next pull instead of pushing them to live consumers.
    pub use_server_side_reset_offset: bool,
    /// Plain ACL (`aclEnable`, off by default as in Java) and its file (`aclFilePath`, rmqd's own key: Java
    /// reads `$ROCKETMQ_HOME/conf/plain_acl.yml`). A relative path is taken from the broker.conf's directory;
    /// the default is `plain_acl.yml` next to broker.conf.
    pub acl_enable: bool,
    pub acl_file_path: PathBuf,
    /// Java 5.x metrics (`metricsExporterType`, default DISABLE; only PROM is served, on
    /// `metricsPromExporterHost` (default: brokerIP1, as Java) : `metricsPromExporterPort` (5557)), and
    /// `metricsLabel` (`k1:v1,k2:v2`, labels added to every metric). See `crate::metrics`.
    pub metrics_exporter_type: crate::metrics::ExporterType,
    pub metrics_prom_exporter_host: String,
    pub metrics_prom_exporter_port: u16,
    pub metrics_label: String,
    /// Everything the message store reads (`MessageStoreConfig` keys: storePathRootDir, flushDiskType, ...).
    pub store: StoreConfig,
    /// `tls.*` keys (listener mode, certificates, outbound TLS), see `remoting::tls`.
    pub tls: TlsSettings,
    // flow control: start
    /// `brokerFastFailureEnable` (default true) and `waitTimeMillsInSendQueue` (default 200 ms): a send
    /// that waits longer than this for the commit-log append lock is answered SYSTEM_BUSY
    /// (`[TIMEOUT_CLEAN_QUEUE]`). Applied to `store.put_lock_wait_limit_ms`.
    pub broker_fast_failure_enable: bool,
    pub wait_time_mills_in_send_queue: u64,
    /// `maxOutboundBytesPerConnection` (rmqd only, default 64 MiB): responses queued for one connection
    /// beyond this close it, so a client that stops reading pull responses cannot grow the broker.
    pub max_outbound_bytes_per_connection: usize,
    /// `maxInflightFrameBytes` (rmqd only, default 512 MiB, at least 16 MiB): bytes of incoming frames over
    /// 64 KiB that the whole process (broker and embedded name server) buffers or processes at once;
    /// readers past it wait, which pushes back on their clients (`remoting::frame`).
    pub max_inflight_frame_bytes: usize,
    // flow control: end
    // long polling: start
    /// Pulls and pops parked at once, across connections (`maxParkedRequests`, rmqd only, default 100,000,
    /// Java's `maxPopPollingSize`): past it a pull is answered PULL_NOT_FOUND and a pop POLLING_FULL at once.
    pub max_parked_requests: usize,
    /// Pulls and pops parked at once on one connection (`maxParkedRequestsPerConnection`, rmqd only,
    /// default 4,096: a client instance shares one connection per broker, with one pull in flight per
    /// queue it consumes). Past it, the same answers as past `maxParkedRequests`.
    pub max_parked_requests_per_connection: usize,
    /// Longest a pull or pop waits, whatever suspend or poll time the client asks for
    /// (`longPollingMaxTimeMills`, rmqd only, default 120 s; official clients ask 15-30 s). Java takes the
    /// client's time unbounded.
    pub long_polling_max_time_ms: u64,
    // long polling: end
    /// How long SIGTERM may take to drain connections and persist before rmqd exits
    /// (`shutdownTimeoutMills`, rmqd only, default 10 s).
    pub shutdown_timeout_ms: u64,
    /// The MQVersion ordinal the process announces ([`MQ_VERSION_KEY`]).
    pub mq_version: i32,
    /// `brokerRole`: `ASYNC_MASTER`, `SYNC_MASTER` or `SLAVE` (see [`BrokerConfig::is_slave`]).
    pub broker_role: String,
    /// `haMasterAddress` (Java's `MessageStoreConfig`): the master's HA address a slave connects to; when
    /// set (6 characters or more, as BrokerController checks) it wins over the one REGISTER_BROKER answers.
    pub ha_master_address: Option<String>,
    /// `slaveReadEnable` (default false): pulls may be sent to a slave; PULL_MESSAGE's
    /// `suggestWhichBrokerId` then follows the group's `brokerId` / `whichBrokerWhenConsumeSlowly`.
    pub slave_read_enable: bool,
    /// `accessMessageInMemoryMaxRatio` (default 40): a pull reading further behind the commit log's end
    /// than this percentage of the machine's memory is told to read from a slave (with `slaveReadEnable`).
    pub access_message_in_memory_max_ratio: i32,
    /// `offsetCheckInSlave` (default false): whether a slave answers PULL_OFFSET_MOVED; without it a pull
    /// past what the slave holds is answered PULL_RETRY_IMMEDIATELY, so a consumer reading a lagging slave
    /// keeps its offset.
    pub offset_check_in_slave: bool,
    /// `configBlackList` (5.x, default `configBlackList;brokerConfigPath`): `;`-separated keys
    /// UPDATE_BROKER_CONFIG refuses, on top of `brokerConfigPath`, `rocketmqHome` and `configBlackList`.
    pub config_black_list: String,
    /// The `-c` file the config was read from, which UPDATE_BROKER_CONFIG rewrites (Java's
    /// `BrokerPathConfigHelper.brokerConfigPath`); not a property. Without one, UPDATE_BROKER_CONFIG writes
    /// `<storePathRootDir>/config/broker.properties`.
    pub config_file: Option<PathBuf>,
    // HA: start
    /// `haListenPort` (default listenPort + 1, as BrokerStartup sets it).
    pub ha_listen_port: Option<u16>,
    /// haTransferBatchSize, haSendHeartbeatInterval, haHousekeepingInterval, slaveTimeout, haMaxGapNotInSync.
    pub ha: crate::ha::HaSettings,
    // HA: end
    /// `grpcServerPort` (Java proxy's key, default 8081): the 5.x gRPC endpoint in local mode; negative
    /// disables it. Unset with an ephemeral listenPort (0) means an ephemeral gRPC port too.
    pub grpc_server_port: Option<i32>,
}

/// Java's `rocketmq.remoting.version` system property, here a config key of either role: the version this
/// process announces in every frame, as REGISTER_BROKER's and the heartbeat's `version`, and as
/// GET_BROKER_RUNTIME_INFO's `brokerVersion` / `brokerVersionDesc` (what mqadmin clusterList prints).
/// `V4_9_8`, `4.9.8` or the ordinal (`409`, Java's form); any release or snapshot from 4.0.0 to 5.9.9.
/// Default `V5_3_3`.
/// Java proxy's default `grpcServerPort`.
pub const DEFAULT_GRPC_SERVER_PORT: u16 = 8081;

pub const MQ_VERSION_KEY: &str = "rocketmq.remoting.version";

pub(super) fn parse_mq_version(value: &str) -> anyhow::Result<i32> {
    rmq_codec::code::mq_version::parse(value).with_context(|| {
        format!("{MQ_VERSION_KEY} must name a version from 4.0.0 to 5.9.9 (V4_9_8, 4.9.8 or 409), got {value:?}")
    })
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen_port: 10911,
            namesrv_addr: None,
            broker_name: "broker-a".into(),
            broker_cluster_name: "DefaultCluster".into(),
            broker_id: 0,
            broker_ip1: "127.0.0.1".into(),
            broker_ip2: None,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            auto_create_topic_limit: crate::broker::auto_create::DEFAULT_TOPIC_LIMIT,
            auto_create_subscription_group_limit: crate::broker::auto_create::DEFAULT_GROUP_LIMIT,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            broker_permission: 6,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            register_name_server_period_ms: 30_000,
            flush_consumer_offset_interval_ms: 5_000,
            long_polling_enable: true,
            short_polling_time_ms: 1_000,
            channel_expired_timeout_ms: 120_000,
            enable_property_filter: false,
            transaction_check_interval_ms: 60_000,
            transaction_timeout_ms: 6_000,
            transaction_check_max: 15,
            reject_transaction_message: false,
            timer_wheel_enable: true,
            timer_max_delay_sec: 3 * 24 * 3600,
            use_server_side_reset_offset: true,
            acl_enable: false,
            acl_file_path: PathBuf::from("plain_acl.yml"),
            metrics_exporter_type: crate::metrics::ExporterType::Disable,
            metrics_prom_exporter_host: String::new(),
            metrics_prom_exporter_port: 5557,
            metrics_label: String::new(),
            store: StoreConfig {
                root_dir: PathBuf::from("./data"),
                ..StoreConfig::default()
            },
            tls: TlsSettings::default(),
            // flow control: start
            broker_fast_failure_enable: true,
            wait_time_mills_in_send_queue: 200,
            max_outbound_bytes_per_connection: crate::remoting::connection::MAX_OUTBOUND_BYTES,
            max_inflight_frame_bytes: crate::remoting::frame::DEFAULT_INFLIGHT_FRAME_BYTES,
            // flow control: end
            max_parked_requests: 100_000,
            max_parked_requests_per_connection: 4_096,
            long_polling_max_time_ms: 120_000,
            shutdown_timeout_ms: 10_000,
            mq_version: rmq_codec::code::RMQD_VERSION,
            broker_role: "ASYNC_MASTER".into(),
            ha_master_address: None,
            slave_read_enable: false,
            access_message_in_memory_max_ratio: 40,
            offset_check_in_slave: false,
            config_black_list: "configBlackList;brokerConfigPath".into(),
            config_file: None,
            ha_listen_port: None,
            ha: crate::ha::HaSettings::default(),
            grpc_server_port: None,
        }
        .with_fast_failure()
    }
}

impl BrokerConfig {
    /// Mirrors the fast-failure keys into the store, whichever order they came in.
    fn with_fast_failure(mut self) -> Self {
        self.apply_fast_failure();
        self
    }

    fn apply_fast_failure(&mut self) {
        self.store.put_lock_wait_limit_ms = self
            .broker_fast_failure_enable
            .then_some(self.wait_time_mills_in_send_queue);
    }

    /// `brokerRole=SLAVE`.
    pub fn is_slave(&self) -> bool {
        self.broker_role == "SLAVE"
    }

    /// Java's `BrokerStartup` once the config is read: a master's brokerId is always 0 (MixAll.MASTER_ID,
    /// whatever the file says), a slave's must be above 0.
    pub fn settle_role(&mut self) -> anyhow::Result<()> {
        if self.is_slave() {
            if self.broker_id <= 0 {
                bail!(
                    "Slave's brokerId must be > 0 (brokerRole=SLAVE, brokerId={})",
                    self.broker_id
                );
            }
        } else {
            self.broker_id = 0;
        }
        Ok(())
    }

    /// The master HA address set by `haMasterAddress`, when long enough to be one (BrokerController
    /// takes it only at 6 characters or more).
    pub fn fixed_ha_master_address(&self) -> Option<&str> {
        self.ha_master_address.as_deref().filter(|a| a.len() >= 6)
    }

    /// `brokerIP1:listenPort`: the address registered with name servers and written as STOREHOST.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    pub fn ha_server_addr(&self) -> String {
        let ip = self.broker_ip2.as_deref().unwrap_or(&self.broker_ip1);
        format!("{}:{}", ip, self.ha_port())
    }

    /// The HA listen port: `haListenPort`, else listenPort + 1 (0 when the broker binds an ephemeral port).
    pub fn ha_port(&self) -> u16 {
        match (self.ha_listen_port, self.listen_port) {
            (Some(port), _) => port,
            (None, 0) => 0,
            (None, port) => port.saturating_add(1),
        }
    }

    /// The gRPC port to bind, or None when `grpcServerPort` is negative (disabled).
    pub fn grpc_port(&self) -> Option<u16> {
        match (self.grpc_server_port, self.listen_port) {
            (Some(port), _) => u16::try_from(port).ok(),
            (None, 0) => Some(0),
            (None, _) => Some(DEFAULT_GRPC_SERVER_PORT),
        }
    }

    /// The name servers to register with, `;`-separated as in Java.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect()
    }

    /// Applies one property. Returns false for a key this role does not know.
    pub(crate) fn apply(&mut self, key: &str, value: &str) -> anyhow::Result<bool> {
        match key {
            "listenPort" => self.listen_port = parse(key, value)?,
            "namesrvAddr" => self.namesrv_addr = Some(value.to_string()),
            "storePathRootDir" => self.store.root_dir = PathBuf::from(value),
            "storePathCommitLog" => self.store.commit_log_path = Some(PathBuf::from(value)),
            "brokerName" => self.broker_name = value.to_string(),
            "brokerClusterName" => self.broker_cluster_name = value.to_string(),
            "brokerId" => self.broker_id = parse(key, value)?,
            "brokerIP1" => self.broker_ip1 = value.to_string(),
            "brokerIP2" => self.broker_ip2 = Some(value.to_string()),
            "autoCreateTopicEnable" => self.auto_create_topic_enable = parse_bool(value),
            "autoCreateSubscriptionGroup" => {
                self.auto_create_subscription_group = parse_bool(value)
            }
            "autoCreateTopicLimit" => self.auto_create_topic_limit = parse(key, value)?,
            "autoCreateSubscriptionGroupLimit" => {
                self.auto_create_subscription_group_limit = parse(key, value)?
            }
            "defaultTopicQueueNums" => self.default_topic_queue_nums = parse(key, value)?,
            "clusterTopicEnable" => self.cluster_topic_enable = parse_bool(value),
            "brokerTopicEnable" => self.broker_topic_enable = parse_bool(value),
            "brokerPermission" => self.broker_permission = parse(key, value)?,
            "flushDiskType" => {
                self.store.flush_disk_type = match value {
                    "ASYNC_FLUSH" => FlushDiskType::Async,
                    "SYNC_FLUSH" => FlushDiskType::Sync,
                    other => {
                        bail!("flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, got {other:?}")
                    }
                }
            }
            "flushIntervalCommitLog" => {
                self.store.flush_interval_commit_log_ms = parse(key, value)?
            }
            "maxMessageSize" => self.store.max_message_size = parse(key, value)?,
            "mappedFileSizeCommitLog" => {
                self.store.mapped_file_size_commit_log = parse(key, value)?
            }
            "mappedFileSizeConsumeQueue" => {
                self.store.mapped_file_size_consume_queue = parse(key, value)?
            }
            "regionId" => self.region_id = value.to_string(),
            "traceOn" => self.trace_on = parse_bool(value),
            "registerNameServerPeriod" => self.register_name_server_period_ms = parse(key, value)?,
            "flushConsumerOffsetInterval" => {
                self.flush_consumer_offset_interval_ms = parse(key, value)?
            }
            "longPollingEnable" => self.long_polling_enable = parse_bool(value),
            "shortPollingTimeMills" => self.short_polling_time_ms = parse(key, value)?,
            "channelExpiredTimeout" => self.channel_expired_timeout_ms = parse(key, value)?,
            "transactionCheckInterval" => self.transaction_check_interval_ms = parse(key, value)?,
            "transactionTimeOut" => self.transaction_timeout_ms = parse(key, value)?,
            "transactionCheckMax" => self.transaction_check_max = parse(key, value)?,
            "rejectTransactionMessage" => self.reject_transaction_message = parse_bool(value),
            "enablePropertyFilter" => self.enable_property_filter = parse_bool(value),
            "messageIndexEnable" => self.store.message_index_enable = parse_bool(value),
            "maxHashSlotNum" => self.store.max_hash_slot_num = parse(key, value)?,
            "maxIndexNum" => self.store.max_index_num = parse(key, value)?,
            "syncFlushTimeout" => self.store.sync_flush_timeout_ms = parse(key, value)?,
            "truncateCorruptCommitLog" => {
                self.store.truncate_corrupt_commit_log = parse_bool(value)
            }
            "flushCommitLogLeastPages" => {
                self.store.flush_commit_log_least_pages = parse(key, value)?
            }
            "flushCommitLogThoroughInterval" => {
                self.store.flush_commit_log_thorough_interval_ms = parse(key, value)?
            }
            "flushIntervalConsumeQueue" => {
                self.store.flush_interval_consume_queue_ms = parse(key, value)?
            }
            "flushConsumeQueueLeastPages" => {
                self.store.flush_consume_queue_least_pages = parse(key, value)?
            }
            "flushConsumeQueueThoroughInterval" => {
                self.store.flush_consume_queue_thorough_interval_ms = parse(key, value)?
            }
            "fileReservedTime" => self.store.file_reserved_time_hours = parse(key, value)?,
            "deleteWhen" => self.store.delete_when = value.to_string(),
            "brokerRole" => match value.trim() {
                role @ ("ASYNC_MASTER" | "SYNC_MASTER" | "SLAVE") => {
                    self.broker_role = role.to_string()
                }
                other => {
                    bail!("brokerRole must be ASYNC_MASTER, SYNC_MASTER or SLAVE, got {other:?}")
                }
            },
            "haMasterAddress" => {
                self.ha_master_address = Some(value.trim().to_string()).filter(|a| !a.is_empty())
            }
            "slaveReadEnable" => self.slave_read_enable = parse_bool(value),
            "offsetCheckInSlave" => self.offset_check_in_slave = parse_bool(value),
            "accessMessageInMemoryMaxRatio" => {
                self.access_message_in_memory_max_ratio = parse(key, value)?
            }
            "diskMaxUsedSpaceRatio" => self.store.disk_max_used_space_ratio = parse(key, value)?,
            "diskSpaceWarningLevelRatio" => {
                self.store.disk_space_warning_level_ratio = parse(key, value)?
            }
            "diskSpaceCleanForciblyRatio" => {
                self.store.disk_space_clean_forcibly_ratio = parse(key, value)?
            }
            "cleanResourceInterval" => self.store.clean_resource_interval_ms = parse(key, value)?,
            "deleteFileBatchMax" => self.store.delete_file_batch_max = parse(key, value)?,
            "deleteCommitLogFilesInterval" => {
                self.store.delete_commit_log_files_interval_ms = parse(key, value)?
            }
            "destroyMapedFileIntervalForcibly" => {
                self.store.destroy_mapped_file_interval_forcibly_ms = parse(key, value)?
            }
            "messageDelayLevel" => self.store.message_delay_levels_ms = parse_delay_levels(value)?,
            "timerWheelEnable" => self.timer_wheel_enable = parse_bool(value),
            "timerMaxDelaySec" => self.timer_max_delay_sec = parse(key, value)?,
            "useServerSideResetOffset" => self.use_server_side_reset_offset = parse_bool(value),
            "aclEnable" => self.acl_enable = parse_bool(value),
            "aclFilePath" => self.acl_file_path = PathBuf::from(value.trim()),
            "metricsExporterType" => {
                self.metrics_exporter_type = crate::metrics::ExporterType::parse(value)?
            }
            "metricsPromExporterHost" => self.metrics_prom_exporter_host = value.trim().to_string(),
            "metricsPromExporterPort" => self.metrics_prom_exporter_port = parse(key, value)?,
            "metricsLabel" => self.metrics_label = value.to_string(),
            // flow control: start
            "osPageCacheBusyTimeOutMills" => {
                self.store.os_page_cache_busy_timeout_ms = parse(key, value)?
            }
            "brokerFastFailureEnable" | "waitTimeMillsInSendQueue" => {
                if key == "brokerFastFailureEnable" {
                    self.broker_fast_failure_enable = parse_bool(value);
                } else {
                    self.wait_time_mills_in_send_queue = parse(key, value)?;
                }
                self.apply_fast_failure();
            }
            "maxOutboundBytesPerConnection" => {
                self.max_outbound_bytes_per_connection = parse(key, value)?
            }
            "maxInflightFrameBytes" => {
                let bytes: usize = parse(key, value)?;
                let frame = rmq_codec::command::MAX_FRAME_LENGTH;
                if bytes < frame {
                    bail!("maxInflightFrameBytes must hold one maximal frame ({frame} bytes), got {bytes}");
                }
                self.max_inflight_frame_bytes = bytes;
            }
            // flow control: end
            "maxParkedRequests" => self.max_parked_requests = parse(key, value)?,
            "maxParkedRequestsPerConnection" => {
                self.max_parked_requests_per_connection = parse(key, value)?
            }
            "longPollingMaxTimeMills" => self.long_polling_max_time_ms = parse(key, value)?,
            "shutdownTimeoutMills" => self.shutdown_timeout_ms = parse(key, value)?,
            MQ_VERSION_KEY => self.mq_version = parse_mq_version(value)?,
            "configBlackList" => self.config_black_list = value.to_string(),
            // HA: start
            "grpcServerPort" => self.grpc_server_port = Some(parse(key, value)?),
            "haListenPort" => self.ha_listen_port = Some(parse(key, value)?),
            "haTransferBatchSize" => self.ha.transfer_batch_size = parse(key, value)?,
            "haSendHeartbeatInterval" => {
                self.ha.heartbeat_interval = Duration::from_millis(parse(key, value)?)
            }
            "haHousekeepingInterval" => {
                self.ha.housekeeping_interval = Duration::from_millis(parse(key, value)?)
            }
            "slaveTimeout" => self.ha.slave_timeout = Duration::from_millis(parse(key, value)?),
            "haMaxGapNotInSync" => self.ha.max_gap_not_in_sync = parse(key, value)?,
            // HA: end
            _ => return Ok(false),
        }
        Ok(true)
    }
}
