#!/usr/bin/env bash
# Checks a stopped broker's store with the offline tools (`rmqd store verify|dump`), for the store migration
# passes of scripts/test-all.sh (called by scripts/store-switch.sh at the switch when STORE_SWITCH_VERIFY=1).
#
#   scripts/store-check.sh STORE WRITER     # WRITER: java | rmqd (who wrote STORE; for the messages)
#
# 1. `rmqd store verify STORE` must exit 0.
# 2. `rmqd store dump --json` of StoreMigrationTest's topic t_migB: queue 0 offsets 0..3 must be the messages
#    the test sent (key `key-<topic>#<seq>`, body `body-<topic>#<seq>`), and a dump by each key must find the
#    same record.
# 3. When WRITER is java: a copy of STORE with one body byte flipped must fail verify (exit 1) naming the
#    commit-log file and the record's offset.
# Env: RMQD_BIN (default target/release/rmqd).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RMQD_BIN=${RMQD_BIN:-target/release/rmqd}
[[ "$RMQD_BIN" == /* ]] || RMQD_BIN="$ROOT/$RMQD_BIN"
[[ $# -eq 2 ]] || { echo "usage: $0 STORE java|rmqd" >&2; exit 2; }
STORE=$1
WRITER=$2

log() { echo "store-check: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

log "rmqd store verify $STORE (written by $WRITER)"
"$RMQD_BIN" store verify "$STORE" >&2 || fail "verify reported faults in the store written by $WRITER"

topic=$(ls "$STORE/consumequeue" | grep '^t_migB_' | head -n 1 || true)
[[ -n "$topic" ]] || fail "no t_migB topic in $STORE/consumequeue"
dump=$("$RMQD_BIN" store dump "$STORE" --json --topic "$topic" --queue 0 --from 0 --to 3)
echo "$dump" | head -n 1 >&2
echo "$dump" | python3 -c '
import json, sys
topic = sys.argv[1]
lines = [json.loads(l) for l in sys.stdin if l.strip()]
assert len(lines) == 3, f"{len(lines)} messages dumped from {topic}/0 offsets 0..3"
for i, m in enumerate(lines):
    seq = m["properties"]["seq"]
    assert (m["topic"], m["queueId"], m["queueOffset"]) == (topic, 0, i), m
    assert m["keys"] == [f"key-{topic}#{seq}"], m["keys"]
    assert m["bodyEncoding"] == "utf8" and m["body"] == f"body-{topic}#{seq}", m["body"]
    assert m["bodyCrcOk"] and len(m["msgId"]) == 32 and m["properties"]["UNIQ_KEY"], m
    print(m["keys"][0], m["commitLogOffset"])
' "$topic" | while read -r key offset; do
  got=$("$RMQD_BIN" store dump "$STORE" --json --topic "$topic" --key "$key" |
    python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["commitLogOffset"]) for l in sys.stdin))')
  [[ "$got" == "$offset" ]] || fail "dump --key $key found [$got], expected the record at $offset"
  log "dump --key $key: record at $offset"
done

if [[ "$WRITER" == java ]]; then
  copy=$(mktemp -d)
  trap 'rm -rf "$copy"' EXIT
  cp -a --sparse=always "$STORE/commitlog" "$STORE/consumequeue" "$copy/"
  cp -a "$STORE/checkpoint" "$copy/" 2>/dev/null || true
  # The third message of t_migB/0: flip the first byte of its body (after the 88-byte IPv4 header).
  first=$(echo "$dump" | sed -n 3p | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["commitLogOffset"])')
  read -r file pos < <(python3 - "$copy/commitlog" "$first" <<'PY'
import os, sys
d, offset = sys.argv[1], int(sys.argv[2])
names = sorted(n for n in os.listdir(d) if len(n) == 20)
start = max(int(n) for n in names if int(n) <= offset)
path = os.path.join(d, f"{start:020d}")
with open(path, "r+b") as f:
    f.seek(offset - start + 88)
    b = f.read(1)
    f.seek(offset - start + 88)
    f.write(bytes([b[0] ^ 0x01]))
print(path, offset - start)
PY
)
  set +e
  out=$("$RMQD_BIN" store verify "$copy" 2>&1)
  rc=$?
  set -e
  echo "$out" | grep -E 'FAULT|faults found' >&2 || true
  [[ $rc -eq 1 ]] || fail "verify of the corrupted copy exited $rc, expected 1"
  echo "$out" | grep -qF "FAULT: $file at byte $pos (commit-log offset $first): body CRC mismatch" ||
    fail "verify of the corrupted copy did not name $file at byte $pos (commit-log offset $first)"
  log "corrupted copy: verify names $file at byte $pos (commit-log offset $first)"
fi
log "ok"
