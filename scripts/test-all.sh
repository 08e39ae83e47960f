#!/usr/bin/env bash
# Runs every test: Rust checks and unit/golden tests, then the official Java (4.9.x and 5.x) and Go clients
# against a freshly started rmqd, and the same client suites against the real Java broker (which proves the
# suites expect what Java does). Usage: scripts/test-all.sh [--skip-java-broker]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

skip_java_broker=false
[[ "${1:-}" == "--skip-java-broker" ]] && skip_java_broker=true

JAVA_CLIENT_VERSIONS=${JAVA_CLIENT_VERSIONS:-"4.9.8 5.3.3"}
# The suites against the real Java brokers prove the tests expect what Java does. Each broker line is checked
# with its own client line (BROKER:CLIENT[:go]); the cross pairs added ~10 minutes and no failure of their own.
JAVA_BROKER_PASSES=${JAVA_BROKER_PASSES:-"4.9.7:4.9.8:go 5.3.3:5.3.3"}
CRASH_ITERATIONS=${CRASH_ITERATIONS:-3}
# Broker settings the client suites expect, applied identically to rmqd and the Java brokers.
# Short delay levels keep the retry/delay tests fast (RMQ_MESSAGE_DELAY_LEVEL tells the suites the same list).
# transactionTimeOut stays above Java 5.x's 3 s op-message batching: with 1 s a Java 5.3.3 broker re-checks
# halves it has already committed and delivers them twice.
RMQ_MESSAGE_DELAY_LEVEL=${RMQ_MESSAGE_DELAY_LEVEL:-"1s 2s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s"}
export RMQ_MESSAGE_DELAY_LEVEL
SUITE_BROKER_CONF=${SUITE_BROKER_CONF:-"enablePropertyFilter=true
transactionCheckInterval=3000
transactionTimeOut=6000
messageDelayLevel=$RMQ_MESSAGE_DELAY_LEVEL"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-test.XXXXXX")
# One line per step ("passed: NAME" / "FAILED: NAME"), appended also by the steps that run in the background.
RESULTS="$WORK/results"
: >"$RESULTS"

START_S=$SECONDS
step() { printf '\n=== [%dm%02ds] %s ===\n' $(((SECONDS - START_S) / 60)) $(((SECONDS - START_S) % 60)) "$*"; }
record() { # name, exit code
  if [[ "$2" == 0 ]]; then echo "passed: $1" >>"$RESULTS"; else echo "FAILED: $1" >>"$RESULTS"; fi
}

# A port p is usable for a broker when p, p-2 (VIP channel) and p+1 (HA) are all free.
free_port() { python3 "$ROOT/scripts/free-port.py"; }

cleanup() {
  for dir in "$WORK"/*/; do
    [[ -d "$dir" ]] || continue
    for kind in rmqd java; do
      scripts/broker-ctl.sh stop "$kind" "$dir" >/dev/null 2>&1 || true
    done
  done
}
trap cleanup EXIT

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo test"
cargo test --workspace
step "cargo build --release"
cargo build --release --bin rmqd

run_client_suites() { # kind label java-client-versions run-go(true|false)
  local kind=$1 label=$2 clients=$3 with_go=$4 dir="$WORK/$2"
  mkdir -p "$dir"
  export NAMESRV_PORT BROKER_PORT
  NAMESRV_PORT=$(free_port); BROKER_PORT=$(free_port)
  while [[ "$BROKER_PORT" == "$NAMESRV_PORT" ]]; do BROKER_PORT=$(free_port); done
  step "start $label (name server $NAMESRV_PORT, broker $BROKER_PORT)"
  BROKER_EXTRA_CONF="$SUITE_BROKER_CONF" scripts/broker-ctl.sh start "$kind" "$dir"
  export NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT"
  # The version the broker must report (NamesrvAdminTest; mqadmin clusterList's #Version): rmqd's default, or
  # the Java broker's own.
  if [[ "$kind" == java ]]; then
    local java_version=${JAVA_BROKER_VERSION:-4.9.7}
    export RMQ_EXPECTED_BROKER_VERSION="V${java_version//./_}"
  else
    export RMQ_EXPECTED_BROKER_VERSION=V5_3_3
  fi
  export RMQ_RESTART_CMD="BROKER_EXTRA_CONF='$SUITE_BROKER_CONF' NAMESRV_PORT=$NAMESRV_PORT BROKER_PORT=$BROKER_PORT JAVA_BROKER_VERSION=${JAVA_BROKER_VERSION:-4.9.7} $ROOT/scripts/broker-ctl.sh restart $kind $dir"
  for v in $clients; do
    step "Java client $v against $label"
    set +e
    (cd java-client-tests && mvn -B -ntp -q test -Drocketmq.client.version="$v")
    record "java-client-$v-on-$label" $?
    set -e
  done
  if $with_go; then
    step "Go client against $label"
    set +e
    (cd compat-tests/go && go test -count=1 -v ./... 2>&1 | tail -n 60; exit "${PIPESTATUS[0]}")
    record "go-client-on-$label" $?
    set -e
  fi
  scripts/broker-ctl.sh stop "$kind" "$dir"
}

run_client_suites rmqd rmqd "$JAVA_CLIENT_VERSIONS" true

step "crash test: SYNC_FLUSH load, SIGKILL and restart ($CRASH_ITERATIONS kills)"
set +e
scripts/crash-test.sh "$CRASH_ITERATIONS"
record "crash-test" $?
set -e
run_script() { # name command...
  local name=$1
  shift
  step "$name"
  set +e
  "$@"
  record "$name" $?
  set -e
}
run_script "tls (enforcing, Java clients over TLS)" env MVN_FLAGS=-q scripts/tls-test.sh
# The ACL suite also runs against the Java 4.9.7 broker with the 4.9.8 client (about 40 s more), which proves
# AclTest and AclAdminTest expect what Java does (AclAdminTest's ACL admin requests exist in 4.9.x only).
acl_on_java=1
$skip_java_broker && acl_on_java=0
run_script "acl (plain_acl.yml, signed Java and Go clients, ACL admin requests)" env JAVA_ACL=$acl_on_java JAVA_ACL_CLIENTS=4.9.8 scripts/acl-test.sh
run_script "metrics (metricsExporterType=PROM scraped by Prometheus)" scripts/metrics-test.sh
run_script "reset-4x-flow (useServerSideResetOffset=false, QueryTest reset by time)" scripts/reset-4x-flow-test.sh
# libFuzzer targets (fuzz/, nightly + cargo-fuzz) over the committed corpora, 20 s each.
ensure_cargo_fuzz() {
  cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
}
# The fuzzers are CPU-bound on one core while the Java-broker passes below mostly wait on the network and on
# sleeps, so they run side by side (at low priority) and their output is printed when they are done.
FUZZ_STEP="fuzz (cargo fuzz, ${FUZZ_SECONDS:-20} s per target)"
step "$FUZZ_STEP (started in the background)"
nice -n 10 bash -c "$(declare -f ensure_cargo_fuzz); ensure_cargo_fuzz && scripts/fuzz.sh ${FUZZ_SECONDS:-20}" \
  >"$WORK/fuzz.log" 2>&1 &
FUZZ_PID=$!

# The Java-broker passes run side by side, each with its own broker, name server, ports and client build
# directory: their suites spend most of their time waiting (long polls, retry delays, transaction checks), so
# together they take about as long as the longer one. Each pass's output is printed when it is done.
if ! $skip_java_broker; then
  pass_pids=()
  pass_names=()
  for pass in $JAVA_BROKER_PASSES; do
    IFS=: read -r jv cv go <<<"$pass"
    step "Java broker $jv pass (client $cv${go:+, Go}) started in the background"
    (JAVA_BROKER_VERSION=$jv run_client_suites java "java-broker-$jv" "$cv" \
      "$([[ "$go" == go ]] && echo true || echo false)") >"$WORK/pass-$jv.log" 2>&1 &
    pass_pids+=($!)
    pass_names+=("$jv")
  done
  for i in "${!pass_pids[@]}"; do
    set +e
    wait "${pass_pids[$i]}"
    rc=$?
    set -e
    step "Java broker ${pass_names[$i]} pass (its output)"
    cat "$WORK/pass-${pass_names[$i]}.log"
    # A pass that died outside its suites (the broker did not start) has recorded nothing for them.
    [[ $rc -eq 0 ]] || record "java-broker-${pass_names[$i]} pass (broker start/stop)" $rc
  done
fi

# Store-directory migration: a store written by one broker kind is served unchanged by the other
# (java-client-tests StoreMigrationTest, switched by scripts/store-switch.sh), with small mapped files so that
# messages cross commit-log and consume-queue file boundaries.
run_store_migration() { # from to java-broker-version java-client-version
  local from=$1 to=$2 jv=$3 cv=$4 label="store-$1-to-$2-java-$3"
  local dir="$WORK/$label" ns bp rc
  mkdir -p "$dir"
  ns=$(free_port); bp=$(free_port)
  while [[ "$bp" == "$ns" ]]; do bp=$(free_port); done
  step "store migration $from -> $to (Java broker $jv, client $cv)"
  set +e
  (
    export NAMESRV_PORT=$ns BROKER_PORT=$bp JAVA_BROKER_VERSION=$jv
    export BROKER_EXTRA_CONF=$'mappedFileSizeCommitLog=1048576\nmappedFileSizeConsumeQueue=6000'
    # At the switch, `rmqd store verify|dump` check the store FROM left (scripts/store-check.sh).
    export STORE_SWITCH_VERIFY=1
    export NAMESRV_ADDR="127.0.0.1:$ns" RMQ_SWITCH_CMD="$ROOT/scripts/store-switch.sh $from $to $dir"
    scripts/broker-ctl.sh start "$from" "$dir" &&
      cd java-client-tests && mvn -B -ntp -q test -Dtest=StoreMigrationTest -Drocketmq.client.version="$cv"
  )
  rc=$?
  set -e
  scripts/broker-ctl.sh stop rmqd "$dir" || true
  scripts/broker-ctl.sh stop java "$dir" || true
  # The store as TO left it (for java -> rmqd: rmqd wrote on top of Java's files) must verify clean too.
  if [[ $rc -eq 0 ]]; then
    scripts/store-check.sh "$dir/store" "$to" || rc=$?
  fi
  record "$label" $rc
}
if ! $skip_java_broker; then
  run_store_migration java rmqd 4.9.7 4.9.8
  run_store_migration rmqd java 4.9.7 4.9.8
  run_store_migration java rmqd 5.3.3 5.3.3
  run_store_migration rmqd java 5.3.3 5.3.3
fi

# The roles alone, mixed with Java's: rmqd's broker registered with the Java name server, and the Java broker
# registered with rmqd's name server; the core Go client checks run against each.
run_mixed_roles() { # kind
  local kind=$1 dir="$WORK/$1" rc
  mkdir -p "$dir"
  step "Go client (core tests) against $kind"
  set +e
  (
    export NAMESRV_PORT BROKER_PORT
    NAMESRV_PORT=$(free_port); BROKER_PORT=$(free_port)
    while [[ "$BROKER_PORT" == "$NAMESRV_PORT" ]]; do BROKER_PORT=$(free_port); done
    export NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT"
    export RMQ_RESTART_CMD="NAMESRV_PORT=$NAMESRV_PORT BROKER_PORT=$BROKER_PORT $ROOT/scripts/broker-ctl.sh restart $kind $dir"
    scripts/broker-ctl.sh start "$kind" "$dir" &&
      cd compat-tests/go && go test -count=1 -v \
        -run 'TestSendSync|TestSendAsync|TestBatchSend|TestPushConsumer$|TestPushConsumerAndTagFilter|TestConsumerResumes|TestBrokerRestart|TestTwoConsumers|TestRouteJSON' \
        ./... 2>&1 | tail -n 30
    exit "${PIPESTATUS[0]}"
  )
  rc=$?
  set -e
  record "go-client-on-$kind" $rc
  scripts/broker-ctl.sh stop "$kind" "$dir" || true
}
if ! $skip_java_broker; then
  run_mixed_roles rmqd-broker
  run_mixed_roles rmqd-namesrv
fi

# Live migration of a Java 4.9.7 master/slave group to rmqd under client traffic (docs/migration.md), and an rmqd
# master beside a Java master in one cluster; about 4 minutes together.
if ! $skip_java_broker; then
  run_script "migration: Java 4.9.7 master/slave to rmqd under traffic" scripts/migration-test.sh migration
  run_script "two masters: rmqd and Java 4.9.7 behind one name server" scripts/migration-test.sh two-masters
fi

# Classic HA (scripts/ha-test.sh ci, java-client-tests HaTest): rmqd master + Java slave and Java master + rmqd
# slave for 4.9.7 and 5.3.3 under load (commit logs byte-identical, slave read after the master stops), a
# SYNC_MASTER SIGKILL and an iptables cut of the HA connection; about 6 minutes.
if ! $skip_java_broker; then
  run_script "ha (master/slave replication between rmqd and Java brokers)" env MVN_FLAGS=-q scripts/ha-test.sh ci
fi

step "$FUZZ_STEP (waiting for it)"
set +e
wait "$FUZZ_PID"
fuzz_rc=$?
set -e
cat "$WORK/fuzz.log"
record "$FUZZ_STEP" $fuzz_rc

step "summary"
grep '^passed' "$RESULTS" || true
grep '^FAILED' "$RESULTS" || true
passed=$(grep -c '^passed' "$RESULTS" || true)
failed=$(grep -c '^FAILED' "$RESULTS" || true)
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
