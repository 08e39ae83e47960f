#!/usr/bin/env bash
# Regenerates compat-tests/golden/store-<version>/: a store written by the Java broker of that version
# (JAVA_BROKER_VERSION, default 4.9.7; 5.3.3 made store-5.3.3 the same way). Starts the broker
# with 8 KiB commit-log files and 600-byte consume-queue files (scripts/broker-ctl.sh), sends 90 messages with
# Produce.java (two topics, tags, keys, every 11th delayed at level 3), waits for the delayed ones to be put
# back, stops the broker cleanly and copies its commitlog/ and consumequeue/. Store timestamps differ per run,
# so a rerun changes the bytes; the test only relies on the files being the broker's own.
#
#   NAMESRV_PORT=… BROKER_PORT=… ./generate.sh      # ports from scripts/free-port.py
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
export JAVA_BROKER_VERSION=${JAVA_BROKER_VERSION:-4.9.7}
out="$root/compat-tests/golden/store-$JAVA_BROKER_VERSION"
work="$(mktemp -d)"
export BROKER_EXTRA_CONF=$'mappedFileSizeCommitLog=8192\nmappedFileSizeConsumeQueue=600'
"$root/scripts/broker-ctl.sh" start java "$work"
trap '"$root/scripts/broker-ctl.sh" stop java "$work"' EXIT
java -cp "$(cat "$work/java-broker-$JAVA_BROKER_VERSION.classpath")" "$here/Produce.java" "127.0.0.1:$NAMESRV_PORT"
sleep 12
"$root/scripts/broker-ctl.sh" stop java "$work"
trap - EXIT
rm -rf "$out"
mkdir -p "$out"
cp -r "$work/store/commitlog" "$work/store/consumequeue" "$out/"
rm -rf "$work"
