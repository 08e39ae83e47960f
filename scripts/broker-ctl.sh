#!/usr/bin/env bash
# Starts and stops a broker + name server for the client compatibility suites.
#
#   scripts/broker-ctl.sh start   KIND WORKDIR   # returns once the broker is registered with the name server
#   scripts/broker-ctl.sh stop    KIND WORKDIR   # SIGTERM, wait up to 30 s, then SIGKILL (broker and name server)
#   scripts/broker-ctl.sh restart KIND WORKDIR   # stop the broker, start it again on the same store and broker.conf
#   scripts/broker-ctl.sh kill    KIND WORKDIR   # SIGKILL the broker (the Java name server keeps running)
#   scripts/broker-ctl.sh status  KIND WORKDIR   # exit 0 when the broker process is alive
#
# KIND is `rmqd` (our binary, name server and broker in one process), `java` (the official broker and name
# server, resolved from Maven Central; the reference the suites are validated against), `rmqd-broker` (rmqd
# broker registered with the Java name server) or `rmqd-namesrv` (the Java broker registered with rmqd namesrv).
# Env: NAMESRV_PORT, BROKER_PORT (required for start/restart), RMQD_BIN (default target/release/rmqd),
# GRPC_PORT (rmqd kinds: grpcServerPort, the 5.x gRPC endpoint; off when unset),
# JAVA_BROKER_VERSION (default 4.9.7; 5.3.3 works too), START_TIMEOUT_S (default 60),
# BROKER_HEAP (default 1g), NAMESRV_HEAP (default 512m), BROKER_EXTRA_CONF (newline-separated key=value lines
# appended to the generated broker.conf of either kind, e.g. small mappedFileSizeCommitLog for store tests).
# GRPC_PORT (java kind, 5.x only): run the broker inside the 5.x proxy in local mode, in one JVM, as
# `bin/mqbroker --enable-proxy` does (org.apache.rocketmq.proxy.ProxyStartup -pm local -bc broker.conf
# -pc rmq-proxy.json): apache.rocketmq.v2.MessagingService on port $GRPC_PORT (Java's gRPC server binds all
# interfaces), the broker's remoting port unchanged (so the remoting suites run against the same broker), the
# proxy's own remoting port on PROXY_REMOTING_PORT (default: a free port from scripts/free-port.py).
# Layout: WORKDIR/store (message store), WORKDIR/logs (stdout/stderr and, for Java, logs/rocketmqlogs/*.log),
# WORKDIR/*.pid, WORKDIR/*.conf.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: $0 start|stop|restart|kill|status rmqd|java|rmqd-broker|rmqd-namesrv WORKDIR" >&2
  exit 2
}

[[ $# -eq 3 ]] || usage
ACTION=$1
KIND=$2
case "$KIND" in rmqd | java | rmqd-broker | rmqd-namesrv) ;; *) usage ;; esac
mkdir -p "$3"
WORKDIR=$(cd "$3" && pwd)
STORE="$WORKDIR/store"
LOGS="$WORKDIR/logs"
START_TIMEOUT_S=${START_TIMEOUT_S:-60}
JAVA_BROKER_VERSION=${JAVA_BROKER_VERSION:-4.9.7}
RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"

log() { echo "broker-ctl: $*" >&2; }
die() {
  log "$*"
  exit 1
}

require_ports() {
  [[ -n "${NAMESRV_PORT:-}" && -n "${BROKER_PORT:-}" ]] || die "NAMESRV_PORT and BROKER_PORT must be set"
  [[ "$NAMESRV_PORT" =~ ^[0-9]+$ && "$BROKER_PORT" =~ ^[0-9]+$ ]] || die "ports must be numbers"
}

# The pid in WORKDIR/NAME.pid when that process is alive and is really ours: its command line names a file
# in WORKDIR (its .conf), which guards against a recycled pid after a crash.
live_pid() { # name
  local file="$WORKDIR/$1.pid" pid cmdline
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$WORKDIR/"* ]] || return 1
  echo "$pid"
}

# SIGTERM (or SIGKILL when $2 = KILL), wait for the process to exit; after 30 s escalate to SIGKILL.
stop_process() { # name [KILL]
  local name=$1 signal=${2:-TERM} pid waited=0
  if ! pid=$(live_pid "$name"); then
    rm -f "$WORKDIR/$name.pid"
    return 0
  fi
  log "stopping $name (pid $pid, SIG$signal)"
  kill "-$signal" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= 300)); then
      log "$name (pid $pid) still alive after 30 s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$WORKDIR/$name.pid"
}

port_open() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Asks the name server for the route of TBW102 (the topic producers auto-create through) over the remoting
# protocol and succeeds when our broker's address is in it, i.e. the broker has registered. A stale route
# left by a killed broker has the same address, so the caller also checks that the broker port accepts.
broker_registered() {
  python3 - "$NAMESRV_PORT" "127.0.0.1:$BROKER_PORT" <<'PY'
import json, socket, struct, sys
port, addr = int(sys.argv[1]), sys.argv[2]
# GET_ROUTEINFO_BY_TOPIC = 105; JSON header, serialize type 0 in the top byte of the header-length word.
header = json.dumps({"code": 105, "flag": 0, "language": "JAVA", "opaque": 1, "version": 395,
                     "serializeTypeCurrentRPC": "JSON", "extFields": {"topic": "TBW102"}}).encode()
frame = struct.pack(">ii", 4 + len(header), len(header)) + header
try:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(frame)
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
body = buf[8 + header_len:]
sys.exit(0 if reply.get("code") == 0 and addr.encode() in body else 1)
PY
}

# Appends BROKER_EXTRA_CONF to a generated broker.conf. Later lines win in both Java's Properties and rmqd's
# parser, so these override the defaults above. A line that is not key=value is an error, not something to
# drop silently.
append_extra_conf() { # conf file
  local line
  [[ -n "${BROKER_EXTRA_CONF:-}" ]] || return 0
  while IFS= read -r line; do
    line=${line%$'\r'}
    [[ -z "${line//[[:space:]]/}" ]] && continue
    [[ "$line" =~ ^[[:space:]]*[A-Za-z0-9_.]+[[:space:]]*= ]] || die "BROKER_EXTRA_CONF: not key=value: $line"
    printf '%s\n' "$line" >>"$1"
  done <<<"$BROKER_EXTRA_CONF"
}

# Writes the generated broker.conf (stdin) plus BROKER_EXTRA_CONF. On `restart` an existing broker.conf is
# kept as it is: UPDATE_BROKER_CONFIG rewrites the broker's -c file (Java and rmqd alike), and a restart must
# start from what it wrote.
write_broker_conf() { # file
  if [[ "$ACTION" == restart && -s "$1" ]]; then
    cat >/dev/null
    log "restart: keeping $1"
    return 0
  fi
  cat >"$1"
  append_extra_conf "$1"
}

log_tail() {
  local f
  for f in "$LOGS"/*.out "$LOGS"/rocketmqlogs/broker.log "$LOGS"/rocketmqlogs/namesrv.log; do
    [[ -f "$f" ]] || continue
    echo "----- tail of $f -----" >&2
    tail -n 40 "$f" >&2
  done
}

# Kind-specific readiness on top of the route check; a route left behind by a SIGKILLed broker looks the same
# as a fresh registration, so the Java path also waits for this start's "boot success" line.
extra_ready_check() { :; }

# Running and not a zombie (a child that died during startup stays a zombie while this script runs). Checked
# by pid rather than through live_pid: while the child is between fork and exec its command line is not yet
# the one live_pid looks for.
running() { # pid
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ "$state" != Z ]]
}

# Polls until the broker process is alive, its port accepts and the name server routes TBW102 to it.
wait_ready() { # name (of the pid file)
  local name=$1 deadline=$((SECONDS + START_TIMEOUT_S)) pid
  pid=$(<"$WORKDIR/$name.pid")
  while ((SECONDS < deadline)); do
    running "$pid" || {
      log_tail
      die "$name exited during startup"
    }
    if port_open "$BROKER_PORT" && port_open "$NAMESRV_PORT" && broker_registered && extra_ready_check; then
      log "$KIND broker ready on 127.0.0.1:$BROKER_PORT (name server 127.0.0.1:$NAMESRV_PORT) after $((SECONDS + START_TIMEOUT_S - deadline)) s"
      return 0
    fi
    sleep 0.5
  done
  log_tail
  # Do not leave a half-started broker holding the ports (and the store lock) behind.
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$WORKDIR/$name.pid"
  die "$KIND broker not ready after $START_TIMEOUT_S s (killed pid $pid)"
}

# ---------------------------------------------------------------------------------------------------- rmqd

# rmqd's gRPC endpoint (5.x MessagingService, local mode): on GRPC_PORT when set, else off, so suites that
# run several brokers never contend for the default 8081. The port takes TLS (a self-signed certificate rmqd
# makes at start, as Java's proxy does; the Go v5 client always dials TLS) and plaintext.
rmqd_grpc_conf() {
  if [[ -n "${GRPC_PORT:-}" ]]; then
    [[ "$GRPC_PORT" =~ ^[0-9]+$ ]] || die "GRPC_PORT must be a number"
    echo "grpcServerPort=$GRPC_PORT"
  else
    echo "grpcServerPort=-1"
  fi
}

rmqd_start() {
  require_ports
  [[ -x "$RMQD_BIN" ]] || die "rmqd binary not found at $RMQD_BIN (cargo build --release --bin rmqd)"
  live_pid rmqd >/dev/null && die "rmqd already running (pid $(<"$WORKDIR/rmqd.pid"))"
  mkdir -p "$STORE" "$LOGS"
  write_broker_conf "$WORKDIR/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
namesrvListenPort=$NAMESRV_PORT
namesrvAddr=127.0.0.1:$NAMESRV_PORT
storePathRootDir=$STORE
autoCreateTopicEnable=true
$(rmqd_grpc_conf)
EOF
  log "starting $RMQD_BIN standalone -c $WORKDIR/broker.conf"
  nohup "$RMQD_BIN" standalone -c "$WORKDIR/broker.conf" >>"$LOGS/rmqd.out" 2>&1 &
  echo $! >"$WORKDIR/rmqd.pid"
  wait_ready rmqd
}

# ---------------------------------------------------------------------------------------------------- java

# Classpath of the official broker + name server, resolved once per version and cached in WORKDIR.
# With GRPC_PORT the proxy is resolved too (profile `proxy` of scripts/java-broker/pom.xml).
java_classpath() {
  local cp_file="$WORKDIR/java-broker-$JAVA_BROKER_VERSION.classpath" profile=()
  if [[ -n "${GRPC_PORT:-}" ]]; then
    cp_file="$WORKDIR/java-broker-proxy-$JAVA_BROKER_VERSION.classpath"
    profile=(-Pproxy)
  fi
  if [[ ! -s "$cp_file" ]]; then
    log "resolving rocketmq-broker/namesrv${profile:+/proxy} $JAVA_BROKER_VERSION from Maven"
    mkdir -p "$LOGS"
    if ! mvn -B -ntp -f "$ROOT/scripts/java-broker/pom.xml" dependency:build-classpath "${profile[@]}" \
      -Drocketmq.version="$JAVA_BROKER_VERSION" -Dmdep.outputFile="$cp_file.tmp" >"$LOGS/mvn-classpath.out" 2>&1; then
      tail -n 30 "$LOGS/mvn-classpath.out" >&2
      die "could not resolve the Java broker $JAVA_BROKER_VERSION"
    fi
    mv "$cp_file.tmp" "$cp_file"
  fi
  cat "$cp_file"
}

# Java 17 closes the JDK internals that 4.9.x/5.x reach by reflection (unmapping MappedByteBuffers through
# their cleaner, Netty's direct buffers); the official run scripts open the same packages.
JAVA_OPENS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
)

# ROCKETMQ_HOME must exist (4.9.x reads conf/logback_*.xml from it); user.home points into WORKDIR so that
# nothing (logs, the 5.x timer/rocksdb defaults, ~/store fallbacks) is written to the real home directory.
java_common_setup() {
  mkdir -p "$STORE" "$LOGS" "$WORKDIR/rocketmq-home/conf"
  cp "$ROOT"/scripts/java-broker/conf/logback_*.xml "$WORKDIR/rocketmq-home/conf/"
  export ROCKETMQ_HOME="$WORKDIR/rocketmq-home"
}

java_start_namesrv() { # classpath
  local heap=${NAMESRV_HEAP:-512m}
  if live_pid namesrv >/dev/null; then
    log "name server already running (pid $(<"$WORKDIR/namesrv.pid"))"
    return 0
  fi
  printf 'listenPort=%s\n' "$NAMESRV_PORT" >"$WORKDIR/namesrv.conf"
  log "starting Java name server $JAVA_BROKER_VERSION on $NAMESRV_PORT (heap $heap)"
  nohup java "-Xms$heap" "-Xmx$heap" "${JAVA_OPENS[@]}" "-Duser.home=$WORKDIR" -cp "$1" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$WORKDIR/namesrv.conf" >>"$LOGS/namesrv.out" 2>&1 &
  echo $! >"$WORKDIR/namesrv.pid"
}

# BrokerStartup prints "The broker[...] boot success" to stdout once started (after its first registration
# in 4.9.x; 5.x registers up to ~10 s later on a non-empty store, which the route check covers).
boot_lines() {
  local n
  n=$(grep -c 'boot success' "$LOGS/broker.out" 2>/dev/null) || true
  echo "${n:-0}"
}

java_start_broker() { # classpath
  local heap=${BROKER_HEAP:-1g}
  live_pid broker >/dev/null && die "Java broker already running (pid $(<"$WORKDIR/broker.pid"))"
  write_broker_conf "$WORKDIR/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=127.0.0.1:$NAMESRV_PORT
storePathRootDir=$STORE
storePathCommitLog=$STORE/commitlog
autoCreateTopicEnable=true
EOF
  if [[ -n "${GRPC_PORT:-}" ]]; then
    java_start_proxy_broker "$1" "$heap"
    return 0
  fi
  BOOT_LINES_BEFORE=$(boot_lines)
  extra_ready_check() { (($(boot_lines) > BOOT_LINES_BEFORE)); }
  log "starting Java broker $JAVA_BROKER_VERSION on $BROKER_PORT (heap $heap)"
  nohup java "-Xms$heap" "-Xmx$heap" "${JAVA_OPENS[@]}" "-Duser.home=$WORKDIR" -cp "$1" \
    org.apache.rocketmq.broker.BrokerStartup -c "$WORKDIR/broker.conf" -n "127.0.0.1:$NAMESRV_PORT" \
    >>"$LOGS/broker.out" 2>&1 &
  echo $! >"$WORKDIR/broker.pid"
}

# ProxyStartup in local mode prints "rocketmq-proxy startup successfully" to stdout once the broker inside it
# and the gRPC server have started (the broker's own "boot success" line only goes to its log there).
proxy_boot_lines() {
  local n
  n=$(grep -c 'rocketmq-proxy startup successfully' "$LOGS/broker.out" 2>/dev/null) || true
  echo "${n:-0}"
}

# The broker inside the proxy (ProxyStartup -pm local); the pid file is still broker.pid so that stop, kill,
# restart and status work unchanged. Proxy config keys are ProxyConfig's (rmq-proxy.json): the cluster name
# must match the broker's brokerClusterName; localServeAddr pins the address the proxy registers and reports;
# grpcShutdownTimeSeconds (default 30) bounds how long SIGTERM waits for gRPC calls (long polls) to finish.
java_start_proxy_broker() { # classpath heap
  local heap=$2 proxy_remoting_port
  [[ "$GRPC_PORT" =~ ^[0-9]+$ ]] || die "GRPC_PORT must be a number"
  [[ "$JAVA_BROKER_VERSION" == 5.* ]] || die "GRPC_PORT needs a 5.x Java broker (JAVA_BROKER_VERSION=5.3.3)"
  proxy_remoting_port=${PROXY_REMOTING_PORT:-$(python3 "$ROOT/scripts/free-port.py")}
  cat >"$WORKDIR/rmq-proxy.json" <<EOF
{
  "rocketMQClusterName": "DefaultCluster",
  "proxyMode": "local",
  "namesrvAddr": "127.0.0.1:$NAMESRV_PORT",
  "localServeAddr": "127.0.0.1",
  "grpcServerPort": $GRPC_PORT,
  "remotingListenPort": $proxy_remoting_port,
  "grpcShutdownTimeSeconds": 5
}
EOF
  BOOT_LINES_BEFORE=$(proxy_boot_lines)
  extra_ready_check() { (($(proxy_boot_lines) > BOOT_LINES_BEFORE)) && port_open "$GRPC_PORT"; }
  log "starting Java broker $JAVA_BROKER_VERSION on $BROKER_PORT in proxy local mode (gRPC $GRPC_PORT, proxy remoting $proxy_remoting_port, heap $heap)"
  nohup java "-Xms$heap" "-Xmx$heap" "${JAVA_OPENS[@]}" "-Duser.home=$WORKDIR" -cp "$1" \
    org.apache.rocketmq.proxy.ProxyStartup -pm local -bc "$WORKDIR/broker.conf" -pc "$WORKDIR/rmq-proxy.json" \
    -n "127.0.0.1:$NAMESRV_PORT" >>"$LOGS/broker.out" 2>&1 &
  echo $! >"$WORKDIR/broker.pid"
}

java_start() {
  require_ports
  local cp
  cp=$(java_classpath)
  java_common_setup
  java_start_namesrv "$cp"
  java_start_broker "$cp"
  wait_ready broker
}

# ---------------------------------------------------------------------------------------------------- mixed
# The roles alone, mixed with Java's: `rmqd-broker` = rmqd's broker (`rmqd broker`) registering with the Java
# name server; `rmqd-namesrv` = the Java broker registering with rmqd's name server (`rmqd namesrv`).

rmqd_broker_start() {
  require_ports
  [[ -x "$RMQD_BIN" ]] || die "rmqd binary not found at $RMQD_BIN (cargo build --release --bin rmqd)"
  local cp
  cp=$(java_classpath)
  java_common_setup
  java_start_namesrv "$cp"
  live_pid rmqd >/dev/null && die "rmqd already running (pid $(<"$WORKDIR/rmqd.pid"))"
  write_broker_conf "$WORKDIR/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
storePathRootDir=$STORE
autoCreateTopicEnable=true
$(rmqd_grpc_conf)
EOF
  log "starting $RMQD_BIN broker -c $WORKDIR/broker.conf -n 127.0.0.1:$NAMESRV_PORT (Java name server)"
  nohup "$RMQD_BIN" broker -c "$WORKDIR/broker.conf" -n "127.0.0.1:$NAMESRV_PORT" >>"$LOGS/rmqd.out" 2>&1 &
  echo $! >"$WORKDIR/rmqd.pid"
  wait_ready rmqd
}

rmqd_namesrv_start() {
  require_ports
  [[ -x "$RMQD_BIN" ]] || die "rmqd binary not found at $RMQD_BIN (cargo build --release --bin rmqd)"
  local cp
  cp=$(java_classpath)
  java_common_setup
  if ! live_pid namesrv >/dev/null; then
    printf 'listenPort=%s\n' "$NAMESRV_PORT" >"$WORKDIR/namesrv.conf"
    log "starting $RMQD_BIN namesrv -c $WORKDIR/namesrv.conf"
    nohup "$RMQD_BIN" namesrv -c "$WORKDIR/namesrv.conf" >>"$LOGS/namesrv.out" 2>&1 &
    echo $! >"$WORKDIR/namesrv.pid"
  fi
  java_start_broker "$cp"
  wait_ready broker
}

# ---------------------------------------------------------------------------------------------------- main

case "$KIND:$ACTION" in
  rmqd:start) rmqd_start ;;
  rmqd:stop) stop_process rmqd ;;
  rmqd:restart)
    stop_process rmqd
    rmqd_start
    ;;
  rmqd:kill) stop_process rmqd KILL ;;
  rmqd:status) live_pid rmqd >/dev/null ;;
  java:start) java_start ;;
  java:stop)
    stop_process broker
    stop_process namesrv
    ;;
  java:restart)
    stop_process broker
    java_start
    ;;
  java:kill) stop_process broker KILL ;;
  java:status) live_pid broker >/dev/null ;;
  rmqd-broker:start) rmqd_broker_start ;;
  rmqd-broker:stop)
    stop_process rmqd
    stop_process namesrv
    ;;
  rmqd-broker:restart)
    stop_process rmqd
    rmqd_broker_start
    ;;
  rmqd-broker:kill) stop_process rmqd KILL ;;
  rmqd-broker:status) live_pid rmqd >/dev/null ;;
  rmqd-namesrv:start) rmqd_namesrv_start ;;
  rmqd-namesrv:stop)
    stop_process broker
    stop_process namesrv
    ;;
  rmqd-namesrv:restart)
    stop_process broker
    rmqd_namesrv_start
    ;;
  rmqd-namesrv:kill) stop_process broker KILL ;;
  rmqd-namesrv:status) live_pid broker >/dev/null ;;
  *) usage ;;
esac
