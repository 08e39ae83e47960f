#!/usr/bin/env bash
# Plain ACL end to end: rmqd standalone with aclEnable=true and a copy of java-client-tests/src/test/resources/
# acl-test-plain_acl.yml, then AclTest (official Java clients signing with AclClientRPCHook: allowed producer
# and consumer, wrong secret, unknown key, unsigned client, denied topic/group, admin-only requests),
# AclAdminTest (ACL admin request codes 50-54 through DefaultMQAdminExt, which edit the copy; it reads the
# copy's path from RMQ_ACL_FILE; 4.x tools only, skipped with 5.3.3), and the Go client's TestAcl*
# (compat-tests/go/acl_test.go) with its credentials option.
#
#   scripts/acl-test.sh [VERSION...]        # client versions, default "4.9.8 5.3.3"
#
# Env: RMQD_BIN (default target/release/rmqd; built when missing), JAVA_ACL=1 to run the same test against
# the official Java broker too (JAVA_BROKER_VERSION, default 4.9.7, with the same file copied to
# $ROCKETMQ_HOME/conf/plain_acl.yml, where Java reads it), which proves the test expects what Java does;
# JAVA_ACL_CLIENTS (client versions for the Java pass, default the same as for rmqd);
# MVN_FLAGS (default -q); KEEP_WORKDIR=1 keeps the temp dir (logs). Exits non-zero when anything fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"
ACL_FILE="$ROOT/java-client-tests/src/test/resources/acl-test-plain_acl.yml"
MVN_FLAGS=${MVN_FLAGS:--q}
if [[ $# -gt 0 ]]; then versions=("$@"); else versions=(4.9.8 5.3.3); fi

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-acl.XXXXXX")
STARTED=()
failures=()
log() { echo "acl-test: $*" >&2; }

cleanup() {
  local entry
  for entry in "${STARTED[@]}"; do
    "$ROOT/scripts/broker-ctl.sh" stop "${entry%%:*}" "${entry#*:}" >/dev/null 2>&1 || true
  done
  if [[ "${KEEP_WORKDIR:-}" == 1 ]]; then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
}
trap cleanup EXIT

if [[ ! -x "$RMQD_BIN" ]]; then
  log "building rmqd (no binary at $RMQD_BIN)"
  cargo build --release --bin rmqd
  RMQD_BIN="$ROOT/target/release/rmqd"
fi

run_against() { # kind client-version...
  local kind=$1 dir="$WORKDIR/$1" v
  shift
  local clients=("$@")
  mkdir -p "$dir"
  export NAMESRV_PORT BROKER_PORT
  NAMESRV_PORT=$(python3 scripts/free-port.py)
  BROKER_PORT=$(python3 scripts/free-port.py)
  while [[ "$BROKER_PORT" == "$NAMESRV_PORT" ]]; do BROKER_PORT=$(python3 scripts/free-port.py); done
  # A copy: AclAdminTest's requests rewrite the file the broker reads.
  local acl_file="$dir/plain_acl.yml"
  if [[ "$kind" == java ]]; then
    # PlainPermissionManager reads ${rocketmq.home.dir}/conf/plain_acl.yml; broker-ctl.sh sets ROCKETMQ_HOME
    # to WORKDIR/rocketmq-home and keeps what is already in its conf directory.
    acl_file="$dir/rocketmq-home/conf/plain_acl.yml"
    mkdir -p "$dir/rocketmq-home/conf"
  fi
  cp "$ACL_FILE" "$acl_file"
  STARTED+=("$kind:$dir")
  # aclFilePath is rmqd's key; the Java broker logs it as unknown and ignores it.
  BROKER_EXTRA_CONF="aclEnable=true
aclFilePath=$acl_file" scripts/broker-ctl.sh start "$kind" "$dir"
  for v in "${clients[@]}"; do
    log "AclTest and AclAdminTest, client $v against $kind (name server $NAMESRV_PORT, broker $BROKER_PORT)"
    # shellcheck disable=SC2086
    if ! (cd java-client-tests && RMQ_ACL_TEST=1 RMQ_ACL_FILE="$acl_file" NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT" \
      mvn -B -ntp $MVN_FLAGS test -Drocketmq.client.version="$v" -Dtest='AclTest,AclAdminTest' -Dsurefire.failIfNoSpecifiedTests=false); then
      failures+=("client-$v-on-$kind")
      tail -n 40 "$dir"/logs/*.out >&2 || true
    fi
  done
  log "Go client ACL tests against $kind"
  if ! (cd compat-tests/go && RMQ_ACL_TEST=1 NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT" \
    go test -count=1 -run 'TestAcl' ./...); then
    failures+=("go-client-on-$kind")
  fi
  scripts/broker-ctl.sh stop "$kind" "$dir"
}

run_against rmqd "${versions[@]}"
if [[ "${JAVA_ACL:-}" == 1 ]]; then
  # shellcheck disable=SC2206
  run_against java ${JAVA_ACL_CLIENTS:-${versions[*]}}
fi

if ((${#failures[@]})); then
  log "FAILED: ${failures[*]}"
  exit 1
fi
log "passed (${versions[*]} against rmqd${JAVA_ACL:+ and java})"
