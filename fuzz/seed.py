#!/usr/bin/env python3
"""Writes the seed corpora from the golden vectors (compat-tests/golden/) plus hand-written JSON bodies.

Run from the repo root: `python3 fuzz/seed.py`. Seeds are named `seed-*` so they are easy to tell apart from
inputs libFuzzer adds; regression inputs are named `crash-*`.
"""
import glob
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "compat-tests", "golden")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


def json_header_ext(frame):
    """extFields of a JSON-header frame (after the total length)."""
    header_len = struct.unpack(">I", frame[:4])[0] & 0xFFFFFF
    return json.loads(frame[4 : 4 + header_len].decode()).get("extFields", {})


JSON_BODIES = {
    "heartbeat": {
        "clientID": "127.0.0.1@1234",
        "consumerDataSet": [
            {
                "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
                "consumeType": "CONSUME_PASSIVELY",
                "groupName": "CG",
                "messageModel": "CLUSTERING",
                "subscriptionDataSet": [
                    {"classFilterMode": False, "codeSet": [65], "expressionType": "TAG",
                     "subString": "A || B", "subVersion": 1700000000000, "tagsSet": ["A", "B"],
                     "topic": "T"}
                ],
                "unitMode": False,
            }
        ],
        "producerDataSet": [{"groupName": "PG"}, {"groupName": "CLIENT_INNER_PRODUCER"}],
    },
    "lock_batch": {"clientId": "127.0.0.1@1", "consumerGroup": "CG", "onlyThisBroker": False,
                   "mqSet": [{"brokerName": "b", "queueId": 0, "topic": "T"},
                             {"brokerName": "b", "queueId": 1, "topic": "T"}]},
    "subscription_group": {"brokerId": 0, "consumeBroadcastEnable": True, "consumeEnable": True,
                           "consumeFromMinEnable": True, "groupName": "CG", "retryMaxTimes": 16,
                           "retryQueueNums": 1, "whichBrokerWhenConsumeSlowly": 1},
    "topic_config": {"order": False, "perm": 6, "readQueueNums": 8, "topicFilterType": "SINGLE_TAG",
                     "topicName": "T", "topicSysFlag": 0, "writeQueueNums": 8},
    "data_version": {"counter": 3, "timestamp": 1700000000000},
    "query_offsets": {"offsetTable": {"T@CG": {0: 5, 1: 7}}},
    "delay_offsets": {"offsetTable": {1: 10, 3: 2}},
    "subscription_file": {"dataVersion": {"counter": 1, "timestamp": 1},
                          "subscriptionGroupTable": {"CG": {"groupName": "CG", "consumeEnable": True}}},
}
# fastjson-only shapes the broker must read: unquoted int keys, object keys, comments, single quotes.
FASTJSON_TEXT = {
    "register_broker": '{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,'
    '"timestamp":1700000000000},"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":4,'
    '"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}}',
    "offset_int_keys": '{"offsetTable":{"T@CG":{0:37960,1:37961\n}}}',
    "mq_object_keys": '{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:6}',
    "lenient": "/* c */ {'a':'x\\u4e2d\\x41\\v', b: [1L, 2.5e3, -0, true, null,], // tail\n}",
}

# Seeds of the typed body targets (codec/src/body/): the JSON bodies above plus the shapes each reads.
ROUTE = {
    "brokerDatas": [{"brokerAddrs": {"0": "127.0.0.1:10911", "1": "127.0.0.1:10921"}, "brokerName": "b",
                     "cluster": "c", "enableActingMaster": False}],
    "filterServerTable": {"127.0.0.1:10911": ["127.0.0.1:30000"]},
    "queueDatas": [{"brokerName": "b", "perm": 6, "readQueueNums": 4, "topicSysFlag": 0, "writeQueueNums": 8}],
}
BODY_TARGETS = {
    "body_heartbeat": {
        "heartbeat": json.dumps(JSON_BODIES["heartbeat"], separators=(",", ":")),
        "int_group": '{"clientID":"c","producerDataSet":[{"groupName":12}],"consumerDataSet":[{"groupName":"g",'
        '"subscriptionDataSet":[{"topic":"T","subString":"a||b","subVersion":"7","codeSet":[97,"x"]}]}]}',
        "null_set": '{"consumerDataSet":null}',
    },
    "body_lock_batch": {
        "lock_batch": json.dumps(JSON_BODIES["lock_batch"], separators=(",", ":")),
        "lock_response": '{"lockOKMQSet":[{"brokerName":"b","queueId":1,"topic":"T"}]}',
        "odd_queues": '{"consumerGroup":"g","clientId":"c","mqSet":[1,{"topic":"T"},'
        '{"brokerName":"b","queueId":"2","topic":"T"}]}',
    },
    "body_register_broker": {
        "register_broker": FASTJSON_TEXT["register_broker"],
        "bare_wrapper": '{"dataVersion":{"counter":"3"},"topicConfigTable":{"T":{"attributes":{"+a":"b"}},'
        '7:{"perm":[]},{"a":1}:{}}}',
        "data_version": json.dumps(JSON_BODIES["data_version"], separators=(",", ":")),
    },
    "body_route": {
        "route_standard": json.dumps(ROUTE, separators=(",", ":")),
        "route_fastjson": json.dumps(ROUTE, separators=(",", ":")).replace('"0":', "0:").replace('"1":', "1:"),
        "cluster_info": '{"brokerAddrTable":{"b":{"brokerAddrs":{0:"h:1"},"brokerName":"b","cluster":"c"}},'
        '"clusterAddrTable":{"c":["b"]}}',
    },
}


def main():
    seen = set()
    for path in sorted(glob.glob(os.path.join(GOLDEN, "*", "*.bin"))):
        version, name = os.path.basename(os.path.dirname(path)), os.path.basename(path)
        data = open(path, "rb").read()
        if data in seen:
            continue
        seen.add(data)
        tag = f"{version}-{name[:-4]}"
        if name.startswith("remoting_"):
            put("frame", tag, data[4:])
            if name.endswith(".json.bin"):
                ext = json_header_ext(data[4:])
                put("headers", tag, "\n".join(f"{k}={v}" for k, v in sorted(ext.items())))
        elif name.startswith(("msg_", "store_msg_", "pull_body", "store_batch")):
            put("stored_message", tag, data)
            if name == "msg_props.bin" or name == "store_msg_props.bin":
                total = struct.unpack(">I", data[:4])[0]
                # The property string is the record's tail: int16 length then the bytes.
                for cut in range(total - 2, 0, -1):
                    plen = struct.unpack(">h", data[cut : cut + 2])[0]
                    if cut + 2 + plen == total:
                        put("properties", tag, data[cut + 2 : total])
                        break
        elif name == "batch_body.bin":
            put("batch", tag, data)
    for name, doc in JSON_BODIES.items():
        text = json.dumps(doc, separators=(",", ":"))
        put("json_body", name, text)
        put("config_json", name, text)
    for name, text in FASTJSON_TEXT.items():
        put("json_body", name, text)
        put("config_json", name, text)
    for target, seeds in BODY_TARGETS.items():
        for name, text in seeds.items():
            put(target, name, text)
    headers = {
        "pull": "consumerGroup=CG\ntopic=T\nqueueId=0\nqueueOffset=0\nmaxMsgNums=32\nsysFlag=2\n"
        "commitOffset=0\nsuspendTimeoutMillis=15000\nsubscription=*\nsubVersion=0\nexpressionType=TAG",
        "offsets": "consumerGroup=CG\ntopic=T\nqueueId=-1\ncommitOffset=9\ntimestamp=1",
        "register": "brokerName=b\nbrokerAddr=127.0.0.1:10911\nclusterName=C\nhaServerAddr=x\nbrokerId=0\n"
        "compressed=false\nbodyCrc32=0",
        "kv": "namespace=ORDER_TOPIC_CONFIG\nkey=T\nvalue=b:4\ntopic=T\nacceptStandardJsonOnly=true",
        "topic": "topic=T\ndefaultTopic=TBW102\nreadQueueNums=8\nwriteQueueNums=8\nperm=6\n"
        "topicFilterType=SINGLE_TAG\ntopicSysFlag=0\norder=false",
        "wrong_types": "queueId=abc\nqueueOffset=-1\nmaxMsgNums=99999999999\nsysFlag= 2 \ncommitOffset=",
    }
    for name, text in headers.items():
        put("headers", name, text)
    put("properties", "plain", "KEYS\x01a b\x02TAGS\x01A\x02\x02=\x01\x01x\x02UNIQ_KEY\x01\x02")


if __name__ == "__main__":
    main()
