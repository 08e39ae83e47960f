#!/usr/bin/env bash
# Regenerates compat-tests/golden/grpc/ from the official Java protobuf classes of rocketmq-apis
# (org.apache.rocketmq:rocketmq-proto, version in pom.xml), then checks every file against the sha256 and size
# in its manifest. Needs Java 17 and Maven; no protoc, no .proto file. Deterministic: a rerun on an unchanged
# generator leaves `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(cd "$here/../.." && pwd)/golden/grpc"
(cd "$here" && mvn -q -B -DskipTests package dependency:build-classpath -Dmdep.outputFile="$here/target/classpath.txt")
version="$(sed -n 's:.*<rocketmq.proto.version>\(.*\)</rocketmq.proto.version>.*:\1:p' "$here/pom.xml")"
mkdir -p "$out"
rm -f "$out"/*.bin "$out/manifest.json"  # README.md stays
java -Dfile.encoding=UTF-8 -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" \
  rmqgolden.grpc.GrpcGenerator "$out" "org.apache.rocketmq:rocketmq-proto:$version"
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
