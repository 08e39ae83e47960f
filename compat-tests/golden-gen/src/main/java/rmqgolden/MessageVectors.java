package rmqgolden;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Stored message records from {@code MessageDecoder.encode(MessageExt, false)} (the client-side encoder; it writes
 * the V1 magic and takes BODYCRC from {@code getBodyCRC()}, so we set it to {@code UtilAll.crc32(body)} as the
 * broker does), client batch bodies from {@code MessageDecoder.encodeMessages}, and scalar function results.
 */
final class MessageVectors {
    /** Inputs of one stored record; the manifest repeats every field so Rust can rebuild the same record. */
    record Stored(String name, String description, String topic, byte[] body, int queueId, int flag,
                  long queueOffset, long commitLogOffset, int sysFlag, long bornTimestamp, String bornIp, int bornPort,
                  long storeTimestamp, String storeIp, int storePort, int reconsumeTimes, long preparedTxOffset,
                  Map<String, String> properties) {
    }

    private final Path dir;
    private final List<Object> files;

    MessageVectors(Path dir, List<Object> files) {
        this.dir = dir;
        this.files = files;
    }

    static List<Stored> storedSpecs() {
        Map<String, String> small = new LinkedHashMap<>();
        small.put("KEYS", "k1 k2");
        small.put("TAGS", "TagA");
        small.put("UNIQ_KEY", "C0A8011400002A9F0000000000000001");
        small.put("WAIT", "true");

        // A plain HashMap, as a producer builds it: the record keeps Java's iteration order, whatever it is.
        Map<String, String> many = new HashMap<>();
        many.put("TAGS", "标签B");
        many.put("KEYS", "key-α key-β");
        many.put("UNIQ_KEY", "7F0000010B5C18B4AAC27A7B3A0E0001");
        many.put("WAIT", "false");
        many.put("DELAY", "3");
        many.put("CLUSTER", "DefaultCluster");
        many.put("MIN_OFFSET", "0");
        many.put("MAX_OFFSET", "42");
        many.put("userKey", "user value with spaces");

        Map<String, String> txn = new LinkedHashMap<>();
        txn.put("TRAN_MSG", "true");
        txn.put("PGROUP", "golden_tx_group");
        txn.put("__transactionId__", "7F0000010B5C18B4AAC27A7B3A0E0002");

        List<Stored> specs = new ArrayList<>();
        specs.add(new Stored("msg_ipv4", "IPv4 born and store hosts, 4 properties", "GoldenTopic",
            utf8("stored body ipv4"), 2, 7, 1234L, 98765L, 0, 1700000000123L, "192.168.1.20", 54321,
            1700000000456L, "10.0.0.5", 10911, 1, 0L, small));
        specs.add(new Stored("msg_ipv6", "IPv6 born and store hosts (sysFlag 0x10|0x20) + TRANSACTION_COMMIT (0x8)",
            "GoldenTopic", utf8("stored body ipv6"), 0, 0, 5L, 4096L, 0x08 | 0x10 | 0x20, 1700000001000L,
            "2001:db8::1", 50000, 1700000001001L, "2001:db8::2", 10911, 0, 2048L, txn));
        specs.add(new Stored("msg_mixed_empty", "IPv6 born host, IPv4 store host, empty body, no properties",
            "%RETRY%golden_consumer_group", new byte[0], 0, 0, 0L, 0L, 0x10, 1700000002000L, "::1", 1,
            1700000002001L, "127.0.0.1", 10911, 16, 0L, new LinkedHashMap<>()));
        specs.add(new Stored("msg_props", "many properties in Java HashMap order, non-ASCII values, compressed flag",
            "GoldenTopic", utf8("{\"json\":\"body\",\"n\":1}"), 7, -1, Long.MAX_VALUE, 1L << 40, 0x1, -1L,
            "255.255.255.255", 65535, 0L, "0.0.0.0", 0, Integer.MAX_VALUE, 0L, many));
        return specs;
    }

    void generate() throws Exception {
        ByteBuffer pullBody = ByteBuffer.allocate(1 << 16);
        List<String> inPull = new ArrayList<>();
        for (Stored s : storedSpecs()) {
            byte[] bytes = MessageDecoder.encode(messageExt(s), false);
            Map<String, Object> e = Support.writeVector(dir, s.name + ".bin", bytes);
            e.put("kind", "stored_message");
            e.put("producer", "MessageDecoder.encode(MessageExt, false)");
            e.putAll(storedFields(s, bytes));
            files.add(e);
            pullBody.put(bytes);
            inPull.add(s.name + ".bin");
        }
        byte[] pull = new byte[pullBody.position()];
        pullBody.flip().get(pull);
        Map<String, Object> e = Support.writeVector(dir, "pull_body.bin", pull);
        e.put("kind", "stored_message_list");
        e.put("description", "a PULL_MESSAGE SUCCESS body: the stored records above concatenated, in this order");
        e.put("records", inPull);
        files.add(e);
        batch();
    }

    static MessageExt messageExt(Stored s) {
        return fill(new MessageExt(), s);
    }

    /** Copies every input onto {@code m} (a MessageExt or the store's MessageExtBrokerInner subclass). */
    static <T extends MessageExt> T fill(T m, Stored s) {
        m.setTopic(s.topic);
        m.setBody(s.body);
        m.setBodyCRC(UtilAll.crc32(s.body));
        m.setQueueId(s.queueId);
        m.setFlag(s.flag);
        m.setQueueOffset(s.queueOffset);
        m.setCommitLogOffset(s.commitLogOffset);
        m.setSysFlag(s.sysFlag);
        m.setBornTimestamp(s.bornTimestamp);
        m.setBornHost(Support.addr(s.bornIp, s.bornPort));
        m.setStoreTimestamp(s.storeTimestamp);
        m.setStoreHost(Support.addr(s.storeIp, s.storePort));
        m.setReconsumeTimes(s.reconsumeTimes);
        m.setPreparedTransactionOffset(s.preparedTxOffset);
        MessageAccessor.setProperties(m, s.properties);
        return m;
    }

    static Map<String, Object> storedFields(Stored s, byte[] bytes) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("description", s.description);
        e.put("total_size", ByteBuffer.wrap(bytes).getInt(0));
        e.put("magic", ByteBuffer.wrap(bytes).getInt(4));
        e.put("body_crc", UtilAll.crc32(s.body));
        e.put("queue_id", s.queueId);
        e.put("flag", s.flag);
        e.put("queue_offset", s.queueOffset);
        e.put("commit_log_offset", s.commitLogOffset);
        e.put("sys_flag", s.sysFlag);
        e.put("born_timestamp", s.bornTimestamp);
        e.put("born_host", Support.hostString(s.bornIp, s.bornPort));
        e.put("store_timestamp", s.storeTimestamp);
        e.put("store_host", Support.hostString(s.storeIp, s.storePort));
        e.put("reconsume_times", s.reconsumeTimes);
        e.put("prepared_transaction_offset", s.preparedTxOffset);
        e.put("body_hex", Support.hex(s.body));
        e.put("topic", s.topic);
        e.put("properties", MessageDecoder.messageProperties2String(s.properties));
        e.put("properties_pairs", Support.pairs(s.properties));
        // What a Java consumer sees after decoding these bytes: a cross-check that the record is well formed.
        MessageExt back = MessageDecoder.decode(ByteBuffer.wrap(bytes), true, false);
        e.put("java_decoded_msg_id", back.getMsgId());
        e.put("java_decoded_properties", back.getProperties() == null ? Map.of() : new TreeMap<>(back.getProperties()));
        return e;
    }

    private void batch() throws Exception {
        List<Message> msgs = new ArrayList<>();
        List<Object> elements = new ArrayList<>();
        String[][] props = {
            {"KEYS", "b1", "UNIQ_KEY", "7F0000010B5C18B4AAC27A7B3A0E0010", "WAIT", "true"},
            {"TAGS", "TagB", "UNIQ_KEY", "7F0000010B5C18B4AAC27A7B3A0E0011"},
            {},
        };
        byte[][] bodies = {utf8("batch element one"), utf8("第二条"), new byte[0]};
        int[] flags = {0, 5, -2};
        for (int i = 0; i < bodies.length; i++) {
            Message m = new Message();
            m.setBody(bodies[i]);
            m.setFlag(flags[i]);
            Map<String, String> p = new LinkedHashMap<>();
            for (int j = 0; j < props[i].length; j += 2) {
                p.put(props[i][j], props[i][j + 1]);
            }
            MessageAccessor.setProperties(m, p);
            msgs.add(m);
            Map<String, Object> el = new LinkedHashMap<>();
            el.put("flag", flags[i]);
            el.put("body_hex", Support.hex(bodies[i]));
            el.put("properties", MessageDecoder.messageProperties2String(p));
            elements.add(el);
        }
        byte[] bytes = MessageDecoder.encodeMessages(msgs);
        Map<String, Object> e = Support.writeVector(dir, "batch_body.bin", bytes);
        e.put("kind", "batch_body");
        e.put("description", "SEND_BATCH_MESSAGE body: MessageDecoder.encodeMessages of three messages");
        e.put("producer", "MessageDecoder.encodeMessages(List<Message>)");
        e.put("elements", elements);
        files.add(e);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
