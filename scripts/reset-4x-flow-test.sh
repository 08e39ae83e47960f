#!/usr/bin/env bash
# The 4.x offset-reset flow: rmqd with useServerSideResetOffset=false pushes RESET_CONSUMER_CLIENT_OFFSET (220)
# to the live consumers instead of recording the reset itself (the default, as Java 5.3.3). QueryTest's
# reset-by-time test then goes through that push, with each client line.
#
#   scripts/reset-4x-flow-test.sh [VERSION...]   # client versions, default "4.9.8 5.3.3"
#
# Env: RMQD_BIN (default target/release/rmqd), MVN_FLAGS (default -q). Exits non-zero when anything fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
MVN_FLAGS=${MVN_FLAGS:--q}
if [[ $# -gt 0 ]]; then versions=("$@"); else versions=(4.9.8 5.3.3); fi
WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-reset4x.XXXXXX")
export NAMESRV_PORT BROKER_PORT
NAMESRV_PORT=$(python3 scripts/free-port.py)
BROKER_PORT=$(python3 scripts/free-port.py)
while [[ "$BROKER_PORT" == "$NAMESRV_PORT" ]]; do BROKER_PORT=$(python3 scripts/free-port.py); done
trap 'scripts/broker-ctl.sh stop rmqd "$WORKDIR" >/dev/null 2>&1 || true; rm -rf "$WORKDIR"' EXIT

BROKER_EXTRA_CONF="useServerSideResetOffset=false" scripts/broker-ctl.sh start rmqd "$WORKDIR"
export NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT"
failed=0
for v in "${versions[@]}"; do
  echo "reset-4x-flow: QueryTest#resetOffsetByTime* with client $v" >&2
  (cd java-client-tests && mvn -B -ntp $MVN_FLAGS test -Drocketmq.client.version="$v" \
    -Dtest='QueryTest#resetOffsetByTime*' -Dsurefire.failIfNoSpecifiedTests=false) || failed=1
done
exit $failed
