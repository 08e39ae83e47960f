#!/usr/bin/env bash
# Regenerates the golden vectors in compat-tests/golden/<version>/ from the real Java RocketMQ libraries,
# then checks every file against the sha256 and size in its manifest.
#
#   ./generate.sh            # 4.9.8 and 5.3.3
#   ./generate.sh 4.9.8      # one version only
#
# Needs Java 17 and Maven (artifacts come from ~/.m2 or Maven Central). Output is deterministic: a rerun on
# an unchanged generator must leave `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
golden="$(cd "$here/.." && pwd)/golden"
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then versions=(4.9.8 5.3.3); fi

# MQVersion ordinal each library reports as its own version.
ordinal() {
  case "$1" in
    4.9.8) echo 409 ;;
    5.3.3) echo 479 ;;
    *) echo "unknown version $1" >&2; exit 2 ;;
  esac
}

for v in "${versions[@]}"; do
  profile=()
  if [[ "$v" == 5.* ]]; then profile=(-Prmq5); fi
  work="$here/target/$v"
  mkdir -p "$work"
  (cd "$here" && mvn -q -B "${profile[@]}" -Drocketmq.version="$v" -DskipTests \
      package \
      dependency:build-classpath -Dmdep.outputFile="$work/classpath.txt")
  out="$golden/$v"
  rm -rf "$out"
  mkdir -p "$out"
  # Fixed JVM settings: the serialize-type default must stay JSON (commands set their type explicitly).
  java -Duser.timezone=UTC -Dfile.encoding=UTF-8 -Drocketmq.client.logUseSlf4j=false \
    -cp "$work/classes:$(cat "$work/classpath.txt")" rmqgolden.Generator "$out" "$v" "$(ordinal "$v")"
  python3 - "$out" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json"), encoding="utf-8"))
for f in m["files"]:
    data = open(os.path.join(d, f["file"]), "rb").read()
    assert len(data) == f["size"], f["file"]
    assert hashlib.sha256(data).hexdigest() == f["sha256"], f["file"]
print(f"{d}: {len(m['files'])} files match their manifest sha256")
PY
done
