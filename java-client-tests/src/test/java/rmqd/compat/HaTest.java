package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Classic master/slave replication (Java's HAService protocol) between two brokers of one broker name, each
 * rmqd or Java, under load from the official producer while a push consumer reads from the master. Started by
 * scripts/ha-test.sh, which runs the brokers on 127.0.0.2 (master) and 127.0.0.3 (slave) and hands the test
 * the commands that act on them. Runs only when RMQ_HA_TEST names a scenario:
 *
 * <ul>
 *   <li>{@code replicate}: ASYNC_MASTER; a first part of the load before the slave starts (so the slave, empty,
 *       begins at the start of the master's last commit-log file), the rest while it replicates; then the two
 *       commit logs are compared (RMQ_HA_CMP_CMD), the master is stopped and a new group reads every
 *       acknowledged message at or after the slave's first offset from the slave alone.
 *   <li>{@code sync-kill}: SYNC_MASTER; the master is SIGKILLed under load; every send answered SEND_OK is on
 *       the slave.
 *   <li>{@code cut}: ASYNC_MASTER; the HA connection is cut (RMQ_HA_CUT_CMD) under load and healed
 *       (RMQ_HA_HEAL_CMD); the slave catches up with identical commit logs and contiguous consume queues.
 * </ul>
 *
 * <p>Env: RMQ_HA_MASTER_ADDR / RMQ_HA_SLAVE_ADDR (ip:port), RMQ_HA_STOP_MASTER_CMD (stop or SIGKILL),
 * RMQ_HA_START_SLAVE_CMD (optional: the slave is started by the test), RMQ_HA_CMP_CMD (given the slave's
 * max commit-log offset as its last argument), RMQ_HA_CUT_CMD / RMQ_HA_HEAL_CMD, RMQ_HA_MESSAGES (default
 * 12000), RMQ_HA_CUT_MS (how long the cut lasts, default 8000). Nothing is timed: numbers are printed.
 */
class HaTest {
    private static final String TAG = "TagHa";
    private static final int BODY_BYTES = 1024;
    private static final int QUEUES = 4;
    private static final int SENDERS = 4;
    private static final int PULL_BATCH = 32;

    private static String env(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            fail(name + " is not set (scripts/ha-test.sh sets it)");
        }
        return value.trim();
    }

    private static long envLong(String name, long fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : Long.parseLong(value.trim());
    }

    private static void run(String what, String command) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("bash", "-c", command).inheritIO().start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), what + " did not finish in 180 s: " + command);
        assertEquals(0, p.exitValue(), what + " failed: " + command);
        Compat.log("%s took %d ms", what, (System.nanoTime() - t0) / 1_000_000);
    }

    /** A body unique per label, padded with deterministic filler so the check can rebuild it from the label. */
    static byte[] body(String label) {
        StringBuilder text = new StringBuilder(label).append('|');
        long x = label.hashCode() * 0x9E3779B97F4A7C15L;
        while (text.length() < BODY_BYTES) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            text.append(Long.toHexString(x));
        }
        text.setLength(BODY_BYTES);
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String labelOf(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8);
        int bar = text.indexOf('|');
        return bar < 0 ? text : text.substring(0, bar);
    }

    static long commitLogOffset(SendResult result) {
        String id = result.getOffsetMsgId();
        return Long.parseUnsignedLong(id.substring(id.length() - 16), 16);
    }

    /**
     * Producer threads sending until stopped or until {@code limit} sends were attempted; every SEND_OK is kept
     * by label, every other status and every exception is counted.
     */
    static final class Load {
        final Map<String, SendResult> acked = new ConcurrentHashMap<>();
        final Map<String, AtomicLong> notOk = new ConcurrentHashMap<>();
        final AtomicLong attempted = new AtomicLong();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final DefaultMQProducer producer;
        private final String topic;
        private final String prefix;
        private volatile long limit;

        Load(DefaultMQProducer producer, String topic, String prefix) {
            this.producer = producer;
            this.topic = topic;
            this.prefix = prefix;
        }

        Load start(long limit) {
            this.limit = limit;
            for (int t = 0; t < SENDERS; t++) {
                Thread thread = new Thread(this::sendLoop, "ha-load-" + prefix + "-" + t);
                thread.setDaemon(true);
                threads.add(thread);
                thread.start();
            }
            return this;
        }

        private void sendLoop() {
            while (!stop.get()) {
                long n = attempted.getAndIncrement();
                if (n >= limit) {
                    return;
                }
                String label = prefix + "#" + n;
                Message msg = new Message(topic, TAG, label, body(label));
                try {
                    SendResult result = producer.send(msg);
                    if (result.getSendStatus() == SendStatus.SEND_OK) {
                        acked.put(label, result);
                    } else {
                        notOk.computeIfAbsent(result.getSendStatus().name(), k -> new AtomicLong()).incrementAndGet();
                    }
                } catch (Exception e) {
                    notOk.computeIfAbsent(e.getClass().getSimpleName(), k -> new AtomicLong()).incrementAndGet();
                }
            }
        }

        void awaitAttempted(long count) {
            Compat.await(prefix + ": " + count + " sends", () -> attempted.get() >= count || !alive(),
                () -> "attempted " + attempted.get());
        }

        void awaitAcked(long count) {
            Compat.await(prefix + ": " + count + " acknowledged sends", () -> acked.size() >= count || !alive(),
                () -> "acked " + acked.size() + " not ok " + notOk);
        }

        private boolean alive() {
            return threads.stream().anyMatch(Thread::isAlive);
        }

        void finish() throws InterruptedException {
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(60));
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            finish();
        }

        long maxCommitLogOffset() {
            return acked.values().stream().mapToLong(HaTest::commitLogOffset).max().orElse(-1);
        }
    }

    /** commitLogMinOffset / commitLogMaxOffset from GET_BROKER_RUNTIME_INFO of one broker. */
    private static long runtimeOffset(DefaultMQAdminExt admin, String addr, String key) {
        try {
            return Long.parseLong(admin.fetchBrokerRuntimeStats(addr).getTable().get(key));
        } catch (Exception e) {
            return -1;
        }
    }

    /** Both brokers of the broker name are in the name server's route (brokerId 0 and 1). */
    private static void awaitRegistered(DefaultMQAdminExt admin, String addr) {
        Compat.await("broker " + addr + " in the route of TBW102", () -> {
            try {
                return admin.examineTopicRouteInfo("TBW102").getBrokerDatas().stream()
                    .anyMatch(b -> b.getBrokerAddrs().containsValue(addr));
            } catch (Exception e) {
                return false;
            }
        });
    }

    /** Polls until the slave's commit log ends where the master's does, and returns that offset. */
    private static long awaitCaughtUp(DefaultMQAdminExt admin, String master, String slave) {
        long masterMax = runtimeOffset(admin, master, "commitLogMaxOffset");
        Compat.await("slave " + slave + " at the master's commit-log max offset " + masterMax,
            () -> runtimeOffset(admin, slave, "commitLogMaxOffset") == masterMax,
            () -> "slave at " + runtimeOffset(admin, slave, "commitLogMaxOffset"));
        return masterMax;
    }

    /** Messages of one queue read from the broker the route offers (the slave once the master is gone). */
    private static final class QueueRead {
        final List<MessageExt> messages = new ArrayList<>();
        long firstOffset = -1;
        long nextOffset;
    }

    /**
     * A new group pulls every queue of the topic from the first offset to the end (DefaultMQPullConsumer: a
     * push consumer of a new group cannot start without the master, which answers QUERY_CONSUMER_OFFSET).
     * An offset below the broker's minimum is answered OFFSET_ILLEGAL with the minimum as next offset.
     */
    private static Map<Integer, QueueRead> readAll(DefaultMQAdminExt admin, String topic) throws Exception {
        Map<Integer, Long> first = firstOffsets(admin, topic);
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer(Compat.unique("cg_ha_read"));
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.start();
        try {
            List<Set<MessageQueue>> found = new ArrayList<>();
            Compat.await("queues of " + topic + " on the slave", () -> {
                try {
                    found.clear();
                    found.add(consumer.fetchSubscribeMessageQueues(topic));
                    return found.get(0).size() == QUEUES;
                } catch (Exception e) {
                    return false;
                }
            });
            Map<Integer, QueueRead> reads = new TreeMap<>();
            for (MessageQueue mq : found.get(0)) {
                reads.put(mq.getQueueId(), readQueue(consumer, mq, first.getOrDefault(mq.getQueueId(), 0L)));
            }
            return reads;
        } finally {
            consumer.shutdown();
        }
    }

    /**
     * Each queue's first offset as the broker the route offers reports it (GET_TOPIC_STATS_INFO 202). A Java
     * slave (offsetCheckInSlave=false) answers a pull below it PULL_RETRY_IMMEDIATELY with the same offset as
     * next offset (DefaultMessageStore.nextOffsetCorrection), so a reader must start there.
     */
    private static Map<Integer, Long> firstOffsets(DefaultMQAdminExt admin, String topic) {
        Map<Integer, Long> first = new TreeMap<>();
        Compat.await("topic stats of " + topic + " from the slave", () -> {
            try {
                // var: TopicStatsTable moved packages between 4.x and 5.x.
                var table = admin.examineTopicStats(topic).getOffsetTable();
                table.forEach((mq, offsets) -> first.put(mq.getQueueId(), offsets.getMinOffset()));
                return first.size() == QUEUES;
            } catch (Exception e) {
                return false;
            }
        });
        Compat.log("first offsets on the slave: %s", first);
        return first;
    }

    private static QueueRead readQueue(DefaultMQPullConsumer consumer, MessageQueue mq, long first)
        throws Exception {
        QueueRead read = new QueueRead();
        long offset = first;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Compat.WAIT_MS);
        while (true) {
            PullResult result;
            try {
                result = consumer.pull(mq, "*", offset, PULL_BATCH);
            } catch (Exception e) {
                // The slave answers TOPIC_NOT_EXIST until its 10 s topic-config sync has run.
                assertTrue(System.nanoTime() < deadline, "pull of " + mq + " at " + offset + ": " + e);
                Compat.sleep(500);
                continue;
            }
            if (result.getPullStatus() == PullStatus.FOUND) {
                for (MessageExt m : result.getMsgFoundList()) {
                    if (read.firstOffset < 0) {
                        read.firstOffset = m.getQueueOffset();
                    }
                    read.messages.add(m);
                }
            } else if (result.getNextBeginOffset() <= offset) {
                // NO_NEW_MSG at the end of the queue.
                read.nextOffset = offset;
                if (read.firstOffset < 0) {
                    read.firstOffset = offset;
                }
                return read;
            } else {
                // Below the queue's first offset: a master answers PULL_OFFSET_MOVED (OFFSET_ILLEGAL), a slave
                // without offsetCheckInSlave PULL_RETRY_IMMEDIATELY (NO_MATCHED_MSG); both with the minimum next.
                assertTrue(read.messages.isEmpty(), mq + ": " + result.getPullStatus() + " at " + offset
                    + " after messages were read");
                Compat.log("%s: %s at offset %d, next %d", mq, result.getPullStatus(), offset,
                    result.getNextBeginOffset());
            }
            assertTrue(result.getNextBeginOffset() > offset,
                mq + ": next offset " + result.getNextBeginOffset() + " after " + offset);
            offset = result.getNextBeginOffset();
        }
    }

    /**
     * What the slave serves: in every queue consecutive queue offsets, each message once (distinct commit-log
     * offsets), its content as sent; and every acknowledged message whose commit-log offset is at or after
     * {@code fromCommitLogOffset} (the slave's first file) present at the queue offset its send reported.
     */
    private static void checkSlaveHasAcked(DefaultMQAdminExt admin, String topic, Map<String, SendResult> acked,
        long fromCommitLogOffset) throws Exception {
        Map<Integer, QueueRead> reads = readAll(admin, topic);
        Map<String, MessageExt> byLabel = new HashMap<>();
        Set<Long> commitLogOffsets = ConcurrentHashMap.newKeySet();
        long total = 0;
        for (Map.Entry<Integer, QueueRead> e : reads.entrySet()) {
            QueueRead read = e.getValue();
            long expect = read.firstOffset;
            for (MessageExt m : read.messages) {
                assertEquals(expect, m.getQueueOffset(), "queue " + e.getKey() + ": queue offsets contiguous");
                expect++;
                assertTrue(commitLogOffsets.add(m.getCommitLogOffset()),
                    "queue " + e.getKey() + " offset " + m.getQueueOffset() + ": commit-log offset "
                        + m.getCommitLogOffset() + " served twice");
                String label = labelOf(m.getBody());
                assertTrue(byLabel.put(label, m) == null, label + " read twice from the slave");
                assertEquals(new String(body(label), StandardCharsets.UTF_8),
                    new String(m.getBody(), StandardCharsets.UTF_8), label + ": body");
                assertEquals(TAG, m.getTags(), label + ": tag");
            }
            assertEquals(expect, read.nextOffset, "queue " + e.getKey() + ": end offset");
            total += read.messages.size();
            Compat.log("slave queue %d: offsets [%d, %d), %d messages", e.getKey(), read.firstOffset, read.nextOffset,
                read.messages.size());
        }
        long expected = 0;
        long missing = 0;
        String firstMissing = null;
        for (Map.Entry<String, SendResult> e : acked.entrySet()) {
            if (commitLogOffset(e.getValue()) < fromCommitLogOffset) {
                continue;
            }
            expected++;
            MessageExt got = byLabel.get(e.getKey());
            if (got == null) {
                missing++;
                if (firstMissing == null) {
                    firstMissing = e.getKey() + " " + e.getValue();
                }
                continue;
            }
            Compat.assertMatchesSendResult(e.getValue(), got);
        }
        Compat.log("slave serves %d messages; %d acknowledged sends at commit-log offset >= %d, %d of them missing;"
            + " %d messages on the slave whose send was not acknowledged", total, expected, fromCommitLogOffset,
            missing, byLabel.keySet().stream().filter(l -> !acked.containsKey(l)).count());
        assertEquals(0, missing, "acknowledged messages missing on the slave, e.g. " + firstMissing);
        assertTrue(expected > 0, "no acknowledged message to look for on the slave");
    }

    /**
     * The topic, created on the master (the client's createTopic sends UPDATE_AND_CREATE_TOPIC to masters); the
     * slave copies it with GET_ALL_TOPIC_CONFIG 21. A Java 5.3.3 slave does that only 60 s after it started
     * and every 60 s (BrokerController's slave sync task), so with RMQ_HA_CREATE_ON_SLAVE=1 the topic is
     * also created on the slave directly, as an operator would.
     */
    private static String createTopic(DefaultMQProducer producer) {
        String topic = Compat.unique("t_ha");
        try {
            producer.getDefaultMQProducerImpl().createTopic("TBW102", topic, QUEUES);
        } catch (Exception e) {
            fail("createTopic " + topic + ": " + e);
        }
        Compat.awaitRoute(producer, topic, QUEUES);
        return topic;
    }

    /**
     * A SYNC_MASTER answers SEND_OK only once a slave is connected and in sync (4.9.7 CommitLog.handleHA; before
     * that SLAVE_NOT_AVAILABLE, the message stored anyway). The slave registers with the name server before its
     * HA client has connected (a Java slave retries every 5 s), so the load waits for a SEND_OK on a probe
     * topic: then the slave copies the master from its first file.
     */
    private static void awaitSlaveInSync(DefaultMQProducer producer) {
        String probe = createTopic(producer);
        long t0 = System.nanoTime();
        Compat.await("a SEND_OK from the SYNC_MASTER (a slave connected and in sync)", () -> {
            try {
                Message message = new Message(probe, "probe".getBytes(StandardCharsets.UTF_8));
                if (producer.send(message).getSendStatus() == SendStatus.SEND_OK) {
                    return true;
                }
            } catch (Exception e) {
                // the next probe decides
            }
            Compat.sleep(200);
            return false;
        });
        Compat.log("the SYNC_MASTER answered SEND_OK %d ms after the slave had the topic",
            (System.nanoTime() - t0) / 1_000_000);
    }

    /** Waits for the slave's registration; creates the topic on it too when RMQ_HA_CREATE_ON_SLAVE=1. */
    private static void slaveReady(DefaultMQAdminExt admin, String slave, String topic) throws Exception {
        awaitRegistered(admin, slave);
        if ("1".equals(System.getenv("RMQ_HA_CREATE_ON_SLAVE"))) {
            admin.createAndUpdateTopicConfig(slave, new TopicConfig(topic, QUEUES, QUEUES, 6));
            Compat.log("topic %s also created on the slave %s", topic, slave);
        }
        // The slave serves the topic only once it has its config (from its slave sync, GET_ALL_TOPIC_CONFIG 21),
        // which must happen while the master is up.
        long t0 = System.nanoTime();
        Compat.await("topic " + topic + " in the slave's topic config", () -> {
            try {
                // var: TopicConfigSerializeWrapper moved packages between 4.x and 5.x.
                var all = admin.getAllTopicConfig(slave, 3_000);
                return all.getTopicConfigTable().containsKey(topic);
            } catch (Exception e) {
                return false;
            }
        });
        Compat.log("the slave has topic %s (%d ms after its registration)", topic, (System.nanoTime() - t0) / 1_000_000);
    }

    /** A push consumer on the master for the whole run: messages are consumed while replication runs. */
    private static DefaultMQPushConsumer startConsumer(String topic, Received received) throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(Compat.unique("cg_ha_live"), topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        return consumer;
    }

    private static void awaitConsumed(Received received, Load load) {
        Compat.await("live consumer received every acknowledged message",
            () -> received.messages().size() >= load.acked.size(),
            () -> received.messages().size() + " of " + load.acked.size());
        Set<String> labels = ConcurrentHashMap.newKeySet();
        received.messages().keySet().forEach(b -> labels.add(labelOf(b.getBytes(StandardCharsets.UTF_8))));
        long missing = load.acked.keySet().stream().filter(l -> !labels.contains(l)).count();
        Compat.log("live consumer on the master received %d messages, %d acknowledged ones not among them",
            received.messages().size(), missing);
        assertEquals(0, missing, "acknowledged messages the live consumer did not receive");
    }

    @Test
    @Timeout(value = 420, unit = TimeUnit.SECONDS)
    void replicationUnderLoad() throws Exception {
        String scenario = System.getenv("RMQ_HA_TEST");
        assumeTrue(scenario != null && !scenario.isBlank(), "RMQ_HA_TEST not set: replication test skipped");
        String master = env("RMQ_HA_MASTER_ADDR");
        String slave = env("RMQ_HA_SLAVE_ADDR");
        long messages = envLong("RMQ_HA_MESSAGES", 12_000);
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        Received received = new Received();
        DefaultMQPushConsumer live = null;
        try {
            awaitRegistered(admin, master);
            String topic = createTopic(producer);
            live = startConsumer(topic, received);
            Compat.log("scenario %s, master %s (%s), slave %s, %d messages of %d bytes to %s", scenario, master,
                Compat.brokerVersion(producer), slave, messages, BODY_BYTES, topic);
            switch (scenario) {
                case "replicate":
                    replicate(admin, producer, topic, received, master, slave, messages);
                    break;
                case "sync-kill":
                    syncKill(admin, producer, topic, master, slave, messages);
                    break;
                case "cut":
                    cut(admin, producer, topic, received, master, slave, messages);
                    break;
                default:
                    fail("unknown RMQ_HA_TEST scenario " + scenario);
            }
        } finally {
            if (live != null) {
                live.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }

    private static void compareCommitLogs(DefaultMQAdminExt admin, String master, String slave) throws Exception {
        long end = awaitCaughtUp(admin, master, slave);
        long slaveMin = runtimeOffset(admin, slave, "commitLogMinOffset");
        Compat.log("commit logs: master max %d, slave [%d, %d)", end, slaveMin, end);
        run("RMQ_HA_CMP_CMD", env("RMQ_HA_CMP_CMD") + " " + end);
    }

    private void replicate(DefaultMQAdminExt admin, DefaultMQProducer producer, String topic, Received received,
        String master, String slave, long messages) throws Exception {
        Load load = new Load(producer, topic, "rep");
        String startSlave = System.getenv("RMQ_HA_START_SLAVE_CMD");
        if (startSlave != null && !startSlave.isBlank()) {
            // Part of the load before the slave exists: the slave starts empty at the master's last file.
            load.start(messages / 3);
            load.finish();
            Compat.log("before the slave: %d acknowledged, master commit log at %d", load.acked.size(),
                runtimeOffset(admin, master, "commitLogMaxOffset"));
            run("RMQ_HA_START_SLAVE_CMD", startSlave);
            slaveReady(admin, slave, topic);
            // The rest of the load runs while the slave replicates: wait for its first bytes.
            Compat.await("the slave's first replicated bytes", () -> runtimeOffset(admin, slave,
                "commitLogMaxOffset") > 0);
            Compat.log("slave replicating: commit log [%d, %d)", runtimeOffset(admin, slave, "commitLogMinOffset"),
                runtimeOffset(admin, slave, "commitLogMaxOffset"));
        } else {
            slaveReady(admin, slave, topic);
        }
        long before = load.attempted.get();
        load.start(messages);
        load.finish();
        Compat.log("load: %d acknowledged, not ok %s; master max %d, slave max %d at the end of the load",
            load.acked.size(), load.notOk,
            runtimeOffset(admin, master, "commitLogMaxOffset"), runtimeOffset(admin, slave, "commitLogMaxOffset"));
        assertTrue(load.attempted.get() > before, "the load sent nothing while the slave replicated");
        awaitConsumed(received, load);
        compareCommitLogs(admin, master, slave);
        long slaveMin = runtimeOffset(admin, slave, "commitLogMinOffset");
        run("RMQ_HA_STOP_MASTER_CMD", env("RMQ_HA_STOP_MASTER_CMD"));
        checkSlaveHasAcked(admin, topic, load.acked, slaveMin);
    }

    private void syncKill(DefaultMQAdminExt admin, DefaultMQProducer producer, String topic, String master,
        String slave, long messages) throws Exception {
        slaveReady(admin, slave, topic);
        java.util.Properties config = admin.getBrokerConfig(master);
        Compat.log("master brokerRole=%s inSyncReplicas=%s", config.getProperty("brokerRole"),
            config.getProperty("inSyncReplicas"));
        assertEquals("SYNC_MASTER", config.getProperty("brokerRole"), "the master's brokerRole");
        awaitSlaveInSync(producer);
        Load load = new Load(producer, topic, "sync").start(Long.MAX_VALUE);
        load.awaitAcked(messages);
        long atKill = load.acked.size();
        run("RMQ_HA_STOP_MASTER_CMD", env("RMQ_HA_STOP_MASTER_CMD"));
        // Sends in flight at the kill fail; a few more attempts against the dead master fail too.
        load.awaitAttempted(load.attempted.get() + 2L * SENDERS);
        load.stop();
        long slaveMax = runtimeOffset(admin, slave, "commitLogMaxOffset");
        long slaveMin = runtimeOffset(admin, slave, "commitLogMinOffset");
        Compat.log("SIGKILL after %d acknowledged sends; in the end %d sends, %d acknowledged (highest acknowledged"
                + " commit-log offset %d), not ok %s; slave commit log [%d, %d)", atKill, load.attempted.get(),
            load.acked.size(), load.maxCommitLogOffset(), load.notOk, slaveMin, slaveMax);
        assertEquals(0, slaveMin, "the slave started with the empty master, at offset 0");
        run("RMQ_HA_CMP_CMD", env("RMQ_HA_CMP_CMD") + " " + slaveMax);
        checkSlaveHasAcked(admin, topic, load.acked, 0);
    }

    private void cut(DefaultMQAdminExt admin, DefaultMQProducer producer, String topic, Received received,
        String master, String slave, long messages) throws Exception {
        slaveReady(admin, slave, topic);
        Load load = new Load(producer, topic, "cut").start(Long.MAX_VALUE);
        load.awaitAttempted(messages / 3);
        long slaveAtCut = runtimeOffset(admin, slave, "commitLogMaxOffset");
        run("RMQ_HA_CUT_CMD", env("RMQ_HA_CUT_CMD"));
        long cutMs = envLong("RMQ_HA_CUT_MS", 8_000);
        long attemptedAtCut = load.attempted.get();
        Compat.sleep(cutMs);
        long masterAtHeal = runtimeOffset(admin, master, "commitLogMaxOffset");
        long slaveAtHeal = runtimeOffset(admin, slave, "commitLogMaxOffset");
        long attemptedAtHeal = load.attempted.get();
        run("RMQ_HA_HEAL_CMD", env("RMQ_HA_HEAL_CMD"));
        Compat.log("cut for %d ms: slave at %d when cut, %d when healed (master at %d); %d sends during the cut",
            cutMs, slaveAtCut, slaveAtHeal, masterAtHeal, attemptedAtHeal - attemptedAtCut);
        assertTrue(slaveAtHeal < masterAtHeal, "the slave fell behind while cut: slave " + slaveAtHeal
            + ", master " + masterAtHeal);
        // The load goes on after the heal while the slave reconnects and catches up.
        load.awaitAttempted(attemptedAtHeal + messages / 3);
        load.stop();
        Compat.log("load: %d acknowledged, not ok %s", load.acked.size(), load.notOk);
        awaitConsumed(received, load);
        compareCommitLogs(admin, master, slave);
        long slaveMin = runtimeOffset(admin, slave, "commitLogMinOffset");
        run("RMQ_HA_STOP_MASTER_CMD", env("RMQ_HA_STOP_MASTER_CMD"));
        checkSlaveHasAcked(admin, topic, load.acked, slaveMin);
    }
}
