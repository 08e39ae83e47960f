package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client side of the live migration (scripts/migration-test.sh, docs/migration.md): one producer and one
 * push consumer, started once and never restarted, keep sending and consuming while the script replaces the
 * brokers of a 1-master-1-slave cluster one by one.
 *
 * <p>Runs only when RMQ_MIGRATION_DIR is set (a control directory shared with the script):
 * <ul>
 *   <li>RMQ_MIGRATION_TOPIC / RMQ_MIGRATION_GROUP: the topic (created on the master of RMQ_MIGRATION_BROKER with
 *   4 queues) and the consumer group;</li>
 *   <li>the test writes {@code status} (key=value lines, replaced atomically about every 200 ms): sent (SEND_OK
 *   count), consumed (deliveries), distinct, sendErrors, paused;</li>
 *   <li>while the file {@code pause-consume} exists the consumer is suspended (its offsets stop moving, so the
 *   script can compare the group's offsets on master and slave);</li>
 *   <li>when the file {@code stop} appears, sending stops, the test waits until every SEND_OK message has been
 *   consumed and fails if one is missing. Duplicates (at-least-once redeliveries) are reported, not failed;
 *   {@code result} gets the numbers and {@code acked.log} every acknowledged key with its msgId and queue.</li>
 * </ul>
 * Clients poll the name server every 3 s (pollNameServerInterval, default 30 s) so that they find the new
 * master sooner after the manual switch; docs/migration.md says what the default means for an operator.
 */
class MigrationTrafficTest {
    private static final long POLL_NAMESRV_MS = 3_000;
    private static final long SEND_PAUSE_MS = 20;
    private static final long ERROR_PAUSE_MS = 300;
    /** How long the final check waits for the last acknowledged messages to be consumed. */
    private static final long DRAIN_WAIT_MS = 180_000;

    /** SEND_OK key -> "msgId brokerName queueId queueOffset". */
    private final Map<String, String> acked = new ConcurrentHashMap<>();
    /** Key -> number of deliveries. */
    private final Map<String, Integer> consumed = new ConcurrentHashMap<>();
    private final AtomicLong deliveries = new AtomicLong();
    private final AtomicLong sendErrors = new AtomicLong();
    private final AtomicLong notOkStatus = new AtomicLong();
    private final AtomicReference<String> lastError = new AtomicReference<>("");
    private volatile boolean paused;

    /** The script decides how long the traffic runs (all its steps); this only bounds a forgotten run. */
    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void trafficSurvivesBrokerReplacement() throws Exception {
        String dirEnv = System.getenv("RMQ_MIGRATION_DIR");
        assumeTrue(dirEnv != null && !dirEnv.isBlank(), "RMQ_MIGRATION_DIR not set: migration traffic skipped");
        Path dir = Path.of(dirEnv);
        String topic = env("RMQ_MIGRATION_TOPIC");
        String group = env("RMQ_MIGRATION_GROUP");
        createTopic(topic, env("RMQ_MIGRATION_BROKER"));

        DefaultMQPushConsumer consumer = startConsumer(group, topic);
        DefaultMQProducer producer = new DefaultMQProducer(Compat.unique("migration-pg"));
        producer.setNamesrvAddr(Compat.namesrvAddr());
        producer.setInstanceName(Compat.unique("migration-producer"));
        producer.setPollNameServerInterval((int) POLL_NAMESRV_MS);
        producer.start();

        long seq = 0;
        while (!Files.exists(dir.resolve("stop"))) {
            followPauseFile(dir, consumer);
            send(producer, topic, seq++);
            writeStatus(dir);
            Compat.sleep(SEND_PAUSE_MS);
        }
        producer.shutdown();
        Compat.log("stop file seen after %d sends; %d acknowledged", seq, acked.size());
        if (paused) {
            consumer.resume();
            paused = false;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_WAIT_MS);
        while (!consumed.keySet().containsAll(acked.keySet()) && System.nanoTime() < deadline) {
            writeStatus(dir);
            Compat.sleep(200);
        }
        Compat.sleep(Compat.QUIET_MS);
        consumer.shutdown();
        writeStatus(dir);
        report(dir, seq);
    }

    private static String env(String name) {
        String value = System.getenv(name);
        assertTrue(value != null && !value.isBlank(), name + " must be set with RMQ_MIGRATION_DIR");
        return value.trim();
    }

    /** The topic with 4 read/write queues on the master of {@code brokerName} (the slave copies it). */
    private static void createTopic(String topic, String brokerName) throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            String master = admin.examineBrokerClusterInfo().getBrokerAddrTable().get(brokerName)
                .getBrokerAddrs().get(0L);
            assertTrue(master != null, "no master of " + brokerName + " registered");
            admin.createAndUpdateTopicConfig(master, new TopicConfig(topic, 4, 4, 6));
            Compat.log("topic %s created on %s (%s)", topic, brokerName, master);
        } finally {
            admin.shutdown();
        }
    }

    private DefaultMQPushConsumer startConsumer(String group, String topic) throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        consumer.setPollNameServerInterval((int) POLL_NAMESRV_MS);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                consumed.merge(m.getKeys(), 1, Integer::sum);
                deliveries.incrementAndGet();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        return consumer;
    }

    /** One send; only SEND_OK counts as acknowledged (FLUSH_SLAVE_TIMEOUT etc. are counted apart). */
    private void send(DefaultMQProducer producer, String topic, long seq) {
        String key = "mig-" + seq;
        Message msg = new Message(topic, "T", key, ("body-" + key).getBytes(StandardCharsets.UTF_8));
        try {
            SendResult result = producer.send(msg);
            if (result.getSendStatus() == SendStatus.SEND_OK) {
                acked.put(key, result.getMsgId() + " " + result.getMessageQueue().getBrokerName() + " "
                    + result.getMessageQueue().getQueueId() + " " + result.getQueueOffset());
            } else {
                notOkStatus.incrementAndGet();
                lastError.set(key + ": " + result.getSendStatus());
            }
        } catch (Exception e) {
            sendErrors.incrementAndGet();
            lastError.set(key + ": " + e.toString().replace('\n', ' '));
            Compat.sleep(ERROR_PAUSE_MS);
        }
    }

    private void followPauseFile(Path dir, DefaultMQPushConsumer consumer) {
        boolean wanted = Files.exists(dir.resolve("pause-consume"));
        if (wanted && !paused) {
            consumer.suspend();
            paused = true;
            Compat.log("consumer suspended");
        } else if (!wanted && paused) {
            consumer.resume();
            paused = false;
            Compat.log("consumer resumed");
        }
    }

    private void writeStatus(Path dir) throws IOException {
        String status = "sent=" + acked.size() + "\nconsumed=" + deliveries.get() + "\ndistinct="
            + consumed.size() + "\nsendErrors=" + sendErrors.get() + "\nnotOk=" + notOkStatus.get()
            + "\npaused=" + paused + "\nlastError=" + lastError.get() + "\n";
        writeAtomically(dir.resolve("status"), status);
    }

    private void report(Path dir, long attempts) throws IOException {
        List<String> lost = new ArrayList<>();
        for (String key : acked.keySet()) {
            if (!consumed.containsKey(key)) {
                lost.add(key + " " + acked.get(key));
            }
        }
        long duplicates = deliveries.get() - consumed.size();
        long unackedDelivered = consumed.keySet().stream().filter(k -> !acked.containsKey(k)).count();
        StringBuilder log = new StringBuilder();
        acked.forEach((k, v) -> log.append(k).append(' ').append(v).append('\n'));
        writeAtomically(dir.resolve("acked.log"), log.toString());
        String result = "attempts=" + attempts + "\nacked=" + acked.size() + "\nsendErrors=" + sendErrors.get()
            + "\nnotOk=" + notOkStatus.get() + "\ndeliveries=" + deliveries.get() + "\ndistinct=" + consumed.size()
            + "\nduplicates=" + duplicates + "\nunackedDelivered=" + unackedDelivered + "\nlost=" + lost.size()
            + "\n";
        writeAtomically(dir.resolve("result"), result);
        Compat.log("migration traffic: %s", result.replace('\n', ' '));
        assertEquals(List.of(), lost.subList(0, Math.min(lost.size(), 20)),
            lost.size() + " acknowledged messages never consumed (first 20 shown)");
        assertTrue(acked.size() > 0, "nothing was acknowledged");
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
