package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * Shared helpers: client construction, unique names, polling waits and the content checks every test uses.
 * Only the remoting API that exists unchanged in both 4.9.x and 5.x clients is used here.
 */
final class Compat {
    /** Upper bound for any single wait; a broken broker fails the test after this instead of hanging it. */
    static final long WAIT_MS = 60_000;
    /** Time we keep listening after everything arrived, to catch late duplicates. */
    static final long QUIET_MS = 1_500;
    /** Queue count of auto-created topics: min(producer defaultTopicQueueNums = 4, TBW102's 8). */
    static final int AUTO_TOPIC_QUEUES = 4;

    private static final AtomicLong SEQ = new AtomicLong();
    private static final String RUN_ID = Long.toString(System.currentTimeMillis(), 36);

    private Compat() {}

    static String namesrvAddr() {
        String addr = System.getenv("NAMESRV_ADDR");
        if (addr == null || addr.isBlank()) {
            fail("NAMESRV_ADDR is not set. Start a broker (scripts/broker-ctl.sh start rmqd|java WORKDIR) and run "
                + "with NAMESRV_ADDR=127.0.0.1:<name server port>");
        }
        return addr.trim();
    }

    /** Topic/group/instance names unique per call and per run, so tests can share one broker and be re-run. */
    static String unique(String prefix) {
        return prefix + "_" + RUN_ID + "_" + SEQ.incrementAndGet() + "_"
            + UUID.randomUUID().toString().substring(0, 8);
    }

    private static void configure(ClientConfig client) {
        client.setNamesrvAddr(namesrvAddr());
        // One MQClientInstance per client object: two consumers of one group in this JVM must not share one,
        // and shutting one client down must not disturb another test's client.
        client.setInstanceName(unique("inst"));
    }

    static DefaultMQProducer startProducer() throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(unique("pg"));
        configure(producer);
        producer.start();
        return producer;
    }

    static DefaultMQPushConsumer pushConsumer(String group, String topic, String expression) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        configure(consumer);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        // Message model: CLUSTERING is the default (its enum moved packages between 4.x and 5.x).
        consumer.subscribe(topic, expression);
        return consumer;
    }

    /** A started push consumer of every message of {@code topic} that adds each message id to {@code ids}. */
    static DefaultMQPushConsumer startCollectingConsumer(String group, String topic, java.util.Set<String> ids)
            throws Exception {
        DefaultMQPushConsumer consumer = pushConsumer(group, topic, "*");
        consumer.registerMessageListener(
            (org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    ids.add(m.getMsgId());
                }
                return org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
        consumer.start();
        return consumer;
    }

    static DefaultLitePullConsumer litePullConsumer(String group, String topic) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
        configure(consumer);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        return consumer;
    }

    /**
     * A started lite pull consumer of group that subscribes to nothing and is assigned nothing, so it never
     * pulls nor commits: {@code committed(mq)} reads the group's offset from the broker (QUERY_CONSUMER_OFFSET).
     */
    static DefaultLitePullConsumer offsetReader(String group) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
        configure(consumer);
        consumer.start();
        return consumer;
    }

    /** A message whose body and key are unique and whose tag and properties let the receiver verify it. */
    static Message message(String topic, String tag, int i) {
        String id = topic + "#" + i;
        Message msg = new Message(topic, tag, "key-" + id, ("body-" + id).getBytes(StandardCharsets.UTF_8));
        msg.putUserProperty("seq", Integer.toString(i));
        msg.putUserProperty("color", i % 2 == 0 ? "red" : "blue");
        // Non-ASCII text: properties travel as UTF-8 inside the 0x01/0x02-separated property string.
        msg.putUserProperty("greeting", "h\u00e9llo-\u4e16\u754c-" + i);
        return msg;
    }

    static String bodyOf(Message msg) {
        return new String(msg.getBody(), StandardCharsets.UTF_8);
    }

    static List<String> bodies(Collection<Message> messages) {
        List<String> bodies = new ArrayList<>();
        messages.forEach(m -> bodies.add(bodyOf(m)));
        return bodies;
    }

    /** An admin client (rocketmq-tools) on the suite's name server, started. */
    static DefaultMQAdminExt startAdmin() throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(namesrvAddr());
        admin.setInstanceName(unique("admin"));
        admin.start();
        return admin;
    }

    /** A body's unique part ("body-topic#i", before any '|' filler), to name a message in failure reports. */
    static String label(String body) {
        int end = body.indexOf('|');
        String head = end < 0 ? body : body.substring(0, end);
        return head.length() <= 120 ? head : head.substring(0, 120) + "...";
    }

    static List<SendResult> sendSync(DefaultMQProducer producer, List<Message> messages) throws Exception {
        List<SendResult> results = new ArrayList<>();
        for (Message msg : messages) {
            SendResult result = producer.send(msg);
            assertSendOk(result);
            results.add(result);
        }
        return results;
    }

    static void assertSendOk(SendResult result) {
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), () -> "send status of " + result);
        assertTrue(result.getMsgId() != null && !result.getMsgId().isEmpty(), () -> "msgId in " + result);
        assertTrue(result.getOffsetMsgId() != null && !result.getOffsetMsgId().isEmpty(),
            () -> "offsetMsgId in " + result);
        assertTrue(result.getQueueOffset() >= 0, () -> "queue offset in " + result);
    }

    /** Per queue: the next offset after the last message sent there (what a consumer commits after it). */
    static Map<Integer, Long> nextOffsets(Collection<SendResult> results) {
        Map<Integer, Long> next = new HashMap<>();
        for (SendResult r : results) {
            next.merge(r.getMessageQueue().getQueueId(), r.getQueueOffset() + 1, Math::max);
        }
        return next;
    }

    /** Polls until the name server routes the topic to a broker with the expected number of queues. */
    static List<MessageQueue> awaitRoute(DefaultMQProducer producer, String topic, int queues) {
        List<List<MessageQueue>> found = new ArrayList<>();
        await("route of " + topic + " with " + queues + " queues", () -> {
            try {
                List<MessageQueue> mqs = producer.fetchPublishMessageQueues(topic);
                found.clear();
                found.add(mqs);
                return mqs.size() == queues;
            } catch (Exception e) {
                return false; // not registered with the name server yet
            }
        });
        return found.get(0);
    }

    static void await(String what, BooleanSupplier condition) {
        await(what, condition, () -> "");
    }

    static void await(String what, BooleanSupplier condition, Supplier<String> state) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + WAIT_MS + " ms waiting for " + what + " " + state.get());
            }
            sleep(20);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The received message carries exactly what was sent: topic, body, tag, keys and user properties. */
    static void assertSameContent(Message sent, MessageExt got) {
        String id = label(bodyOf(sent));
        assertEquals(sent.getTopic(), got.getTopic(), id + ": topic");
        assertArrayEquals(sent.getBody(), got.getBody(), id + ": body");
        assertEquals(sent.getTags(), got.getTags(), id + ": tags");
        assertEquals(sent.getKeys(), got.getKeys(), id + ": keys");
        for (String name : new String[] {"seq", "color", "greeting"}) {
            if (sent.getUserProperty(name) != null) {
                assertEquals(sent.getUserProperty(name), got.getUserProperty(name), id + ": property " + name);
            }
        }
        assertEquals(0, got.getReconsumeTimes(), id + ": reconsume times");
        assertTrue(got.getStoreTimestamp() >= got.getBornTimestamp() - 5_000,
            id + ": store timestamp " + got.getStoreTimestamp() + " vs born " + got.getBornTimestamp());
    }

    /** Also checks where the broker put it: the ids and the queue position the send result reported. */
    static void assertMatchesSendResult(SendResult result, MessageExt got) {
        String id = label(bodyOf(got));
        assertEquals(result.getMsgId(), got.getMsgId(), id + ": msgId (UNIQ_KEY)");
        assertEquals(result.getMessageQueue().getQueueId(), got.getQueueId(), id + ": queue id");
        assertEquals(result.getQueueOffset(), got.getQueueOffset(), id + ": queue offset");
        // offsetMsgId encodes the store host and the commit log offset of the message.
        assertEquals(result.getOffsetMsgId().toUpperCase(), offsetMsgIdOf(got), id + ": offsetMsgId");
    }

    /** The 4.x/5.x "offset message id": store IPv4 (4 bytes) + port (4 bytes) + commit log offset, as hex. */
    static String offsetMsgIdOf(MessageExt got) {
        java.net.InetSocketAddress store = (java.net.InetSocketAddress) got.getStoreHost();
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(16);
        buf.put(store.getAddress().getAddress());
        buf.putInt(store.getPort());
        buf.putLong(got.getCommitLogOffset());
        StringBuilder hex = new StringBuilder();
        for (byte b : buf.array()) {
            hex.append(String.format("%02X", b));
        }
        return hex.toString();
    }

    /**
     * 5.x clients' DefaultLitePullConsumer pulls with LITE_PULL_MESSAGE (request code 361), which 4.x brokers
     * answer with "request type 361 not supported", so it never receives anything there. Skips the test for
     * that pairing only; rmqd serves 361 (5.x brokers do) and must pass with every client.
     */
    static void assumeLitePullSupported(DefaultMQProducer producer) {
        if (clientVersion().startsWith("4.")) {
            return;
        }
        String broker = brokerVersion(producer);
        assumeFalse(broker.startsWith("V4_"),
            "5.x lite pull (request code 361) is not served by broker " + broker);
    }

    static String clientVersion() {
        return System.getProperty("rmq.client.version", "?");
    }

    /** brokerVersionDesc from GET_BROKER_RUNTIME_INFO (e.g. V4_9_7), or "unknown". */
    static String brokerVersion(DefaultMQProducer producer) {
        try {
            // var: these types moved packages between 4.x and 5.x, so they cannot be named in both.
            var api = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
            var route = api.getTopicRouteInfoFromNameServer("TBW102", 3_000);
            for (var broker : route.getBrokerDatas()) {
                String desc = api.getBrokerRuntimeInfo(broker.selectBrokerAddr(), 3_000).getTable()
                    .get("brokerVersionDesc");
                if (desc != null) {
                    return desc;
                }
            }
        } catch (Exception e) {
            log("broker version unknown: %s", e);
        }
        return "unknown";
    }

    /** RMQ_RESTART_CMD, the command that restarts the broker on the same store and config; the calling test
     *  is skipped when it is not set (a broker started by hand). */
    static String restartCommandOrSkip() {
        String restart = System.getenv("RMQ_RESTART_CMD");
        assumeTrue(restart != null && !restart.isBlank(), "RMQ_RESTART_CMD not set: broker restart test skipped");
        return restart;
    }

    /** Runs the restart command (see {@link #restartCommandOrSkip}) and logs how long the restart took. */
    static void restartBroker(String command) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("bash", "-c", command).inheritIO().start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "RMQ_RESTART_CMD did not finish in 120 s: " + command);
        assertEquals(0, p.exitValue(), "RMQ_RESTART_CMD failed: " + command);
        log("broker restart took %d ms", (System.nanoTime() - t0) / 1_000_000);
    }

    static void log(String format, Object... args) {
        System.out.printf("[client %s] %s%n", clientVersion(),
            String.format(format, args));
    }
}
