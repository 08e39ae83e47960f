#!/usr/bin/env bash
# gRPC (5.x proxy protocol, apache.rocketmq.v2.MessagingService) compatibility suites against one broker:
# starts a broker of KIND with GRPC_PORT through scripts/broker-ctl.sh, runs the Java suite
# (java-client-tests/grpc, rocketmq-client-java 5.2.0) and the Go suite (compat-tests/go-v5,
# rocketmq-clients/golang/v5 v5.1.2), stops the broker.
#
#   scripts/grpc-test.sh [java|rmqd]          # default java: the Java 5.3.3 broker inside the proxy, local mode
#
# KIND java needs only Maven (broker, name server and proxy jars come from Maven Central); KIND rmqd needs
# RMQD_BIN (default target/release/rmqd; `nice -n 19 cargo build --release --bin rmqd`).
# Env: GRPC_SUITES (default "java go"; e.g. GRPC_SUITES=go), MVN_FLAGS (default -q), JAVA_TEST (a -Dtest=
# filter for the Java suite), GO_RUN (a -run filter for the Go suite), KEEP_WORKDIR=1 keeps the temp dir
# (broker logs, store); BROKER_EXTRA_CONF reaches broker-ctl.sh unchanged (e.g. test-all.sh's SUITE_BROKER_CONF,
# with which the remoting suites can run against the same broker). The broker-restart tests restart the broker
# through RMQ_RESTART_CMD, set here.
# Exits non-zero when a suite fails; both suites run regardless. Prints how long each one took.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
KIND=${1:-java}
case "$KIND" in java | rmqd) ;; *)
  echo "usage: $0 [java|rmqd]" >&2
  exit 2
  ;;
esac
read -r -a SUITES <<<"${GRPC_SUITES:-java go}"
MVN_FLAGS=${MVN_FLAGS:--q}
export JAVA_BROKER_VERSION=5.3.3
export RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-grpc.XXXXXX")
DIR="$WORKDIR/$KIND"
log() { echo "grpc-test: $*" >&2; }
cleanup() {
  "$ROOT/scripts/broker-ctl.sh" stop "$KIND" "$DIR" >/dev/null 2>&1 || true
  if [[ "${KEEP_WORKDIR:-}" == 1 ]]; then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
}
trap cleanup EXIT

distinct_port() { # ports already taken...
  local p
  while :; do
    p=$(python3 scripts/free-port.py)
    [[ " $* " != *" $p "* ]] && break
  done
  echo "$p"
}
export NAMESRV_PORT BROKER_PORT GRPC_PORT
NAMESRV_PORT=$(distinct_port)
BROKER_PORT=$(distinct_port "$NAMESRV_PORT")
GRPC_PORT=$(distinct_port "$NAMESRV_PORT" "$BROKER_PORT")

log "starting $KIND (name server $NAMESRV_PORT, broker $BROKER_PORT, gRPC $GRPC_PORT)"
scripts/broker-ctl.sh start "$KIND" "$DIR"

export NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT"
export RMQ_GRPC_ENDPOINT="127.0.0.1:$GRPC_PORT"
export RMQ_RESTART_CMD="BROKER_EXTRA_CONF='${BROKER_EXTRA_CONF:-}' NAMESRV_PORT=$NAMESRV_PORT BROKER_PORT=$BROKER_PORT GRPC_PORT=$GRPC_PORT JAVA_BROKER_VERSION=$JAVA_BROKER_VERSION RMQD_BIN=$RMQD_BIN $ROOT/scripts/broker-ctl.sh restart $KIND $DIR"
export RMQ_GO_LOG_ROOT="$WORKDIR/go-client-logs"

# Totals of the Java run from its surefire reports (mvn -q prints nothing on success).
java_summary() {
  local reports=java-client-tests/grpc/target/client-java-5.2.0/surefire-reports
  compgen -G "$reports/TEST-*.xml" >/dev/null || return 0
  sed -n 's/.*<testsuite [^>]* tests="\([0-9]*\)" errors="\([0-9]*\)" skipped="\([0-9]*\)" failures="\([0-9]*\)".*/\1 \2 \3 \4/p' \
    "$reports"/TEST-*.xml | awk '{t+=$1; e+=$2; s+=$3; f+=$4} END {
      printf "grpc-test: java suite: tests %d, failures %d, errors %d, skipped %d\n", t, f, e, s }' >&2
}

failed=()
for suite in "${SUITES[@]}"; do
  start=$SECONDS
  set +e
  case "$suite" in
    java)
      log "Java gRPC suite (rocketmq-client-java) against $KIND"
      # shellcheck disable=SC2086 # MVN_FLAGS is a list of flags
      rm -rf java-client-tests/grpc/target/client-java-5.2.0/surefire-reports
      (cd java-client-tests/grpc && nice -n 19 mvn -B -ntp $MVN_FLAGS test ${JAVA_TEST:+-Dtest="$JAVA_TEST"})
      ;;
    go)
      log "Go gRPC suite (rocketmq-clients/golang/v5) against $KIND"
      (cd compat-tests/go-v5 && nice -n 19 go test -count=1 -v -timeout 20m ${GO_RUN:+-run "$GO_RUN"} ./... 2>&1 |
        grep -E '^(=== RUN|--- |\s+\S+_test\.go:|ok|FAIL|PASS|panic)'
        exit "${PIPESTATUS[0]}")
      ;;
    *)
      log "unknown suite $suite (java, go)"
      false
      ;;
  esac
  rc=$?
  set -e
  [[ "$suite" == java ]] && java_summary
  if ((rc == 0)); then
    log "$suite suite against $KIND: passed in $((SECONDS - start)) s"
  else
    log "$suite suite against $KIND: FAILED after $((SECONDS - start)) s"
    [[ "$suite" == java ]] && log "reports: java-client-tests/grpc/target/client-java-5.2.0/surefire-reports"
    failed+=("$suite")
  fi
done

if ((${#failed[@]} > 0)); then
  log "failed suites against $KIND: ${failed[*]} (broker logs: KEEP_WORKDIR=1 keeps $DIR/logs)"
  exit 1
fi
