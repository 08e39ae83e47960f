//! The real `rmqd` binary with a configured version: the name server's admin codes (WIPE/ADD_WRITE_PERM_OF_BROKER,
//! GET/UPDATE_NAMESRV_CONFIG), the version it announces, and the once-per-code log of unsupported requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::{ExtFields, RemotingCommand};
use serde_json::Value;

mod common;

use common::start_rmqd;

fn call(port: u16, cmd: RemotingCommand) -> RemotingCommand {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf);
    stream.write_all(&buf).unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).unwrap();
    RemotingCommand::decode(Bytes::from(frame)).unwrap()
}

fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let mut ext = ExtFields::new();
    for (k, v) in fields {
        ext.insert(k.to_string(), v.to_string());
    }
    RemotingCommand::new_request(code, ext)
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn ok(resp: &RemotingCommand) {
    assert_eq!(
        resp.code,
        i32::from(ResponseCode::Success),
        "remark {:?}",
        resp.remark
    );
}

/// The perm of broker-a's queues for `topic` in the name server's route.
fn perm_in_route(namesrv: u16, topic: &str) -> i64 {
    let resp = call(
        namesrv,
        request(RequestCode::GetRouteinfoByTopic, &[("topic", topic)]),
    );
    ok(&resp);
    let route: Value = serde_json::from_slice(&resp.body).unwrap();
    let queue = route["queueDatas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["brokerName"] == "broker-a")
        .unwrap_or_else(|| panic!("broker-a in {route}"));
    queue["perm"].as_i64().unwrap()
}

/// Waits until the broker's first registration reached the name server (start_rmqd waits for the ports only).
fn wait_for_registration(namesrv: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = call(
            namesrv,
            request(RequestCode::GetRouteinfoByTopic, &[("topic", "TBW102")]),
        );
        if resp.code == i32::from(ResponseCode::Success) {
            return;
        }
        assert!(Instant::now() < deadline, "the broker never registered");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn write_perm_of_a_broker_is_wiped_and_added_back() {
    let rmqd = start_rmqd("");
    let namesrv = port_of(&rmqd.namesrv);
    wait_for_registration(namesrv);
    assert_ne!(perm_in_route(namesrv, "TBW102") & 2, 0);

    let wipe = call(
        namesrv,
        request(
            RequestCode::WipeWritePermOfBroker,
            &[("brokerName", "broker-a")],
        ),
    );
    ok(&wipe);
    let wiped: i32 = wipe.ext_fields["wipeTopicCount"].parse().unwrap();
    assert!(wiped >= 1, "TBW102 at least: {wiped}");
    assert_eq!(perm_in_route(namesrv, "TBW102") & 2, 0, "write bit cleared");

    let add = call(
        namesrv,
        request(
            RequestCode::AddWritePermOfBroker,
            &[("brokerName", "broker-a")],
        ),
    );
    ok(&add);
    assert_eq!(add.ext_fields["addTopicCount"], wiped.to_string());
    // Java sets READ|WRITE, whatever else the perm had (TBW102's INHERIT bit too).
    assert_eq!(perm_in_route(namesrv, "TBW102"), 6);

    let unknown = call(
        namesrv,
        request(
            RequestCode::WipeWritePermOfBroker,
            &[("brokerName", "no-such-broker")],
        ),
    );
    ok(&unknown);
    assert_eq!(unknown.ext_fields["wipeTopicCount"], "0");

    let missing = call(namesrv, request(RequestCode::AddWritePermOfBroker, &[]));
    assert_eq!(missing.code, i32::from(ResponseCode::SystemError));
}

fn namesrv_config(namesrv: u16) -> std::collections::BTreeMap<String, String> {
    let resp = call(namesrv, request(RequestCode::GetNamesrvConfig, &[]));
    ok(&resp);
    rmqd::config::parse_properties(std::str::from_utf8(&resp.body).unwrap())
}

#[test]
fn namesrv_config_is_read_updated_and_persisted() {
    let rmqd = start_rmqd("");
    let namesrv = port_of(&rmqd.namesrv);
    let before = namesrv_config(namesrv);
    assert_eq!(before["listenPort"], namesrv.to_string());
    assert_eq!(before["productEnvName"], "center");
    // Standalone: the configuration is stored beside the KV config, never over the broker.conf.
    let stored = rmqd.store_dir().join("namesrv/namesrv.properties");
    assert_eq!(before["configStorePath"], stored.display().to_string());

    let mut update = request(RequestCode::UpdateNamesrvConfig, &[]);
    update.body =
        Bytes::from_static(b"productEnvName=ops-test\nscanNotActiveBrokerInterval=4000\n");
    ok(&call(namesrv, update));
    let after = namesrv_config(namesrv);
    assert_eq!(after["productEnvName"], "ops-test");
    assert_eq!(after["scanNotActiveBrokerInterval"], "4000");
    let persisted = std::fs::read_to_string(&stored).unwrap();
    assert!(
        persisted.contains("productEnvName=ops-test\n"),
        "{persisted}"
    );

    let mut refused = request(RequestCode::UpdateNamesrvConfig, &[]);
    refused.body = Bytes::from_static(b"kvConfigPath=/tmp/elsewhere\n");
    let resp = call(namesrv, refused);
    assert_eq!(resp.code, i32::from(ResponseCode::NoPermission));
    assert_eq!(namesrv_config(namesrv), after);
}

#[test]
fn the_configured_version_is_announced_everywhere() {
    let rmqd = start_rmqd("rocketmq.remoting.version=4.9.8");
    let resp = call(
        rmqd.broker_port,
        request(RequestCode::GetBrokerRuntimeInfo, &[]),
    );
    ok(&resp);
    assert_eq!(resp.version, 409, "response version");
    let table: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(table["table"]["brokerVersionDesc"], "V4_9_8");
    assert_eq!(table["table"]["brokerVersion"], "409");
    let ns = call(
        port_of(&rmqd.namesrv),
        request(RequestCode::GetBrokerClusterInfo, &[]),
    );
    assert_eq!(ns.version, 409, "name server response version");
}

#[test]
fn the_default_version_is_5_3_3() {
    let rmqd = start_rmqd("");
    let resp = call(
        rmqd.broker_port,
        request(RequestCode::GetBrokerRuntimeInfo, &[]),
    );
    assert_eq!(resp.version, 479);
    let table: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(table["table"]["brokerVersionDesc"], "V5_3_3");
}

#[test]
fn unsupported_codes_are_logged_once_per_code_and_role() {
    let rmqd = start_rmqd("");
    let namesrv = port_of(&rmqd.namesrv);
    for port in [rmqd.broker_port, namesrv] {
        for code in [9999, 9999, 9998, 9999] {
            let resp = call(port, request(RequestCode::from(code), &[]));
            assert_eq!(resp.code, i32::from(ResponseCode::RequestCodeNotSupported));
            assert_eq!(
                resp.remark.as_deref(),
                Some(format!(" request type {code} not supported").as_str())
            );
        }
    }
    let log = rmqd.log();
    let lines = |code: &str| {
        log.lines()
            .filter(|l| l.contains("not supported") && l.contains(&format!("code={code}")))
            .collect::<Vec<_>>()
    };
    // Once by the broker and once by the name server, each with the client's address.
    assert_eq!(lines("9999").len(), 2, "{log}");
    assert_eq!(lines("9998").len(), 2, "{log}");
    assert!(
        lines("9999").iter().all(|l| l.contains("peer=127.0.0.1:")),
        "{log}"
    );
}
