#!/usr/bin/env bash
# Classic HA (Java's master/slave replication) between two brokers of one broker name, each rmqd or the official
# Java broker, behind one name server, under load from the official Java producer (java-client-tests HaTest).
#
#   scripts/ha-test.sh replicate|sync-kill|cut     # one scenario, roles from the environment
#   scripts/ha-test.sh ci                          # the set CI runs (see HA_CI_RUNS below)
#
# Scenarios (HaTest prints the numbers; nothing is timed):
#   replicate  ASYNC_MASTER. A third of the load before the slave starts (the empty slave begins at the start
#              of the master's last commit-log file), the rest while it replicates and a push consumer reads
#              the master; then the commit logs are compared with `cmp` from the slave's first file to the
#              slave's max offset, the master is stopped, and a new group reads every acknowledged message at
#              or after the slave's first offset from the slave.
#   sync-kill  SYNC_MASTER (a Java 5.3.3 master gets inSyncReplicas=2: 5.x without a controller waits for the
#              slave only then, CommitLog.handleHA). SIGKILL of the master under load; every SEND_OK is read
#              back from the slave; the commit logs are compared up to the slave's max offset.
#   cut        ASYNC_MASTER, short HA heartbeat/housekeeping intervals. iptables DROPs the HA port on lo in
#              both directions for RMQ_HA_CUT_MS under load (both sides expire the connection), then heals;
#              the slave resumes: identical commit logs, contiguous consume queues, no duplicates.
#
# Env: MASTER, SLAVE = rmqd | java (default java); JAVA_BROKER_VERSION = 4.9.7 | 5.3.3 (the Java broker and
# the name server; default 4.9.7); CLIENT_VERSION (default 4.9.8 for a 4.9.7 broker, else 5.3.3);
# NAMESRV = java | rmqd (default java); HA_MASTER_ADDRESS_IN_CONF=1 (haMasterAddress in the slave's conf); RMQD_BIN (default target/release/rmqd); RMQ_HA_MESSAGES (load size,
# default 12000 messages of 1 KiB); RMQ_HA_CUT_MS (default 8000); MVN_FLAGS (default -q);
# KEEP_WORKDIR=1 keeps the work directory (always kept on failure).
# Master on 127.0.0.2, slave on 127.0.0.3 (brokerIP1 and brokerIP2), ports from scripts/free-port.py,
# commit-log files of 4 MiB so that the load crosses file ends.
# The cut needs root and iptables (the script tries `apt-get install -y iptables` once when it is missing).
#
# Internal actions, used as HaTest's commands: scripts/ha-test.sh --action WORK start-slave|stop-master|
# kill-master|cut|heal|cmp END (and start-namesrv, start-master, stop-all, for a pair started by hand from a
# WORK/ha.env written like run_one's).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MASTER_IP=127.0.0.2
SLAVE_IP=127.0.0.3
COMMIT_LOG_FILE_BYTES=4194304

log() { echo "ha-test: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# ------------------------------------------------------------------------------------------------ processes

# The pid in DIR/NAME.pid when that process is alive and its command line names DIR (not a recycled pid).
live_pid() { # dir name
  local file="$1/$2.pid" pid
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$1/"* ]] || return 1
  echo "$pid"
}

stop_process() { # dir name [KILL]
  local pid waited=0
  pid=$(live_pid "$1" "$2") || return 0
  log "stopping $2 in $1 (pid $pid, SIG${3:-TERM})"
  kill "-${3:-TERM}" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited == 300)); then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$1/$2.pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# GET_ROUTEINFO_BY_TOPIC 105 for TBW102 on the name server; succeeds when ADDR is one of its broker addresses.
registered() { # addr
  python3 - "$NAMESRV_PORT" "$1" <<'PY'
import json, socket, struct, sys
port, addr = int(sys.argv[1]), sys.argv[2]
header = json.dumps({"code": 105, "flag": 0, "language": "JAVA", "opaque": 1, "version": 395,
                     "serializeTypeCurrentRPC": "JSON", "extFields": {"topic": "TBW102"}}).encode()
try:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack(">ii", 4 + len(header), len(header)) + header)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit(1)
            buf += chunk
except OSError:
    sys.exit(1)
header_len = struct.unpack(">i", buf[4:8])[0] & 0xFFFFFF
reply = json.loads(buf[8:8 + header_len])
sys.exit(0 if reply.get("code") == 0 and addr.encode() in buf[8 + header_len:] else 1)
PY
}

wait_registered() { # dir name port addr
  local deadline=$((SECONDS + 90)) pid
  pid=$(<"$1/$2.pid")
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$1"/logs/*.out >&2; die "$2 in $1 exited during startup"; }
    if port_open "$3" && registered "$4"; then
      log "$2 $4 registered after $((SECONDS + 90 - deadline)) s"
      return 0
    fi
    sleep 0.5
  done
  tail -n 40 "$1"/logs/*.out >&2
  die "$2 $4 did not register in 90 s"
}

# ------------------------------------------------------------------------------------------------ java

java_classpath() {
  local cache="$ROOT/target/ha-test" file
  file="$cache/java-broker-$JAVA_BROKER_VERSION.classpath"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$cache"
    log "resolving rocketmq-broker/namesrv $JAVA_BROKER_VERSION from Maven"
    mvn -B -ntp -q -f "$ROOT/scripts/java-broker/pom.xml" dependency:build-classpath \
      -Drocketmq.version="$JAVA_BROKER_VERSION" -Dmdep.outputFile="$file.tmp" >"$cache/mvn.out" 2>&1 ||
      { tail -n 30 "$cache/mvn.out" >&2; die "could not resolve the Java broker $JAVA_BROKER_VERSION"; }
    mv "$file.tmp" "$file"
  fi
  cat "$file"
}

# As scripts/broker-ctl.sh: Java 17 opens for 4.9.x/5.x, ROCKETMQ_HOME with the logback files, user.home in DIR.
java_run() { # dir name heap main-class args...
  local dir=$1 name=$2 heap=$3
  shift 3
  mkdir -p "$dir/logs" "$dir/rocketmq-home/conf"
  cp "$ROOT"/scripts/java-broker/conf/logback_*.xml "$dir/rocketmq-home/conf/"
  ROCKETMQ_HOME="$dir/rocketmq-home" nohup java "-Xms$heap" "-Xmx$heap" \
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
    --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
    --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED \
    --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED \
    "-Duser.home=$dir" -cp "$(java_classpath)" "$@" >>"$dir/logs/$name.out" 2>&1 &
  echo $! >"$dir/$name.pid"
  disown
}

# ------------------------------------------------------------------------------------------------ roles

start_namesrv() {
  local dir="$WORK/namesrv"
  mkdir -p "$dir/logs"
  printf 'listenPort=%s\n' "$NAMESRV_PORT" >"$dir/namesrv.conf"
  if [[ "$NAMESRV" == rmqd ]]; then
    nohup "$RMQD_BIN" namesrv -c "$dir/namesrv.conf" >>"$dir/logs/namesrv.out" 2>&1 &
    echo $! >"$dir/namesrv.pid"
    disown
  else
    java_run "$dir" namesrv 256m org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf"
  fi
  local deadline=$((SECONDS + 60))
  until port_open "$NAMESRV_PORT"; do
    ((SECONDS < deadline)) || die "name server not listening on $NAMESRV_PORT after 60 s"
    sleep 0.3
  done
  log "$NAMESRV name server on 127.0.0.1:$NAMESRV_PORT"
}

# broker.conf of one role; the keys are Java's (BrokerConfig/MessageStoreConfig), which rmqd reads too.
write_conf() { # role(master|slave) dir
  local role=$1 dir=$2 kind ip port id broker_role
  if [[ $role == master ]]; then
    kind=$MASTER ip=$MASTER_IP port=$MASTER_PORT id=0 broker_role=ASYNC_MASTER
    [[ "$SCENARIO" == sync-kill ]] && broker_role=SYNC_MASTER
  else
    kind=$SLAVE ip=$SLAVE_IP port=$SLAVE_PORT id=1 broker_role=SLAVE
  fi
  cat >"$dir/broker.conf" <<EOF
brokerClusterName=HaCluster
brokerName=broker-ha
brokerId=$id
brokerRole=$broker_role
brokerIP1=$ip
brokerIP2=$ip
listenPort=$port
haListenPort=$((port + 1))
namesrvAddr=127.0.0.1:$NAMESRV_PORT
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
autoCreateTopicEnable=true
mappedFileSizeCommitLog=$COMMIT_LOG_FILE_BYTES
EOF
  if [[ $kind == java && $role == master && $broker_role == SYNC_MASTER && $JAVA_BROKER_VERSION == 5.* ]]; then
    echo "inSyncReplicas=2" >>"$dir/broker.conf"
  fi
  # HA_MASTER_ADDRESS_IN_CONF=1: the slave gets the master's HA address from haMasterAddress instead of from
  # REGISTER_BROKER's answer.
  if [[ $role == slave && ${HA_MASTER_ADDRESS_IN_CONF:-0} == 1 ]]; then
    echo "haMasterAddress=$MASTER_IP:$((MASTER_PORT + 1))" >>"$dir/broker.conf"
  fi
  # A 5.x slave refuses every pull (SYSTEM_BUSY) unless slaveReadEnable (PullMessageProcessor.rejectRequest);
  # the test reads the slave once the master is stopped.
  [[ $role == slave ]] && echo "slaveReadEnable=true" >>"$dir/broker.conf"
  if [[ "$SCENARIO" == cut ]]; then
    printf 'haSendHeartbeatInterval=1000\nhaHousekeepingInterval=4000\n' >>"$dir/broker.conf"
  fi
}

start_broker() { # role
  local role=$1 dir="$WORK/$1" kind port ip
  if [[ $role == master ]]; then kind=$MASTER port=$MASTER_PORT ip=$MASTER_IP; else kind=$SLAVE port=$SLAVE_PORT ip=$SLAVE_IP; fi
  mkdir -p "$dir/logs" "$dir/store"
  [[ -f "$dir/broker.conf" ]] || write_conf "$role" "$dir"
  log "starting $kind $role ($ip:$port, HA $((port + 1)))"
  if [[ $kind == rmqd ]]; then
    nohup "$RMQD_BIN" broker -c "$dir/broker.conf" -n "127.0.0.1:$NAMESRV_PORT" >>"$dir/logs/broker.out" 2>&1 &
    echo $! >"$dir/broker.pid"
    disown
  else
    java_run "$dir" broker 512m org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" \
      -n "127.0.0.1:$NAMESRV_PORT"
  fi
  wait_registered "$dir" broker "$port" "$ip:$port"
}

# ------------------------------------------------------------------------------------------------ network cut

cut_rules() { # -I | -D
  local ha=$((MASTER_PORT + 1))
  iptables "$1" INPUT -i lo -p tcp --dport "$ha" -m comment --comment "rmqd-ha-test $WORK" -j DROP &&
    iptables "$1" INPUT -i lo -p tcp --sport "$ha" -m comment --comment "rmqd-ha-test $WORK" -j DROP
}

# The established connections to the master's HA port, as local->peer pairs (a reconnect shows a new pair).
ha_connections() {
  ss -tnH state established "( sport = :$((MASTER_PORT + 1)) )" 2>/dev/null | awk '{print $3 "<-" $4}' | sort | tr '\n' ' '
}

ensure_iptables() {
  command -v iptables >/dev/null && return 0
  [[ $(id -u) == 0 ]] || die "the cut needs iptables and root"
  log "iptables missing: apt-get install -y iptables"
  apt-get install -y -q iptables >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q iptables >/dev/null; } ||
    die "iptables could not be installed"
}

# Identical bytes from the slave's first commit-log file up to END, file by file (same names, same sizes).
compare_commit_logs() { # end
  local end=$1 file name from size len total=0 files=0 first=
  for file in "$WORK/slave/store/commitlog"/*; do
    name=$(basename "$file")
    [[ "$name" =~ ^[0-9]{20}$ ]] || continue
    from=$((10#$name))
    ((from < end)) || break
    [[ -n "$first" ]] || first=$from
    size=$(stat -c %s "$file")
    len=$((end - from < size ? end - from : size))
    [[ -f "$WORK/master/store/commitlog/$name" ]] || die "master has no commit-log file $name"
    cmp -n "$len" "$WORK/master/store/commitlog/$name" "$file" || die "commit logs differ in file $name"
    total=$((total + len))
    files=$((files + 1))
  done
  [[ -n "$first" ]] || die "the slave has no commit-log file below $end"
  ((first + total == end)) || die "slave commit-log files cover [$first, $((first + total))), not up to $end"
  log "commit logs identical (cmp): $total bytes [$first, $end) in $files files; master files: $(ls "$WORK/master/store/commitlog" | tr '\n' ' ')"
}

action() { # work action [arg]
  WORK=$1
  # shellcheck source=/dev/null
  source "$WORK/ha.env"
  case "$2" in
    start-namesrv) start_namesrv ;;
    start-master) start_broker master ;;
    start-slave) start_broker slave ;;
    stop-all)
      for role in master slave; do stop_process "$WORK/$role" broker; done
      stop_process "$WORK/namesrv" namesrv
      ;;
    stop-master) stop_process "$WORK/master" broker ;;
    kill-master) stop_process "$WORK/master" broker KILL ;;
    cut)
      ha_connections >"$WORK/ha-connections-at-cut"
      cut_rules -I && log "HA port $((MASTER_PORT + 1)) cut (iptables DROP on lo); connections: $(cat "$WORK/ha-connections-at-cut")"
      ;;
    heal) cut_rules -D && log "HA port $((MASTER_PORT + 1)) healed" ;;
    cmp)
      compare_commit_logs "$3"
      if [[ -f "$WORK/ha-connections-at-cut" ]]; then
        log "HA connections at the cut: $(cat "$WORK/ha-connections-at-cut"); now: $(ha_connections)"
      fi
      ;;
    *) die "unknown action $2" ;;
  esac
}

# ------------------------------------------------------------------------------------------------ one run

cleanup() {
  local rc=$?
  if [[ "$SCENARIO" == cut ]]; then cut_rules -D 2>/dev/null || true; fi
  for role in master slave; do stop_process "$WORK/$role" broker || true; done
  stop_process "$WORK/namesrv" namesrv || true
  if [[ $rc == 0 && "${KEEP_WORKDIR:-0}" != 1 ]]; then rm -rf "$WORK"; else log "work directory kept: $WORK"; fi
}

free_port() { python3 "$ROOT/scripts/free-port.py"; }

run_one() {
  SCENARIO=$1
  MASTER=${MASTER:-java} SLAVE=${SLAVE:-java} NAMESRV=${NAMESRV:-java}
  JAVA_BROKER_VERSION=${JAVA_BROKER_VERSION:-4.9.7}
  local client=${CLIENT_VERSION:-}
  [[ -n "$client" ]] || { [[ $JAVA_BROKER_VERSION == 4.* ]] && client=4.9.8 || client=5.3.3; }
  RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
  [[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"
  if [[ $MASTER == rmqd || $SLAVE == rmqd || $NAMESRV == rmqd ]]; then
    [[ -x "$RMQD_BIN" ]] || die "rmqd binary not found at $RMQD_BIN (cargo build --release --bin rmqd)"
  fi
  [[ $SCENARIO != cut ]] || ensure_iptables
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-ha.XXXXXX")
  trap cleanup EXIT
  NAMESRV_PORT=$(free_port)
  MASTER_PORT=$(free_port)
  SLAVE_PORT=$(free_port)
  while ((MASTER_PORT - SLAVE_PORT < 3 && SLAVE_PORT - MASTER_PORT < 3)) ||
    ((NAMESRV_PORT >= MASTER_PORT - 2 && NAMESRV_PORT <= MASTER_PORT + 1)) ||
    ((NAMESRV_PORT >= SLAVE_PORT - 2 && NAMESRV_PORT <= SLAVE_PORT + 1)); do
    SLAVE_PORT=$(free_port)
    NAMESRV_PORT=$(free_port)
  done
  declare -p SCENARIO MASTER SLAVE NAMESRV JAVA_BROKER_VERSION RMQD_BIN NAMESRV_PORT MASTER_PORT SLAVE_PORT \
    >"$WORK/ha.env"
  log "$SCENARIO: master $MASTER, slave $SLAVE, Java $JAVA_BROKER_VERSION, client $client, name server $NAMESRV; $WORK"
  start_namesrv
  start_broker master
  local self="$ROOT/scripts/ha-test.sh --action $WORK"
  export NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT" RMQ_HA_TEST=$SCENARIO
  export RMQ_HA_MASTER_ADDR="$MASTER_IP:$MASTER_PORT" RMQ_HA_SLAVE_ADDR="$SLAVE_IP:$SLAVE_PORT"
  export RMQ_HA_CMP_CMD="$self cmp" RMQ_HA_CUT_CMD="$self cut" RMQ_HA_HEAL_CMD="$self heal"
  export RMQ_HA_STOP_MASTER_CMD="$self stop-master"
  unset RMQ_HA_START_SLAVE_CMD RMQ_HA_CREATE_ON_SLAVE
  # A Java 5.3.3 slave copies the master's topics only every 60 s (first 60 s after it starts).
  if [[ $SLAVE == java && $JAVA_BROKER_VERSION == 5.* ]]; then export RMQ_HA_CREATE_ON_SLAVE=1; fi
  case $SCENARIO in
    replicate) export RMQ_HA_START_SLAVE_CMD="$self start-slave" ;;
    sync-kill)
      export RMQ_HA_STOP_MASTER_CMD="$self kill-master"
      start_broker slave
      ;;
    cut) start_broker slave ;;
  esac
  local started=$SECONDS rc=0
  # shellcheck disable=SC2086 # MVN_FLAGS is a list of flags
  (cd "$ROOT/java-client-tests" && nice -n 19 mvn -B -ntp ${MVN_FLAGS--q} test -Dtest=HaTest \
    -Drocketmq.client.version="$client" -Dsurefire.failIfNoSpecifiedTests=false) || rc=$?
  log "$SCENARIO master=$MASTER slave=$SLAVE java=$JAVA_BROKER_VERSION client=$client: $([[ $rc == 0 ]] && echo PASS || echo FAIL) in $((SECONDS - started)) s"
  return "$rc"
}

# The set CI runs: rmqd master + Java slave and Java master + rmqd slave for both Java lines, the SYNC_MASTER
# kill (rmqd master, Java 4.9.7 slave) and the cut (Java 4.9.7 master, rmqd slave). MASTER:SLAVE:VERSION:SCENARIO.
HA_CI_RUNS=${HA_CI_RUNS:-"rmqd:java:4.9.7:replicate java:rmqd:4.9.7:replicate rmqd:java:5.3.3:replicate
java:rmqd:5.3.3:replicate rmqd:java:4.9.7:sync-kill java:rmqd:4.9.7:cut"}

run_ci() {
  local run m s v sc passed=() failed=()
  for run in $HA_CI_RUNS; do
    IFS=: read -r m s v sc <<<"$run"
    if MASTER=$m SLAVE=$s JAVA_BROKER_VERSION=$v "$ROOT/scripts/ha-test.sh" "$sc"; then
      passed+=("$run")
    else
      failed+=("$run")
    fi
  done
  for run in "${passed[@]}"; do log "passed: $run"; done
  for run in "${failed[@]:-}"; do [[ -n "$run" ]] && log "FAILED: $run"; done
  [[ ${#failed[@]} -eq 0 ]]
}

case "${1:-}" in
  --action)
    shift
    action "$@"
    ;;
  replicate | sync-kill | cut) run_one "$1" ;;
  ci) run_ci ;;
  *)
    echo "usage: $0 replicate|sync-kill|cut|ci   (env MASTER, SLAVE = rmqd|java; JAVA_BROKER_VERSION)" >&2
    exit 2
    ;;
esac
