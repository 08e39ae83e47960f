#!/usr/bin/env python3
"""Small remoting-protocol probe for the migration scripts (what `mqadmin` shows, without a JVM per call).

  rmq-probe.py cluster NAMESRV                       # clusterList (GET_BROKER_CLUSTER_INFO 106): one line per
                                                     #   broker: cluster brokerName brokerId address
  rmq-probe.py runtime BROKER KEY                    # one GET_BROKER_RUNTIME_INFO (28) entry, e.g. commitLogMaxOffset
  rmq-probe.py consumer-offsets BROKER GROUP TOPIC N # QUERY_CONSUMER_OFFSET (14) of queues 0..N-1, comma-separated
                                                     #   (-1 when the broker has none: QUERY_NOT_FOUND 22)
  rmq-probe.py update-config BROKER KEY=VALUE...     # UPDATE_BROKER_CONFIG (25), as mqadmin updateBrokerConfig

Addresses are host:port. Exits 1 (with the reason on stderr) when the peer is unreachable or answers an error.
"""
import json
import re
import socket
import struct
import sys


def call(addr, code, ext=None, body=b""):
    host, port = addr.rsplit(":", 1)
    header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": 1, "version": 395,
                         "serializeTypeCurrentRPC": "JSON", "extFields": ext or {}}).encode()
    frame = struct.pack(">ii", 4 + len(header) + len(body), len(header)) + header + body
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(frame)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed by " + addr)
            buf += chunk
    header_len = struct.unpack(">i", buf[4:8])[0] & 0xFFFFFF
    reply = json.loads(buf[8:8 + header_len])
    return reply, buf[8 + header_len:4 + struct.unpack(">i", buf[:4])[0]]


def fastjson(body):
    """fastjson writes maps with numeric keys unquoted ({0:"addr"}); quote them for Python's parser."""
    return json.loads(re.sub(rb'([{,])(-?\d+):', rb'\1"\2":', body))


def ok(reply, what):
    if reply.get("code") != 0:
        sys.exit(f"{what}: code {reply.get('code')} {reply.get('remark')}")


def cluster(namesrv):
    reply, body = call(namesrv, 106)
    ok(reply, "GET_BROKER_CLUSTER_INFO")
    info = fastjson(body)
    for cluster_name, brokers in sorted(info.get("clusterAddrTable", {}).items()):
        for name in sorted(brokers):
            for broker_id, addr in sorted(info["brokerAddrTable"][name]["brokerAddrs"].items()):
                print(cluster_name, name, broker_id, addr)


def runtime(broker, key):
    reply, body = call(broker, 28)
    ok(reply, "GET_BROKER_RUNTIME_INFO")
    table = fastjson(body)["table"]
    if key not in table:
        sys.exit(f"no {key} in the runtime info of {broker}")
    print(table[key])


def consumer_offsets(broker, group, topic, queues):
    offsets = []
    for queue in range(int(queues)):
        reply, _ = call(broker, 14, {"consumerGroup": group, "topic": topic, "queueId": str(queue)})
        if reply.get("code") == 22:
            offsets.append("-1")
            continue
        ok(reply, "QUERY_CONSUMER_OFFSET")
        offsets.append(str(reply["extFields"]["offset"]))
    print(",".join(offsets))


def update_config(broker, pairs):
    body = "".join(p + "\n" for p in pairs).encode()
    reply, _ = call(broker, 25, body=body)
    ok(reply, "UPDATE_BROKER_CONFIG")


def main(argv):
    commands = {"cluster": (cluster, 1), "runtime": (runtime, 2), "consumer-offsets": (consumer_offsets, 4)}
    if len(argv) >= 3 and argv[0] == "update-config":
        update_config(argv[1], argv[2:])
        return
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][1]:
        sys.exit(__doc__)
    func, _ = commands[argv[0]]
    try:
        func(*argv[1:])
    except OSError as e:
        sys.exit(f"{argv[0]}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
