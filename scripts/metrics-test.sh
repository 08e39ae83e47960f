#!/usr/bin/env bash
# Java 5.x's Prometheus exporter in rmqd, scraped by a real Prometheus server (docs/metrics.md is tested here):
# rmqd standalone with metricsExporterType=PROM on a free port, Prometheus (Debian's `prometheus` package,
# installed when missing) scraping it every second, `rmqd bench` producing and consuming a few hundred
# messages, then Prometheus' HTTP API (/api/v1/query) must show: the target up, rocketmq_messages_in_total
# of the topic equal to the messages sent, rocketmq_messages_out_total of the group equal to those received,
# samples in the rpc latency histogram (parked pulls as is_long_polling="true" too), rocketmq_storage_size_bytes
# > 0, and rmqd's own rmqd_* metrics.
# Also checks that a path other than /metrics answers 404.
#
#   scripts/metrics-test.sh
#   METRICS_TEST_BROKER=java scripts/metrics-test.sh   # the same checks against the Java broker (5.3.3), which
#                                                      # proves they expect what Java exports (less rmqd_* and 404)
#
# Env: RMQD_BIN (default target/release/rmqd; built when missing; also runs `rmqd bench`), KEEP_WORKDIR=1 keeps
# the temp dir (logs, Prometheus config and data). Exits non-zero when anything fails; prints "N passed, M failed".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"
TOPIC=MetricsTestTopic
GROUP=MetricsTestGroup
MESSAGES=300
KIND=${METRICS_TEST_BROKER:-rmqd}
[[ "$KIND" == rmqd || "$KIND" == java ]] || { echo "METRICS_TEST_BROKER must be rmqd or java" >&2; exit 2; }

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-metrics.XXXXXX")
PROM_PID=
log() { echo "metrics-test: $*" >&2; }

cleanup() {
  if [[ -n "$PROM_PID" ]] && kill -0 "$PROM_PID" 2>/dev/null; then
    kill "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
  fi
  "$ROOT/scripts/broker-ctl.sh" stop "$KIND" "$WORKDIR/broker" >/dev/null 2>&1 || true
  if [[ "${KEEP_WORKDIR:-}" == 1 ]]; then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
}
trap cleanup EXIT

if ! command -v prometheus >/dev/null 2>&1; then
  log "installing Debian's prometheus package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q prometheus >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q prometheus >/dev/null; }
fi
if [[ ! -x "$RMQD_BIN" ]]; then
  log "building rmqd (no binary at $RMQD_BIN)"
  cargo build --release --bin rmqd
  RMQD_BIN="$ROOT/target/release/rmqd"
fi

# Four distinct ports (and not the broker's VIP port, BROKER_PORT-2).
TAKEN=" "
pick_port() { # variable
  local port
  while :; do
    port=$(python3 scripts/free-port.py)
    [[ "$TAKEN" == *" $port "* ]] || break
  done
  TAKEN="$TAKEN$port $((port - 2)) "
  printf -v "$1" '%s' "$port"
}
export NAMESRV_PORT BROKER_PORT
pick_port NAMESRV_PORT
pick_port BROKER_PORT
pick_port METRICS_PORT
pick_port PROM_PORT

BROKER_EXTRA_CONF="metricsExporterType=PROM
metricsPromExporterHost=127.0.0.1
metricsPromExporterPort=$METRICS_PORT" JAVA_BROKER_VERSION=5.3.3 scripts/broker-ctl.sh start "$KIND" "$WORKDIR/broker"

mkdir -p "$WORKDIR/prometheus"
cat >"$WORKDIR/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rmqd
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
EOF
prometheus --config.file="$WORKDIR/prometheus/prometheus.yml" \
  --storage.tsdb.path="$WORKDIR/prometheus/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" \
  >"$WORKDIR/prometheus/prometheus.log" 2>&1 &
PROM_PID=$!
log "prometheus (pid $PROM_PID) on 127.0.0.1:$PROM_PORT scraping 127.0.0.1:$METRICS_PORT"

NAMESRV="127.0.0.1:$NAMESRV_PORT"
"$RMQD_BIN" bench produce -n "$NAMESRV" --topic "$TOPIC" --count "$MESSAGES" --threads 2 --size 512 \
  --json >"$WORKDIR/produce.json" 2>"$WORKDIR/produce.log"
"$RMQD_BIN" bench consume -n "$NAMESRV" --topic "$TOPIC" --group "$GROUP" --from-start \
  --count "$MESSAGES" --threads 1 --json >"$WORKDIR/consume.json" 2>"$WORKDIR/consume.log"

# Long polling: a consumer parks its pulls on an empty topic, then sends wake them
# (rocketmq_rpc_latency_milliseconds{is_long_polling="true"}).
"$RMQD_BIN" bench produce -n "$NAMESRV" --topic "$TOPIC-lp" --count 1 --threads 1 >/dev/null 2>>"$WORKDIR/produce.log"
"$RMQD_BIN" bench consume -n "$NAMESRV" --topic "$TOPIC-lp" --group "$GROUP-lp" --duration 3 --threads 1 \
  >/dev/null 2>>"$WORKDIR/consume.log" &
LP_PID=$!
sleep 1
"$RMQD_BIN" bench produce -n "$NAMESRV" --topic "$TOPIC-lp" --count 10 --threads 1 >/dev/null 2>>"$WORKDIR/produce.log"
wait "$LP_PID"

python3 - "$PROM_PORT" "$METRICS_PORT" "$TOPIC" "$GROUP" "$WORKDIR" "$KIND" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request

prom_port, metrics_port, topic, group, workdir, kind = sys.argv[1:]
produced = json.load(open(f"{workdir}/produce.json"))
consumed = json.load(open(f"{workdir}/consume.json"))
sent = produced["send"]["messages"]
received = consumed["received"]
print(f"metrics-test: bench sent {sent} (failures {produced['failures']}), received {received}", file=sys.stderr)

def query(expr):
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.load(resp)
    except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
        return None
    result = body.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None

checks = [
    ("target up", 'up{job="rmqd"}', lambda v: v == 1),
    (f"rocketmq_messages_in_total of {topic} = {sent} sent",
     f'sum(rocketmq_messages_in_total{{topic="{topic}"}})', lambda v: v == sent),
    (f"rocketmq_throughput_in_total of {topic} > 512 bytes per message",
     f'sum(rocketmq_throughput_in_total{{topic="{topic}"}})', lambda v: v > 512 * sent),
    (f"rocketmq_message_size count of {topic} = {sent}",
     f'sum(rocketmq_message_size_count{{topic="{topic}"}})', lambda v: v == sent),
    (f"rocketmq_messages_out_total of {group} = {received} received",
     f'sum(rocketmq_messages_out_total{{topic="{topic}",consumer_group="{group}"}})', lambda v: v == received),
    ("rpc latency histogram has the sends",
     'sum(rocketmq_rpc_latency_milliseconds_count{request_code="send_message_v2",response_code="success"})',
     lambda v: v >= sent),
    ("rpc latency +Inf bucket equals its count",
     'sum(rocketmq_rpc_latency_milliseconds_bucket{request_code="send_message_v2",le="+Inf"})'
     ' - sum(rocketmq_rpc_latency_milliseconds_count{request_code="send_message_v2"})', lambda v: v == 0),
    ("parked pulls in the rpc latency histogram as long polling",
     'sum(rocketmq_rpc_latency_milliseconds_count{request_code="pull_message",is_long_polling="true"})',
     lambda v: v >= 1),
    ("rocketmq_storage_size_bytes > 0", "rocketmq_storage_size_bytes", lambda v: v > 0),
    ("rocketmq_topic_number > 0", "rocketmq_topic_number", lambda v: v > 0),
    (f"consumer lag series of {group}",
     f'count(rocketmq_consumer_lag_messages{{consumer_group="{group}",topic="{topic}"}})', lambda v: v == 1),
]
if kind == "rmqd":
    checks += [
        ("rmqd_* metrics present", 'count({__name__=~"rmqd_.+"})', lambda v: v >= 4),
        ("rmqd_put_lock_wait_seconds present", "count(rmqd_put_lock_wait_seconds_count)", lambda v: v == 1),
    ]

passed = failed = 0
deadline = time.time() + 30
for name, expr, ok in checks:
    value = query(expr)
    # Prometheus scrapes every second: wait for a scrape that saw the final counters.
    while (value is None or not ok(value)) and time.time() < deadline:
        time.sleep(0.5)
        value = query(expr)
    if value is not None and ok(value):
        passed += 1
        print(f"  ok   {name} ({value:g})")
    else:
        failed += 1
        print(f"  FAIL {name}: {expr} = {value}")

# Java's exporter answers every path with the metrics; rmqd only /metrics.
if kind == "rmqd":
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/other", timeout=5)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    if status == 404:
        passed += 1
        print("  ok   /other answers 404")
    else:
        failed += 1
        print(f"  FAIL /other answered {status}, not 404")

print(f"metrics: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
