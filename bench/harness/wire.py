"""Minimal remoting-protocol calls for the harness (stdlib only): a direct send used as the start-up
probe, and QUERY_CONSUMER_OFFSET used to follow the Java benchmark consumer's progress.

Frames use the JSON header (serialize type 0): length word, header-length word, header, body."""
import json
import socket
import struct
import time

SEND_MESSAGE_V2 = 310
QUERY_CONSUMER_OFFSET = 14
SUCCESS = 0


def _read_frame(sock):
    buf = b""
    while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    header_len = struct.unpack(">i", buf[4:8])[0] & 0xFFFFFF
    return json.loads(buf[8:8 + header_len])


def call(sock, code, ext_fields, body=b"", opaque=1):
    """One request/response on an open socket; returns the response header (a dict)."""
    header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": opaque, "version": 395,
                         "serializeTypeCurrentRPC": "JSON", "extFields": ext_fields}).encode()
    sock.sendall(struct.pack(">ii", 4 + len(header) + len(body), len(header)) + header + body)
    return _read_frame(sock)


def send_once(port, topic, timeout=1.0):
    """One SEND_MESSAGE_V2 straight to the broker on 127.0.0.1:port; True when it was accepted."""
    fields = {"a": "rmqd_bench_probe", "b": topic, "c": "TBW102", "d": "8", "e": "0", "f": "0",
              "g": str(int(time.time() * 1000)), "h": "0", "i": "WAIT\x01true\x02", "j": "0",
              "k": "false", "m": "false"}
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return call(sock, SEND_MESSAGE_V2, fields, b"probe").get("code") == SUCCESS
    except (OSError, ValueError):
        return False


def consumer_offset_sum(port, group, topic, queues, timeout=2.0):
    """Sum of the group's committed offsets over queues 0..queues-1 (a queue without one counts 0)."""
    total = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for queue_id in range(queues):
            reply = call(sock, QUERY_CONSUMER_OFFSET,
                         {"consumerGroup": group, "topic": topic, "queueId": str(queue_id)}, opaque=queue_id + 1)
            if reply.get("code") == SUCCESS:
                total += int((reply.get("extFields") or {}).get("offset", 0))
    return total
