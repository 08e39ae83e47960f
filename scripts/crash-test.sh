#!/usr/bin/env bash
# Crash test: rmqd with flushDiskType=SYNC_FLUSH under synchronous load from several goroutines, SIGKILLed at
# random moments and restarted on the same store; at the end every queue is read back from offset 0 and checked
# against the load generator's log (compat-tests/go/cmd/crashload): every acknowledged message present at its
# acknowledged queue offset with its body and offsetMsgId, offsets dense and ordered, body CRCs valid, no copy
# a retry does not explain. Checked once on the store recovered after the last kill and once more after a clean
# restart (the normal-start recovery path).
#
#   scripts/crash-test.sh [ITERATIONS]      # default 5 kills (about a minute)
#
# Env: RMQD_BIN (default target/release/rmqd; build with `cargo build --release --bin rmqd`), WORKERS (8 senders),
# KILL_AFTER_MIN_MS / KILL_AFTER_MAX_MS (random load time before each kill, default 500 / 3000),
# KEEP_WORKDIR=1 keeps the work directory (it is always kept on failure).
# Prints one `crash-test:` summary line; exits non-zero on any violation.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ITERATIONS=${1:-5}
[[ "$ITERATIONS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ITERATIONS]" >&2; exit 2; }
WORKERS=${WORKERS:-8}
KILL_AFTER_MIN_MS=${KILL_AFTER_MIN_MS:-500}
KILL_AFTER_MAX_MS=${KILL_AFTER_MAX_MS:-3000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rmqd-crash.XXXXXX")
TOPIC="crashload_$(date +%s)_$$"
LOAD_PID=
result=FAIL

log() { echo "crash-test: $*" >&2; }

# A port p is usable for a broker when p, p-2 (VIP channel) and p+1 (HA) are all free.
free_port() { python3 "$ROOT/scripts/free-port.py"; }

cleanup() {
  if [[ -n "$LOAD_PID" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then
    kill -KILL "$LOAD_PID" 2>/dev/null || true
  fi
  scripts/broker-ctl.sh stop rmqd "$WORK" >/dev/null 2>&1 || true
  if [[ "$result" == PASS && "${KEEP_WORKDIR:-0}" != 1 ]]; then
    rm -rf "$WORK"
  else
    log "work directory kept: $WORK (rmqd log: $WORK/logs/rmqd.out, send log: $WORK/sends.log)"
  fi
}
trap cleanup EXIT

export NAMESRV_PORT BROKER_PORT
NAMESRV_PORT=$(free_port)
BROKER_PORT=$(free_port)
while [[ "$BROKER_PORT" == "$NAMESRV_PORT" ]]; do BROKER_PORT=$(free_port); done
export BROKER_EXTRA_CONF="flushDiskType=SYNC_FLUSH"
grep -q BROKER_EXTRA_CONF scripts/broker-ctl.sh || { log "scripts/broker-ctl.sh lacks BROKER_EXTRA_CONF"; exit 1; }

log "building the load generator"
(cd compat-tests/go && go build -o "$WORK/crashload" ./cmd/crashload)

scripts/broker-ctl.sh start rmqd "$WORK"
grep -q '^flushDiskType=SYNC_FLUSH$' "$WORK/broker.conf" || { log "broker.conf lacks flushDiskType=SYNC_FLUSH"; exit 1; }

"$WORK/crashload" load -namesrv "127.0.0.1:$NAMESRV_PORT" -topic "$TOPIC" -log "$WORK/sends.log" \
  -workers "$WORKERS" >"$WORK/load.out" 2>&1 &
LOAD_PID=$!
started=$SECONDS

acked() { grep -c '^K ' "$WORK/sends.log" 2>/dev/null || echo 0; }

for ((i = 1; i <= ITERATIONS; i++)); do
  delay_ms=$((KILL_AFTER_MIN_MS + (RANDOM * 32768 + RANDOM) % (KILL_AFTER_MAX_MS - KILL_AFTER_MIN_MS + 1)))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -0 "$LOAD_PID" 2>/dev/null || { log "the load generator died"; cat "$WORK/load.out" >&2; exit 1; }
  log "kill $i/$ITERATIONS after ${delay_ms} ms of load ($(acked) acknowledged so far)"
  scripts/broker-ctl.sh kill rmqd "$WORK"
  scripts/broker-ctl.sh start rmqd "$WORK"
done

# Let the load run on the last recovered store before stopping it.
sleep 2
kill -TERM "$LOAD_PID"
wait "$LOAD_PID" || { log "load generator failed"; cat "$WORK/load.out" >&2; exit 1; }
LOAD_PID=
cat "$WORK/load.out" >&2

violations=0
check() { # label
  log "checking the store ($1)"
  if ! "$WORK/crashload" check -broker "127.0.0.1:$BROKER_PORT" -topic "$TOPIC" -log "$WORK/sends.log" \
    | tee "$WORK/check-$1.out" >&2; then
    violations=$((violations + 1))
  fi
}
check after-kills
scripts/broker-ctl.sh restart rmqd "$WORK"
check after-clean-restart

recoveries=$(grep -c 'commit log recovered' "$WORK/logs/rmqd.out" 2>/dev/null || true)
summary=$(grep -h '^crashload check:' "$WORK/check-after-clean-restart.out" | sed 's/^crashload check: //')
if ((violations == 0)); then result=PASS; fi
echo "crash-test: $result kills=$ITERATIONS recoveries-logged=${recoveries:-0} seconds=$((SECONDS - started)) $summary"
[[ "$result" == PASS ]]
