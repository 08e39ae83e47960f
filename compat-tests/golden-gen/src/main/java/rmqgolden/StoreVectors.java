package rmqgolden;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageExtBatch;

/**
 * Records written by the broker's own encoder (rocketmq-store): 4.9.x {@code CommitLog.MessageExtEncoder},
 * 5.x {@code org.apache.rocketmq.store.MessageExtEncoder}. The encoder leaves PHYSICALOFFSET (and in 4.9.x also
 * QUEUEOFFSET) zero; {@code CommitLog.DefaultAppendMessageCallback.doAppend} patches them in the mapped file.
 * The manifest records the bytes as the encoder produced them, before that patch.
 */
final class StoreVectors {
    private final Path dir;
    private final List<Object> files;
    private final List<String> notes;

    StoreVectors(Path dir, List<Object> files, List<String> notes) {
        this.dir = dir;
        this.files = files;
        this.notes = notes;
    }

    void generate() throws Exception {
        Object encoder = newEncoder();
        for (MessageVectors.Stored s : MessageVectors.storedSpecs()) {
            MessageExt inner = MessageVectors.fill((MessageExt) Support.newInstance(innerClass(), new Class<?>[0]), s);
            Support.call(inner, "setPropertiesString", MessageDecoder.messageProperties2String(s.properties()));
            Object failure = Support.call(encoder, "encode", inner);
            if (failure != null) {
                throw new IllegalStateException("store encoder refused " + s.name() + ": " + failure);
            }
            // 5.x returns the whole encoder buffer (capacity), 4.9.x only the written part: TOTALSIZE bounds both.
            ByteBuffer buf = (ByteBuffer) Support.call(encoder, "getEncoderBuffer");
            byte[] bytes = toArray(buf.duplicate().limit(buf.position() + buf.getInt(buf.position())));
            Map<String, Object> e = Support.writeVector(dir, "store_" + s.name() + ".bin", bytes);
            e.put("kind", "store_record");
            e.put("producer", encoder.getClass().getName() + ".encode(MessageExtBrokerInner)");
            e.putAll(MessageVectors.storedFields(s, bytes));
            MessageExt back = MessageDecoder.decode(ByteBuffer.wrap(bytes), true, false);
            e.put("queue_offset", back.getQueueOffset());
            e.put("commit_log_offset", back.getCommitLogOffset());
            e.put("note", "queue_offset/commit_log_offset are what the encoder wrote; doAppend patches them later");
            files.add(e);
        }
        batch(encoder);
    }

    private static Class<?> innerClass() {
        return Support.findClass("org.apache.rocketmq.common.message.MessageExtBrokerInner",
            "org.apache.rocketmq.store.MessageExtBrokerInner");
    }

    private static Object newEncoder() throws ReflectiveOperationException {
        try {
            Class<?> v5 = Class.forName("org.apache.rocketmq.store.MessageExtEncoder");
            Class<?> cfgClass = Class.forName("org.apache.rocketmq.store.config.MessageStoreConfig");
            Object cfg = Support.newInstance(cfgClass, new Class<?>[0]);
            return Support.newInstance(v5, new Class<?>[] {cfgClass}, cfg);
        } catch (ClassNotFoundException e) {
            Class<?> v4 = Class.forName("org.apache.rocketmq.store.CommitLog$MessageExtEncoder");
            return Support.newInstance(v4, new Class<?>[] {int.class}, 4 * 1024 * 1024);
        }
    }

    /**
     * SEND_BATCH_MESSAGE as the broker stores it: one record per element, per-element body CRC, and the batch-level
     * properties (request header properties + CLUSTER) appended to every element's properties.
     */
    private void batch(Object encoder) throws Exception {
        MessageExtBatch batch = new MessageExtBatch();
        batch.setTopic("GoldenTopic");
        batch.setQueueId(1);
        batch.setSysFlag(0);
        batch.setBornTimestamp(1700000003000L);
        batch.setBornHost(Support.addr("192.168.1.20", 54321));
        batch.setStoreTimestamp(1700000003001L);
        batch.setStoreHost(Support.addr("10.0.0.5", 10911));
        Map<String, String> batchProps = new LinkedHashMap<>();
        batchProps.put("WAIT", "true");
        batchProps.put("CLUSTER", "DefaultCluster");
        MessageAccessor.setProperties(batch, batchProps);

        List<Message> msgs = new ArrayList<>();
        List<Object> elements = new ArrayList<>();
        String[] bodies = {"store batch one", "store batch two"};
        String[][] props = {{"KEYS", "sb1", "UNIQ_KEY", "7F0000010B5C18B4AAC27A7B3A0E0020"}, {}};
        for (int i = 0; i < bodies.length; i++) {
            Message m = new Message();
            m.setBody(MessageVectors.utf8(bodies[i]));
            m.setFlag(i);
            Map<String, String> p = new LinkedHashMap<>();
            for (int j = 0; j < props[i].length; j += 2) {
                p.put(props[i][j], props[i][j + 1]);
            }
            MessageAccessor.setProperties(m, p);
            msgs.add(m);
            Map<String, Object> el = new LinkedHashMap<>();
            el.put("flag", i);
            el.put("body_hex", Support.hex(m.getBody()));
            el.put("properties", MessageDecoder.messageProperties2String(p));
            elements.add(el);
        }
        batch.setBody(MessageDecoder.encodeMessages(msgs));

        Class<?> ctxClass = Support.findClass("org.apache.rocketmq.store.PutMessageContext",
            "org.apache.rocketmq.store.CommitLog$PutMessageContext");
        Object ctx = Support.newInstance(ctxClass, new Class<?>[] {String.class}, "GoldenTopic-1");
        byte[] bytes = toArray((ByteBuffer) Support.call(encoder, "encode", batch, ctx));

        Map<String, Object> e = Support.writeVector(dir, "store_batch.bin", bytes);
        e.put("kind", "store_batch");
        e.put("producer", encoder.getClass().getName() + ".encode(MessageExtBatch, PutMessageContext)");
        e.put("description", "broker-side batch encoding of a 2-element SEND_BATCH_MESSAGE body");
        e.put("topic", batch.getTopic());
        e.put("queue_id", batch.getQueueId());
        e.put("sys_flag", batch.getSysFlag());
        e.put("born_timestamp", batch.getBornTimestamp());
        e.put("born_host", Support.hostString("192.168.1.20", 54321));
        e.put("store_timestamp", batch.getStoreTimestamp());
        e.put("store_host", Support.hostString("10.0.0.5", 10911));
        e.put("batch_properties", MessageDecoder.messageProperties2String(batchProps));
        e.put("batch_body_hex", Support.hex(batch.getBody()));
        e.put("elements", elements);
        List<Object> records = new ArrayList<>();
        for (MessageExt m : MessageDecoder.decodes(ByteBuffer.wrap(bytes), true)) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("total_size", m.getStoreSize());
            r.put("body_crc", m.getBodyCRC());
            r.put("flag", m.getFlag());
            r.put("body_hex", Support.hex(m.getBody()));
            r.put("properties_map", m.getProperties() == null ? Map.of() : new TreeMap<>(m.getProperties()));
            records.add(r);
        }
        e.put("java_decoded_records", records);
        files.add(e);
        notes.add("store_batch.bin: batch-level properties ARE appended to each element's properties "
            + "(a \\u0002 separator is inserted when the element's own string does not end with one)");
    }

    private static byte[] toArray(ByteBuffer buf) {
        byte[] bytes = new byte[buf.remaining()];
        buf.duplicate().get(bytes);
        return bytes;
    }
}
