#!/usr/bin/env bash
# Runs the Java client compatibility suite once per client version against a running broker.
#
#   NAMESRV_ADDR=127.0.0.1:9876 [RMQ_RESTART_CMD='...'] java-client-tests/run-tests.sh [VERSION...]
#
# VERSION defaults to "4.9.8 5.3.3" (or $JAVA_CLIENT_VERSIONS). RMQ_RESTART_CMD, when set, is a shell command
# that restarts the broker on the same store (e.g. scripts/broker-ctl.sh restart java WORKDIR with the ports in
# its environment); without it the broker-restart test is skipped. MVN_FLAGS adds Maven options (e.g. -q).
# Exits non-zero when any version fails; every version is run regardless.
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${NAMESRV_ADDR:-}" ]]; then
  echo "run-tests.sh: NAMESRV_ADDR is not set (e.g. NAMESRV_ADDR=127.0.0.1:9876)" >&2
  exit 2
fi
export NAMESRV_ADDR
[[ -n "${RMQ_RESTART_CMD:-}" ]] && export RMQ_RESTART_CMD

if [[ $# -gt 0 ]]; then
  versions=("$@")
else
  read -r -a versions <<<"${JAVA_CLIENT_VERSIONS:-4.9.8 5.3.3}"
fi

failed=()
for v in "${versions[@]}"; do
  echo "=== Java client $v against $NAMESRV_ADDR ==="
  start=$SECONDS
  # shellcheck disable=SC2086 # MVN_FLAGS is a list of flags
  if mvn -B -ntp -Dstyle.color=never ${MVN_FLAGS:-} test -Drocketmq.client.version="$v"; then
    echo "=== Java client $v: passed in $((SECONDS - start)) s ==="
  else
    echo "=== Java client $v: FAILED after $((SECONDS - start)) s (reports: target/client-$v/surefire-reports) ==="
    failed+=("$v")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed client versions: ${failed[*]}" >&2
  exit 1
fi
