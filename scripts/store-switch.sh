#!/usr/bin/env bash
# Switches the broker kind on one store directory, the way an operator migrates between the Java broker and
# rmqd (or back): stop kind FROM, then start kind TO on the same WORKDIR/store and the same ports.
#
#   scripts/store-switch.sh FROM TO WORKDIR      # FROM, TO: rmqd | java
#
# Env: as scripts/broker-ctl.sh (NAMESRV_PORT, BROKER_PORT, JAVA_BROKER_VERSION, RMQD_BIN, BROKER_EXTRA_CONF,
# ...). The name server the clients use stays on NAMESRV_PORT: stopping `java` stops the Java name server
# too (rmqd standalone embeds its own on that port), and starting `java` starts the Java name server.
# STORE_SWITCH_KILL=1 SIGKILLs the FROM broker instead of stopping it cleanly (a crash, then the migration).
# STORE_SWITCH_SNAPSHOT=1 copies the stopped broker's store to WORKDIR/store-by-FROM before TO starts, so
# the files FROM wrote can be compared with what TO made of them. Prints the store layout at the switch.
# STORE_SWITCH_VERIFY=1 runs scripts/store-check.sh on the store FROM left (rmqd store verify + dump) and fails
# the switch if it finds a fault.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CTL="$ROOT/scripts/broker-ctl.sh"

usage() {
  echo "usage: $0 rmqd|java rmqd|java WORKDIR" >&2
  exit 2
}
[[ $# -eq 3 ]] || usage
FROM=$1
TO=$2
WORKDIR=$3
for kind in "$FROM" "$TO"; do
  case "$kind" in rmqd | java) ;; *) usage ;; esac
done

log() { echo "store-switch: $*" >&2; }

start=$SECONDS
if [[ "${STORE_SWITCH_KILL:-0}" == 1 ]]; then
  # A crash instead of a clean stop: TO then runs its abnormal recovery (abort file, checkpoint) on FROM's
  # files. Pages already written survive a process kill; consumer offsets only as of FROM's last flush.
  "$CTL" kill "$FROM" "$WORKDIR"
fi
"$CTL" stop "$FROM" "$WORKDIR"
# The stopped kind must not linger: a second process on the store (or the ports) would corrupt the test.
if "$CTL" status "$FROM" "$WORKDIR"; then
  log "$FROM still running after stop"
  exit 1
fi
if [[ "$FROM" == java ]] && [[ -f "$WORKDIR/namesrv.pid" ]]; then
  log "Java name server pid file still present after stop"
  exit 1
fi

store="$WORKDIR/store"
log "store left by $FROM:"
(cd "$store" && find . -path ./index -prune -o -type f -printf '  %p %s\n' | sort) >&2 || true
if [[ "${STORE_SWITCH_SNAPSHOT:-0}" == 1 ]]; then
  rm -rf "$WORKDIR/store-by-$FROM"
  # Index files are large and sparse; keep them sparse in the copy.
  cp -a --sparse=always "$store" "$WORKDIR/store-by-$FROM"
  log "snapshot in $WORKDIR/store-by-$FROM"
fi

if [[ "${STORE_SWITCH_VERIFY:-0}" == 1 ]]; then
  "$ROOT/scripts/store-check.sh" "$store" "$FROM"
fi

"$CTL" start "$TO" "$WORKDIR"
log "switched $FROM -> $TO on $store in $((SECONDS - start)) s"
