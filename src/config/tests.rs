//! Tests of `config`: Java property syntax, known keys and their defaults, the roles' files.

use std::path::PathBuf;

use super::*;
use crate::metrics::ExporterType;
use crate::remoting::tls::TlsMode;
use rmq_store::message_store::FlushDiskType;

#[test]
fn parses_java_property_syntax() {
    let props = parse_properties(
        "# comment\nlistenPort=10911\nbrokerName : broker-b\n! other\nnamesrvAddr 127.0.0.1:9876;\\\n  127.0.0.2:9876\n",
    );
    assert_eq!(props["listenPort"], "10911");
    assert_eq!(props["brokerName"], "broker-b");
    assert_eq!(props["namesrvAddr"], "127.0.0.1:9876;127.0.0.2:9876");
}

#[test]
fn applies_retention_keys() {
    let mut config = BrokerConfig::default();
    assert_eq!(
        (
            config.store.file_reserved_time_hours,
            config.store.delete_when.as_str()
        ),
        (72, "04")
    );
    for (k, v) in [
        ("fileReservedTime", "48"),
        ("deleteWhen", "03;15"),
        ("diskSpaceWarningLevelRatio", "95"),
    ] {
        assert!(config.apply(k, v).unwrap(), "{k}");
    }
    assert_eq!(config.store.file_reserved_time_hours, 48);
    assert_eq!(config.store.delete_when, "03;15");
    assert_eq!(config.store.disk_space_warning_level_ratio, 95);
    assert!(config.apply("diskMaxUsedSpaceRatio", "75%").is_err());
}

#[test]
fn applies_known_keys_and_rejects_bad_numbers() {
    let mut config = BrokerConfig::default();
    assert!(config.apply("listenPort", "20911").unwrap());
    assert_eq!(config.listen_port, 20911);
    assert!(!config.apply("someFutureKey", "x").unwrap());
    assert!(config.apply("listenPort", "abc").is_err());
    assert!(config.apply("flushDiskType", "SYNC_FLUSH").is_ok());
    assert_eq!(config.store.flush_disk_type, FlushDiskType::Sync);
    assert_eq!(
        config.namesrv_addrs(),
        Vec::<String>::new(),
        "no name server configured"
    );
}

#[test]
fn parses_message_delay_levels() {
    let default = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
    assert_eq!(
        parse_delay_levels(default).unwrap(),
        rmq_store::DEFAULT_DELAY_LEVELS_MS.to_vec()
    );
    assert_eq!(
        parse_delay_levels(" 1s  2d ").unwrap(),
        vec![1_000, 2 * 86_400_000]
    );
    for bad in ["", "1x", "s", "1.5s", "-1s"] {
        assert!(parse_delay_levels(bad).is_err(), "{bad:?}");
    }
    let mut config = BrokerConfig::default();
    assert!(config.apply("messageDelayLevel", "1s 1s 1s").unwrap());
    assert_eq!(config.store.message_delay_levels_ms, vec![1_000; 3]);
}

#[test]
fn auto_create_limits_default_to_thirty_thousand_and_can_be_set() {
    let mut config = BrokerConfig::default();
    assert_eq!(config.auto_create_topic_limit, 30_000);
    assert_eq!(config.auto_create_subscription_group_limit, 30_000);
    assert!(config.apply("autoCreateTopicLimit", "100").unwrap());
    assert!(config
        .apply("autoCreateSubscriptionGroupLimit", "50")
        .unwrap());
    assert_eq!(config.auto_create_topic_limit, 100);
    assert_eq!(config.auto_create_subscription_group_limit, 50);
    assert!(config.apply("autoCreateTopicLimit", "-1").is_err());
}

#[test]
fn flow_control_keys_have_javas_defaults_and_reach_the_store() {
    let mut config = BrokerConfig::default();
    assert_eq!(config.store.os_page_cache_busy_timeout_ms, 1_000);
    assert_eq!(config.store.put_lock_wait_limit_ms, Some(200));
    assert_eq!(config.max_outbound_bytes_per_connection, 64 << 20);
    assert!(config.apply("waitTimeMillsInSendQueue", "500").unwrap());
    assert_eq!(config.store.put_lock_wait_limit_ms, Some(500));
    assert!(config.apply("brokerFastFailureEnable", "false").unwrap());
    assert_eq!(config.store.put_lock_wait_limit_ms, None);
    assert!(config.apply("waitTimeMillsInSendQueue", "300").unwrap());
    assert_eq!(config.store.put_lock_wait_limit_ms, None, "still disabled");
    assert!(config.apply("osPageCacheBusyTimeOutMills", "2000").unwrap());
    assert_eq!(config.store.os_page_cache_busy_timeout_ms, 2_000);
    assert!(config
        .apply("maxOutboundBytesPerConnection", "1048576")
        .unwrap());
    assert_eq!(config.max_outbound_bytes_per_connection, 1 << 20);
}

#[test]
fn tls_keys_reach_both_roles_in_standalone() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "tls.server.mode=enforcing\ntls.server.certPath=/c.pem\ntls.server.keyPath=/k.pem\n\
         tls.config.file=/nonexistent/tls.properties\n",
    )
    .unwrap();
    let (broker, namesrv) = load_standalone(Some(&conf)).unwrap();
    assert_eq!(namesrv.tls.effective_mode(), TlsMode::Enforcing);
    assert_eq!(namesrv.tls.server_cert_path, Some(PathBuf::from("/c.pem")));
    assert!(broker.tls.enable, "the broker must register over TLS");
    let plain = load_broker(Some(&conf)).unwrap();
    assert!(
        !plain.tls.enable,
        "only standalone turns tls.enable on by itself"
    );
}

#[test]
fn the_announced_version_is_configured_by_name_or_ordinal() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    assert_eq!(BrokerConfig::default().mq_version, 479);
    for (value, ordinal) in [("V4_9_8", 409), ("4.9.7", 407), ("479", 479)] {
        std::fs::write(&conf, format!("{MQ_VERSION_KEY}={value}\n")).unwrap();
        let (broker, namesrv) = load_standalone(Some(&conf)).unwrap();
        assert_eq!(broker.mq_version, ordinal, "{value}");
        assert_eq!(namesrv.mq_version, ordinal, "{value}");
        assert_eq!(load_namesrv(Some(&conf)).unwrap().mq_version, ordinal);
    }
    for bad in ["3.2.6", "6.0.0", "latest", "100"] {
        std::fs::write(&conf, format!("{MQ_VERSION_KEY}={bad}\n")).unwrap();
        let e = load_broker(Some(&conf)).unwrap_err().to_string();
        assert!(e.contains(MQ_VERSION_KEY), "{bad}: {e}");
    }
}

#[test]
fn the_namesrv_config_file_is_where_updates_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &conf,
        "listenPort=19876\nconfigStorePath=/elsewhere\nsomeJavaKey=1\n",
    )
    .unwrap();
    let namesrv = load_namesrv(Some(&conf)).unwrap();
    assert_eq!(namesrv.config_store_path, conf, "Java's NamesrvStartup");
    assert_eq!(namesrv.file_properties["someJavaKey"], "1");
    let known = namesrv.known_properties();
    assert_eq!(known["listenPort"], "19876");

    let broker_conf = dir.path().join("broker.conf");
    std::fs::write(&broker_conf, "storePathRootDir=/data/rmqd\n").unwrap();
    let (_, standalone) = load_standalone(Some(&broker_conf)).unwrap();
    assert_eq!(
        standalone.config_store_path,
        PathBuf::from("/data/rmqd/namesrv/namesrv.properties")
    );
    assert!(standalone.file_properties.is_empty(), "not the broker.conf");
}

#[test]
fn metrics_keys_have_javas_defaults() {
    let mut config = BrokerConfig::default();
    assert_eq!(config.metrics_exporter_type, ExporterType::Disable);
    assert_eq!(config.metrics_prom_exporter_port, 5557);
    assert_eq!(config.metrics_prom_exporter_host, "");
    assert!(config.apply("metricsExporterType", "PROM").unwrap());
    assert!(config
        .apply("metricsPromExporterHost", "127.0.0.2")
        .unwrap());
    assert!(config.apply("metricsPromExporterPort", "9100").unwrap());
    assert_eq!(config.metrics_exporter_type, ExporterType::Prom);
    assert_eq!(config.metrics_prom_exporter_host, "127.0.0.2");
    assert_eq!(config.metrics_prom_exporter_port, 9100);
    assert!(config.apply("metricsExporterType", "SOMETHING").is_err());
    assert!(config.apply("metricsPromExporterPort", "70000").is_err());
}

/// BrokerStartup: a SLAVE keeps its brokerId, which must be above 0; a master's brokerId is always 0.
#[test]
fn broker_role_settles_the_broker_id_as_broker_startup() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    let load = |text: &str| {
        std::fs::write(&conf, text).unwrap();
        load_broker(Some(&conf))
    };
    let slave = load("brokerRole=SLAVE\nbrokerId=2\n").unwrap();
    assert!(slave.is_slave());
    assert_eq!(slave.broker_id, 2);
    for bad in [
        "brokerRole=SLAVE\n",
        "brokerRole=SLAVE\nbrokerId=0\n",
        "brokerRole=SLAVE\nbrokerId=-1\n",
    ] {
        let err = load(bad).unwrap_err();
        assert!(
            err.to_string().contains("brokerId must be > 0"),
            "{bad}: {err}"
        );
    }
    let master = load("brokerRole=SYNC_MASTER\nbrokerId=3\n").unwrap();
    assert!(!master.is_slave());
    assert_eq!(master.broker_id, 0);
    assert!(load("brokerRole=DLEDGER\n").is_err());
}

#[test]
fn ha_master_address_is_taken_from_six_characters() {
    let mut config = BrokerConfig::default();
    assert_eq!(config.fixed_ha_master_address(), None);
    config.apply("haMasterAddress", "1:2").unwrap();
    assert_eq!(config.fixed_ha_master_address(), None);
    config.apply("haMasterAddress", "127.0.0.2:10912").unwrap();
    assert_eq!(config.fixed_ha_master_address(), Some("127.0.0.2:10912"));
    assert!(config.apply("slaveReadEnable", "true").unwrap());
    assert!(config.slave_read_enable);
    assert_eq!(config.access_message_in_memory_max_ratio, 40);
}

#[test]
fn grpc_port_defaults_to_the_proxys_and_follows_an_ephemeral_broker() {
    let mut config = BrokerConfig {
        listen_port: 10911,
        ..BrokerConfig::default()
    };
    assert_eq!(config.grpc_port(), Some(8081));
    config.listen_port = 0;
    assert_eq!(
        config.grpc_port(),
        Some(0),
        "ephemeral broker, ephemeral gRPC"
    );
    assert!(config.apply("grpcServerPort", "18081").unwrap());
    assert_eq!(config.grpc_port(), Some(18081));
    assert!(config.apply("grpcServerPort", "-1").unwrap());
    assert_eq!(config.grpc_port(), None, "negative disables it");
}
