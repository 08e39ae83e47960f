#!/usr/bin/env bash
# Live migration of a Java RocketMQ cluster to rmqd, run as docs/migration.md tells an operator to, and the
# mixed 2-master cluster.
#
#   scripts/migration-test.sh migration     # 1 master + 1 slave, brokers replaced one by one under traffic
#   scripts/migration-test.sh two-masters   # broker-a (rmqd) and broker-b (Java) masters behind one name server
#
# migration: one Java name server; broker-a = Java master (brokerIP1 127.0.0.2) + Java slave (127.0.0.3), one
# producer and one push consumer (java-client-tests MigrationTrafficTest) running from start to end, never
# restarted. Steps (each checks the cluster list, the replicated max offsets and that traffic continues):
#   a. the Java slave is stopped; a TARGET slave (brokerId 1, brokerRole=SLAVE) starts on its store directory
#      and address, and catches up with the master (its commitLogMaxOffset reaches the master's);
#   b. manual switch: the master is made read-only (brokerPermission=4), the consumer is paused until the slave
#      holds the master's consumer offsets, the slave has every byte of the master's commit log, the master is
#      stopped, and the slave's store restarts as master (brokerId 0, ASYNC_MASTER) on the slave's address;
#      the consumer offsets it loads (config/consumerOffset.json, copied by the slave sync) must equal the old
#      master's;
#   c. a TARGET slave starts on the old master's store directory and address and follows the new master;
#      the two commit logs must be byte-identical up to the slave's max offset.
# Then the stop file ends the traffic: every SEND_OK message must have been consumed (duplicates reported).
#
# Env: TARGET (rmqd, default, or java: the same steps with Java brokers only, which checks the harness),
# JAVA_BROKER_VERSION (4.9.7 default, or 5.3.3), JAVA_CLIENT_VERSION (4.9.8 for 4.x brokers, else 5.3.3),
# RMQD_BIN (default target/release/rmqd), MIGRATION_WORK (work directory, default a new one under /tmp; it is
# kept when the test fails), STEP_TIMEOUT_S (bound of every wait, default 120).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-}
case "$MODE" in migration | two-masters) ;; *)
  echo "usage: $0 migration|two-masters" >&2
  exit 2
  ;;
esac
TARGET=${TARGET:-rmqd}
case "$TARGET" in rmqd | java) ;; *)
  echo "TARGET must be rmqd or java" >&2
  exit 2
  ;;
esac
JAVA_BROKER_VERSION=${JAVA_BROKER_VERSION:-4.9.7}
if [[ "$JAVA_BROKER_VERSION" == 4.* ]]; then
  JAVA_CLIENT_VERSION=${JAVA_CLIENT_VERSION:-4.9.8}
else
  JAVA_CLIENT_VERSION=${JAVA_CLIENT_VERSION:-5.3.3}
fi
RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-120}
WORK=${MIGRATION_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/rmqd-migration.XXXXXX")}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
# Small commit-log files so that replication crosses file boundaries with little traffic; every broker of a
# cluster must use the same size (the slave's files are the master's bytes at the master's offsets).
COMMITLOG_FILE_SIZE=4194304
PROBE=(python3 "$ROOT/scripts/rmq-probe.py")
TOPIC=MigrationTopic
GROUP=migration_cg
QUEUES=4

START_S=$SECONDS
log() { printf '[migration %3ds] %s\n' $((SECONDS - START_S)) "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
[[ "$TARGET" == java || -x "$RMQD_BIN" ]] || die "rmqd binary not found at $RMQD_BIN (cargo build --release --bin rmqd)"

# ------------------------------------------------------------------------------------------ processes

# Every process this script starts runs in its own process group (setsid) and its id is kept in DIR/pid;
# cleanup stops exactly those groups.
started_dirs=()
TRAFFIC_PGID=""

stop_group() { # pid, signal
  kill "-$2" -- "-$1" 2>/dev/null || true
}

stop_dir() { # dir: SIGTERM the broker started there, wait for it to exit (SIGKILL after 30 s)
  local dir=$1 pid waited=0
  [[ -f "$dir/pid" ]] || return 0
  pid=$(<"$dir/pid")
  stop_group "$pid" TERM
  while kill -0 "$pid" 2>/dev/null; do
    ((waited == 300)) && stop_group "$pid" KILL
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$dir/pid"
}

cleanup() {
  local rc=$? dir
  [[ -n "$TRAFFIC_PGID" ]] && stop_group "$TRAFFIC_PGID" KILL
  for ((i = ${#started_dirs[@]} - 1; i >= 0; i--)); do
    stop_dir "${started_dirs[$i]}"
  done
  if [[ $rc -eq 0 && -z "${MIGRATION_WORK:-}" ]]; then
    rm -rf "$WORK"
  else
    log "work directory kept: $WORK"
  fi
}
trap cleanup EXIT

free_port() { python3 "$ROOT/scripts/free-port.py"; }

# Classpath of the official broker and name server from Maven Central (as scripts/broker-ctl.sh resolves it).
java_classpath() {
  local cp_file="$WORK/java-broker-$JAVA_BROKER_VERSION.classpath"
  if [[ ! -s "$cp_file" ]]; then
    mvn -B -ntp -q -f "$ROOT/scripts/java-broker/pom.xml" dependency:build-classpath \
      -Drocketmq.version="$JAVA_BROKER_VERSION" -Dmdep.outputFile="$cp_file" >"$WORK/mvn-classpath.out" 2>&1 ||
      die "could not resolve the Java broker $JAVA_BROKER_VERSION (see $WORK/mvn-classpath.out)"
  fi
  cat "$cp_file"
}

# The packages the official run scripts open on Java 9+ (see scripts/broker-ctl.sh).
JAVA_OPENS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
)

# Runs a Java main class in DIR (ROCKETMQ_HOME and user.home inside DIR, output in DIR/out).
spawn_java() { # dir heap class args...
  local dir=$1 heap=$2 class=$3
  shift 3
  mkdir -p "$dir/rocketmq-home/conf"
  cp "$ROOT"/scripts/java-broker/conf/logback_*.xml "$dir/rocketmq-home/conf/"
  ROCKETMQ_HOME="$dir/rocketmq-home" setsid nohup java "-Xms$heap" "-Xmx$heap" "${JAVA_OPENS[@]}" \
    "-Duser.home=$dir" -cp "$(java_classpath)" "$class" "$@" >>"$dir/out" 2>&1 &
  echo $! >"$dir/pid"
  started_dirs+=("$dir")
}

start_namesrv() { # dir port
  mkdir -p "$1"
  printf 'listenPort=%s\n' "$2" >"$1/namesrv.conf"
  spawn_java "$1" 512m org.apache.rocketmq.namesrv.NamesrvStartup -c "$1/namesrv.conf"
  local deadline=$((SECONDS + STEP_TIMEOUT_S))
  until "${PROBE[@]}" cluster "127.0.0.1:$2" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "name server on $2 not up (see $1/out)"
    sleep 0.5
  done
  log "Java name server $JAVA_BROKER_VERSION on 127.0.0.1:$2"
}

# broker.conf of one broker of cluster DefaultCluster; the same keys for rmqd and Java.
write_conf() { # dir brokerName brokerId brokerRole ip port store
  cat >"$1/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=$2
brokerId=$3
brokerRole=$4
brokerIP1=$5
brokerIP2=$5
listenPort=$6
haListenPort=$(($6 + 1))
namesrvAddr=$NAMESRV
storePathRootDir=$7
storePathCommitLog=$7/commitlog
mappedFileSizeCommitLog=$COMMITLOG_FILE_SIZE
autoCreateTopicEnable=true
EOF
}

start_broker() { # kind dir
  local kind=$1 dir=$2
  case "$kind" in
    java) spawn_java "$dir" 1g org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" ;;
    rmqd)
      setsid nohup "$RMQD_BIN" broker -c "$dir/broker.conf" -n "$NAMESRV" >>"$dir/out" 2>&1 &
      echo $! >"$dir/pid"
      started_dirs+=("$dir")
      ;;
  esac
  log "started $kind broker in $dir: $(grep -E '^(brokerName|brokerId|brokerRole|brokerIP1|listenPort|storePathRootDir)=' "$dir/broker.conf" | tr '\n' ' ')"
}

conf_value() { # dir key
  sed -n "s/^$2=//p" "$1/broker.conf" | tail -n 1
}
addr_of() { echo "$(conf_value "$1" brokerIP1):$(conf_value "$1" listenPort)"; }

# ------------------------------------------------------------------------------------------ checks

# Polls `cmd...` until it succeeds; dies with `what` after STEP_TIMEOUT_S.
wait_for() { # what cmd...
  local what=$1 deadline=$((SECONDS + STEP_TIMEOUT_S))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || die "no $what after ${STEP_TIMEOUT_S} s"
    sleep 1
  done
}

registered() { # brokerName brokerId addr
  "${PROBE[@]}" cluster "$NAMESRV" 2>/dev/null | grep -qx "DefaultCluster $1 $2 $3"
}

wait_registered() { # dir (brokerName/brokerId/address from its broker.conf)
  local dir=$1 name id addr pid
  name=$(conf_value "$dir" brokerName)
  id=$(conf_value "$dir" brokerId)
  addr=$(addr_of "$dir")
  pid=$(<"$dir/pid")
  alive_and_registered() {
    kill -0 "$pid" 2>/dev/null || {
      tail -n 30 "$dir/out" >&2
      die "broker in $dir exited"
    }
    registered "$name" "$id" "$addr"
  }
  wait_for "registration of $name/$id at $addr" alive_and_registered
  log "clusterList: $(echo; "${PROBE[@]}" cluster "$NAMESRV" | sed 's/^/    /')"
}

max_offset() { "${PROBE[@]}" runtime "$1" commitLogMaxOffset 2>/dev/null; }

# The slave's commit log reaches the offset the master had when the wait began (the master keeps growing).
wait_caught_up() { # slave-addr master-addr
  local target
  target=$(max_offset "$2") || die "no commitLogMaxOffset from master $2"
  slave_reached() {
    local got
    got=$(max_offset "$1") || return 1
    ((got >= target))
  }
  wait_for "catch-up of slave $1 to $target" slave_reached "$1"
  log "slave $1 at $(max_offset "$1") >= master's $target (master now $(max_offset "$2"))"
}

status_value() { # key (from the traffic program's status file)
  [[ -f "$WORK/traffic/status" ]] || return 0
  sed -n "s/^$1=//p" "$WORK/traffic/status"
}

# Traffic flows: at least 30 more messages acknowledged and 30 more consumed than when the wait began.
wait_traffic() { # label
  local sent0 consumed0
  sent0=$(status_value sent)
  consumed0=$(status_value consumed)
  flowing() {
    local s c
    s=$(status_value sent)
    c=$(status_value consumed)
    [[ -n "$s" && -n "$c" ]] && ((s >= ${sent0:-0} + 30 && c >= ${consumed0:-0} + 30))
  }
  wait_for "traffic after $1 (from sent=${sent0:-0} consumed=${consumed0:-0})" flowing
  log "traffic after $1: $(tr '\n' ' ' <"$WORK/traffic/status")"
}

# ------------------------------------------------------------------------------------------ scenarios

NS_PORT=$(free_port)
NAMESRV=127.0.0.1:$NS_PORT

# Two ports apart from each other and from the name server (each leaves p-2 and p+1 free for VIP and HA).
two_broker_ports() {
  local a b
  while true; do
    a=$(free_port)
    b=$(free_port)
    ((a != NS_PORT && b != NS_PORT && (b < a - 3 || b > a + 3))) && break
  done
  echo "$a $b"
}

run_two_masters() {
  local a_dir="$WORK/broker-a" b_dir="$WORK/broker-b" pa pb rc
  read -r pa pb < <(two_broker_ports)
  mkdir -p "$a_dir" "$b_dir"
  start_namesrv "$WORK/namesrv" "$NS_PORT"
  write_conf "$a_dir" broker-a 0 ASYNC_MASTER 127.0.0.2 "$pa" "$a_dir/store"
  write_conf "$b_dir" broker-b 0 ASYNC_MASTER 127.0.0.3 "$pb" "$b_dir/store"
  start_broker "$TARGET" "$a_dir"
  start_broker java "$b_dir"
  wait_registered "$a_dir"
  wait_registered "$b_dir"
  log "MixedMastersTest (client $JAVA_CLIENT_VERSION)"
  set +e
  (cd "$ROOT/java-client-tests" && NAMESRV_ADDR=$NAMESRV RMQ_TWO_MASTERS=broker-a,broker-b \
    nice -n 19 mvn -B -ntp -q test -Dtest=MixedMastersTest -Drocketmq.client.version="$JAVA_CLIENT_VERSION" \
    -Dsurefire.failIfNoSpecifiedTests=false)
  rc=$?
  set -e
  ((rc == 0)) || die "MixedMastersTest failed (java-client-tests/target/client-$JAVA_CLIENT_VERSION/surefire-reports)"
  log "PASSED: two masters, broker-a $TARGET and broker-b Java $JAVA_BROKER_VERSION"
}

start_traffic() {
  mkdir -p "$WORK/traffic"
  # exec: the background job's pid is setsid's, which leads the new process group of mvn and its test JVM.
  (cd "$ROOT/java-client-tests" && NAMESRV_ADDR=$NAMESRV RMQ_MIGRATION_DIR="$WORK/traffic" \
    RMQ_MIGRATION_TOPIC=$TOPIC RMQ_MIGRATION_GROUP=$GROUP RMQ_MIGRATION_BROKER=broker-a \
    exec setsid nice -n 19 mvn -B -ntp -q test -Dtest=MigrationTrafficTest \
    -Drocketmq.client.version="$JAVA_CLIENT_VERSION" >"$WORK/traffic/mvn.out" 2>&1) &
  TRAFFIC_PGID=$!
  log "traffic started (MigrationTrafficTest, client $JAVA_CLIENT_VERSION, pid $TRAFFIC_PGID)"
}

# The group's committed offsets on a broker, comma-separated per queue.
group_offsets() { "${PROBE[@]}" consumer-offsets "$1" "$GROUP" "$TOPIC" "$QUEUES" 2>/dev/null; }

# Pauses the consumer and waits until the slave's copy of the group's offsets (slave sync, every 10 s)
# equals the master's and the master's no longer move; prints them.
settle_consumer_offsets() { # master-addr slave-addr
  local master=$1 slave=$2 before after
  touch "$WORK/traffic/pause-consume"
  consumer_paused() { [[ "$(status_value paused)" == true ]]; }
  wait_for "consumer pause" consumer_paused
  # The client commits every 5 s (persistConsumerOffsetInterval): offsets can still move once after the pause.
  sleep 6
  while true; do
    before=$(group_offsets "$master") || die "no consumer offsets from $master"
    slave_has() { [[ "$(group_offsets "$slave")" == "$before" ]]; }
    wait_for "the master's consumer offsets ($before) on slave $slave" slave_has
    after=$(group_offsets "$master")
    [[ "$after" == "$before" ]] && break
  done
  log "consumer offsets $before on master $master and slave $slave" >&2
  echo "$before"
}

# The offsets of GROUP on TOPIC in a store's config/consumerOffset.json (what a broker loads at start).
stored_offsets() { # store dir
  python3 - "$1/config/consumerOffset.json" "$TOPIC@$GROUP" "$QUEUES" <<'PY'
import json, re, sys
path, key, queues = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path, "rb").read()
table = json.loads(re.sub(rb'([{,])(-?\d+):', rb'\1"\2":', text))["offsetTable"].get(key, {})
print(",".join(str(table.get(str(q), -1)) for q in range(queues)))
PY
}

# The two commit logs hold the same bytes up to `limit` (files named by their start offset).
same_commit_log() { # store-a store-b limit
  python3 - "$1/commitlog" "$2/commitlog" "$3" "$COMMITLOG_FILE_SIZE" <<'PY'
import os, sys
a, b, limit, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
start = 0
while start < limit:
    name = "%020d" % (start - start % size)
    n = min(size, limit - start)
    pa, pb = os.path.join(a, name), os.path.join(b, name)
    if os.path.exists(pa) and os.path.exists(pb):
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            if fa.read(n) != fb.read(n):
                sys.exit(f"commit logs differ in {name} (first {n} bytes)")
    elif os.path.exists(pa) != os.path.exists(pb):
        # A slave that started empty holds only the files from the master's last one on.
        print(f"{name}: only in {'the first' if os.path.exists(pa) else 'the second'} store")
    start += n
print(f"commit logs identical up to offset {limit}")
PY
}

run_migration() {
  local m_dir="$WORK/java-master" s_dir="$WORK/java-slave" pm ps m_addr s_addr
  read -r pm ps < <(two_broker_ports)
  mkdir -p "$m_dir" "$s_dir"
  start_namesrv "$WORK/namesrv" "$NS_PORT"

  log "=== start: Java $JAVA_BROKER_VERSION master broker-a/0 at 127.0.0.2:$pm, Java slave broker-a/1 at 127.0.0.3:$ps"
  write_conf "$m_dir" broker-a 0 ASYNC_MASTER 127.0.0.2 "$pm" "$m_dir/store"
  write_conf "$s_dir" broker-a 1 SLAVE 127.0.0.3 "$ps" "$s_dir/store"
  start_broker java "$m_dir"
  wait_registered "$m_dir"
  start_broker java "$s_dir"
  wait_registered "$s_dir"
  m_addr=$(addr_of "$m_dir")
  s_addr=$(addr_of "$s_dir")
  start_traffic
  wait_traffic "start"
  wait_caught_up "$s_addr" "$m_addr"

  log "=== step a: the Java slave is replaced by a $TARGET slave on its store directory"
  stop_dir "$s_dir"
  local a_dir="$WORK/step-a-$TARGET-slave"
  mkdir -p "$a_dir"
  write_conf "$a_dir" broker-a 1 SLAVE 127.0.0.3 "$ps" "$s_dir/store"
  start_broker "$TARGET" "$a_dir"
  wait_registered "$a_dir"
  wait_caught_up "$s_addr" "$m_addr"
  wait_traffic "step a"

  log "=== step b: the master role moves to the $TARGET broker (manual switch)"
  "${PROBE[@]}" update-config "$m_addr" brokerPermission=4
  log "master $m_addr read-only (brokerPermission=4)"
  local offsets master_max
  offsets=$(settle_consumer_offsets "$m_addr" "$s_addr")
  master_max=$(max_offset "$m_addr")
  exact_copy() { [[ "$(max_offset "$s_addr")" == "$master_max" ]]; }
  wait_for "slave max offset = master's $master_max" exact_copy
  log "slave $s_addr has the master's whole commit log ($master_max)"
  stop_dir "$m_dir"
  stop_dir "$a_dir"
  local carried
  carried=$(stored_offsets "$s_dir/store")
  [[ "$carried" == "$offsets" ]] ||
    die "consumerOffset.json on the slave's store has $carried, the master had $offsets"
  log "slave's store carries the consumer offsets $carried"
  local b_dir="$WORK/step-b-$TARGET-master"
  mkdir -p "$b_dir"
  write_conf "$b_dir" broker-a 0 ASYNC_MASTER 127.0.0.3 "$ps" "$s_dir/store"
  start_broker "$TARGET" "$b_dir"
  wait_registered "$b_dir"
  # Producers may already be writing to it; it must start from everything the old master had.
  (($(max_offset "$s_addr") >= master_max)) || die "new master max offset $(max_offset "$s_addr") < $master_max"
  local served
  served=$(group_offsets "$s_addr")
  [[ "$served" == "$offsets" ]] || die "new master serves consumer offsets $served, the old master had $offsets"
  log "new master $s_addr serves the carried-over consumer offsets $served"
  rm -f "$WORK/traffic/pause-consume"
  wait_traffic "step b"

  log "=== step c: the old Java master's store follows the new master as a $TARGET slave"
  local c_dir="$WORK/step-c-$TARGET-slave"
  mkdir -p "$c_dir"
  write_conf "$c_dir" broker-a 1 SLAVE 127.0.0.2 "$pm" "$m_dir/store"
  start_broker "$TARGET" "$c_dir"
  wait_registered "$c_dir"
  wait_caught_up "$m_addr" "$s_addr"
  wait_traffic "step c"
  same_commit_log "$s_dir/store" "$m_dir/store" "$(max_offset "$m_addr")" >&2 || die "commit logs differ"

  log "=== end: stopping the traffic"
  touch "$WORK/traffic/stop"
  local rc=0
  wait "$TRAFFIC_PGID" || rc=$?
  TRAFFIC_PGID=""
  tail -n 20 "$WORK/traffic/mvn.out" >&2
  log "result: $(tr '\n' ' ' <"$WORK/traffic/result" 2>/dev/null)"
  ((rc == 0)) || die "MigrationTrafficTest failed (java-client-tests/target/client-$JAVA_CLIENT_VERSION/surefire-reports)"
  log "PASSED: Java $JAVA_BROKER_VERSION cluster migrated to $TARGET under traffic (client $JAVA_CLIENT_VERSION)"
}

case "$MODE" in
  migration) run_migration ;;
  two-masters) run_two_masters ;;
esac
