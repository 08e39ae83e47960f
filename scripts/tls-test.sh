#!/usr/bin/env bash
# TLS end to end: rmqd standalone with tls.server.mode=enforcing on both ports (name server and broker), the
# official Java clients with TLS on (TlsTest), and a plain client that must be refused.
#
#   scripts/tls-test.sh [VERSION...]        # client versions, default "4.9.8 5.3.3"
#
# Env: RMQD_BIN (default target/release/rmqd), TLS_TEST_BROKER=java to run the same test against the official
# Java name server + broker (JAVA_BROKER_VERSION, default 4.9.7) with the same certificates, which proves the
# test expects what Java does; MVN_FLAGS (e.g. -q); KEEP_WORKDIR=1 keeps the temp dir (logs, certs).
# Exits non-zero when anything fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"
BROKER=${TLS_TEST_BROKER:-rmqd}
JAVA_BROKER_VERSION=${JAVA_BROKER_VERSION:-4.9.7}
if [[ $# -gt 0 ]]; then versions=("$@"); else versions=(4.9.8 5.3.3); fi

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-tls.XXXXXX")
PIDS=()
log() { echo "tls-test: $*" >&2; }

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ "${KEEP_WORKDIR:-}" == 1 ]]; then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
}
trap cleanup EXIT

fail() {
  log "$*"
  local f
  for f in "$WORKDIR"/*.out; do
    [[ -f "$f" ]] && { echo "----- tail of $f -----" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
}

# A test CA and a server certificate for 127.0.0.1/localhost signed by it (P-256, PKCS#8 key, 100 years).
make_certs() {
  local d=$WORKDIR/certs
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
      -days 36500 -subj "/CN=rmqd tls-test CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=keyCertSign 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >leaf.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 36500 \
      -extfile leaf.ext 2>/dev/null
  ) || fail "openssl could not make the test certificates"
}

# Sends GET_ROUTEINFO_BY_TOPIC(TBW102) to the name server over TLS (or plain with --plain) and succeeds when
# the broker address is in the answer.
route_check() { # [--plain]
  python3 - "$NAMESRV_PORT" "127.0.0.1:$BROKER_PORT" "$WORKDIR/certs/ca.pem" "${1:-}" <<'PY'
import json, socket, ssl, struct, sys
port, addr, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
header = json.dumps({"code": 105, "flag": 0, "language": "JAVA", "opaque": 1, "version": 395,
                     "serializeTypeCurrentRPC": "JSON", "extFields": {"topic": "TBW102"}}).encode()
frame = struct.pack(">ii", 4 + len(header), len(header)) + header
try:
    raw = socket.create_connection(("127.0.0.1", port), timeout=3)
    s = raw if mode == "--plain" else ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="127.0.0.1")
    with s:
        s.sendall(frame)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit(1)
            buf += chunk
except (OSError, ssl.SSLError):
    sys.exit(1)
header_len = struct.unpack(">i", buf[4:8])[0] & 0xFFFFFF
reply = json.loads(buf[8:8 + header_len])
sys.exit(0 if reply.get("code") == 0 and addr.encode() in buf[8 + header_len:] else 1)
PY
}

wait_ready() {
  local deadline=$((SECONDS + 90)) pid
  while ((SECONDS < deadline)); do
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a server exited during startup"; done
    route_check && return 0
    sleep 0.5
  done
  fail "$BROKER not ready over TLS after 90 s"
}

start_rmqd() {
  [[ -x "$RMQD_BIN" ]] || fail "rmqd binary not found at $RMQD_BIN (cargo build --release --bin rmqd)"
  # The certificate paths go through tls.config.file, the mode through broker.conf: both ways Java has.
  cat >"$WORKDIR/tls.properties" <<EOF
tls.server.certPath=$WORKDIR/certs/server.pem
tls.server.keyPath=$WORKDIR/certs/server.key
EOF
  cat >"$WORKDIR/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
namesrvListenPort=$NAMESRV_PORT
storePathRootDir=$WORKDIR/store
tls.server.mode=enforcing
tls.config.file=$WORKDIR/tls.properties
EOF
  log "starting $RMQD_BIN standalone (enforcing) on name server $NAMESRV_PORT, broker $BROKER_PORT"
  "$RMQD_BIN" standalone -c "$WORKDIR/broker.conf" >"$WORKDIR/rmqd.out" 2>&1 &
  PIDS+=($!)
}

# The official name server and broker, TLS settings as JVM system properties (TlsSystemConfig), the broker
# registering over TLS (tls.enable) like a TLS client.
start_java() {
  local cp_file="$WORKDIR/java.classpath" tls
  mvn -B -ntp -f "$ROOT/scripts/java-broker/pom.xml" dependency:build-classpath \
    -Drocketmq.version="$JAVA_BROKER_VERSION" -Dmdep.outputFile="$cp_file" >"$WORKDIR/mvn-classpath.out" 2>&1 ||
    fail "could not resolve the Java broker $JAVA_BROKER_VERSION"
  mkdir -p "$WORKDIR/home/conf" "$WORKDIR/store"
  cp "$ROOT"/scripts/java-broker/conf/logback_*.xml "$WORKDIR/home/conf/"
  export ROCKETMQ_HOME="$WORKDIR/home"
  tls=(-Dtls.server.mode=enforcing -Dtls.test.mode.enable=false -Dtls.enable=true
    -Dtls.server.certPath="$WORKDIR/certs/server.pem" -Dtls.server.keyPath="$WORKDIR/certs/server.key"
    -Dtls.config.file="$WORKDIR/absent.properties")
  local opens=(--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
    --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED)
  printf 'listenPort=%s\n' "$NAMESRV_PORT" >"$WORKDIR/namesrv.conf"
  cat >"$WORKDIR/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
namesrvAddr=127.0.0.1:$NAMESRV_PORT
storePathRootDir=$WORKDIR/store
storePathCommitLog=$WORKDIR/store/commitlog
EOF
  log "starting Java $JAVA_BROKER_VERSION name server and broker (enforcing)"
  java -Xmx512m "${opens[@]}" "${tls[@]}" -Duser.home="$WORKDIR" -cp "$(<"$cp_file")" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$WORKDIR/namesrv.conf" >"$WORKDIR/namesrv.out" 2>&1 &
  PIDS+=($!)
  java -Xmx1g "${opens[@]}" "${tls[@]}" -Duser.home="$WORKDIR" -cp "$(<"$cp_file")" \
    org.apache.rocketmq.broker.BrokerStartup -c "$WORKDIR/broker.conf" >"$WORKDIR/broker.out" 2>&1 &
  PIDS+=($!)
}

BROKER_PORT=$(python3 "$ROOT/scripts/free-port.py")
NAMESRV_PORT=$(python3 "$ROOT/scripts/free-port.py")
make_certs
case "$BROKER" in
  rmqd) start_rmqd ;;
  java) start_java ;;
  *) fail "TLS_TEST_BROKER must be rmqd or java" ;;
esac
wait_ready
route_check --plain && fail "the name server answered a plain client in enforcing mode"
log "$BROKER ready: TLS answered, plain refused"

failed=()
for v in "${versions[@]}"; do
  log "=== TlsTest, Java client $v against $BROKER ==="
  # shellcheck disable=SC2086 # MVN_FLAGS is a list of flags
  if (cd "$ROOT/java-client-tests" && RMQ_TLS_TEST=1 NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT" \
    mvn -B -ntp -Dstyle.color=never ${MVN_FLAGS:-} test -Dtest=TlsTest -Drocketmq.client.version="$v"); then
    log "=== Java client $v: passed ==="
  else
    failed+=("$v")
  fi
done
[[ ${#failed[@]} -eq 0 ]] || fail "TlsTest failed for client versions: ${failed[*]}"
log "all passed"
