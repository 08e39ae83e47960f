package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Store-directory migration: messages, queue offsets and committed consumer offsets written by one broker kind
 * are served unchanged by the other kind started on the same store (Java broker to rmqd and back).
 *
 * <p>Runs only when RMQ_SWITCH_CMD is set: a shell command that stops the running broker and starts the other
 * kind on the same store and ports (scripts/store-switch.sh). To cross commit-log and consume-queue file
 * boundaries with little data, run both brokers with small mapped files (BROKER_EXTRA_CONF
 * mappedFileSizeCommitLog=1048576, mappedFileSizeConsumeQueue=6000): topic A then spans three commit-log
 * files and each queue of topic B two consume-queue files.
 */
class StoreMigrationTest {
    /** Bodies of topic A; the producer's compression threshold is raised above it so they are stored as is. */
    private static final int BIG_BODY_BYTES = 8_000;
    /** One message of topic C above the compression threshold, so a compressed record crosses the switch. */
    private static final int COMPRESSED_BODY_BYTES = 100 * 1024;
    private static final int COMPRESS_OVER_BYTES = 64 * 1024;
    /** Share of each topic's messages that group G consumes (and commits) before the switch. */
    private static final double CONSUMED_SHARE = 0.6;
    /** Every key query is checked for this many messages per topic, spread over the whole topic. */
    private static final int KEY_QUERIES_PER_TOPIC = 24;

    /**
     * A topic of the scenario: queue count, message count, body size (0 = Compat's short body), whether it is
     * created explicitly (else auto-created by the first send) and whether its last message is compressed.
     */
    private static final class Plan {
        final String topic;
        final int queues;
        final int count;
        final int bodyBytes;
        final boolean created;
        final boolean compressedLast;

        Plan(String prefix, int queues, int count, int bodyBytes, boolean created, boolean compressedLast) {
            this.topic = Compat.unique(prefix);
            this.queues = queues;
            this.count = count;
            this.bodyBytes = bodyBytes;
            this.created = created;
            this.compressedLast = compressedLast;
        }
    }

    /** A message as sent, with where the broker said it put it. */
    private static final class Sent {
        final Message msg;
        final SendResult result;

        Sent(Message msg, SendResult result) {
            this.msg = msg;
            this.result = result;
        }

        String body() {
            return Compat.bodyOf(msg);
        }

        String label() {
            return Compat.label(body());
        }
    }

    private static Message message(Plan plan, int i) {
        Message msg = Compat.message(plan.topic, "Tag" + (i % 3), i);
        int size = plan.bodyBytes;
        if (plan.compressedLast && i == plan.count - 1) {
            size = COMPRESSED_BODY_BYTES;
        }
        if (size > 0) {
            // Unique prefix (Received keys by body), then deterministic hex filler up to the size.
            StringBuilder text = new StringBuilder(Compat.bodyOf(msg)).append('|');
            long x = i * 0x9E3779B97F4A7C15L + plan.topic.hashCode();
            while (text.length() < size) {
                x = x * 6364136223846793005L + 1442695040888963407L;
                text.append(Long.toHexString(x));
            }
            text.setLength(size);
            msg.setBody(text.toString().getBytes(StandardCharsets.UTF_8));
        }
        return msg;
    }

    /** Sends messages [from, to) of every plan, interleaved in a fixed pseudo-random order. */
    private static List<Sent> send(DefaultMQProducer producer, List<Plan> plans, double from, double to, long seed)
        throws Exception {
        List<Message> batch = new ArrayList<>();
        for (Plan plan : plans) {
            for (int i = (int) (plan.count * from); i < (int) (plan.count * to); i++) {
                batch.add(message(plan, i));
            }
        }
        Collections.shuffle(batch, new Random(seed));
        List<Sent> sent = new ArrayList<>();
        for (Message msg : batch) {
            SendResult result = producer.send(msg);
            Compat.assertSendOk(result);
            sent.add(new Sent(msg, result));
        }
        return sent;
    }

    private static Map<MessageQueue, Long> nextOffsets(Collection<Sent> sent) {
        Map<MessageQueue, Long> next = new HashMap<>();
        for (Sent s : sent) {
            next.merge(s.result.getMessageQueue(), s.result.getQueueOffset() + 1, Math::max);
        }
        return next;
    }

    private static long commitLogOffset(Sent s) {
        String id = s.result.getOffsetMsgId();
        return Long.parseUnsignedLong(id.substring(id.length() - 16), 16);
    }

    /**
     * A push consumer of group on every plan's topic; waits for exactly the expected messages, checks each
     * against its send result, waits until the client's offsets cover them, then shuts down (which commits).
     */
    private static void consumeExactly(String group, List<Plan> plans, List<Sent> expected) throws Exception {
        Received received = new Received();
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, plans.get(0).topic, "*");
        // 5.x clients bump the subscription version on rebalance and announce it in a heartbeat that is skipped
        // when another heartbeat holds the lock ("lock heartBeat, but failed"); a Java broker then answers
        // SUBSCRIPTION_NOT_LATEST until the next heartbeat, 30 s later by default.
        consumer.setHeartbeatBrokerInterval(2_000);
        for (Plan plan : plans.subList(1, plans.size())) {
            consumer.subscribe(plan.topic, "*");
        }
        consumer.registerMessageListener(received.listener());
        consumer.start();
        try {
            List<String> bodies = new ArrayList<>();
            expected.forEach(s -> bodies.add(s.body()));
            received.awaitExactly(bodies, "group " + group);
            for (Sent s : expected) {
                MessageExt got = received.messages().get(s.body());
                Compat.assertSameContent(s.msg, got);
                Compat.assertMatchesSendResult(s.result, got);
            }
            Map<MessageQueue, Long> next = nextOffsets(expected);
            Compat.await("consume offsets of " + group + " " + new TreeMap<>(next), () -> next.entrySet().stream()
                .allMatch(e -> consumer.getOffsetStore().readOffset(e.getKey(), ReadOffsetType.READ_FROM_MEMORY)
                    == e.getValue()));
        } finally {
            consumer.shutdown();
        }
    }

    /** The offsets the broker holds for group (QUERY_CONSUMER_OFFSET), for each of the queues. */
    private static Map<MessageQueue, Long> committedOffsets(String group, Collection<MessageQueue> queues)
        throws Exception {
        DefaultLitePullConsumer reader = Compat.offsetReader(group);
        try {
            Map<MessageQueue, Long> committed = new TreeMap<>();
            for (MessageQueue mq : queues) {
                committed.put(mq, reader.committed(mq));
            }
            return committed;
        } finally {
            reader.shutdown();
        }
    }

    private static void runSwitch(String command) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("bash", "-c", command).inheritIO().start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "RMQ_SWITCH_CMD did not finish in 180 s: " + command);
        assertEquals(0, p.exitValue(), "RMQ_SWITCH_CMD failed: " + command);
        Compat.log("broker switch took %d ms", (System.nanoTime() - t0) / 1_000_000);
    }

    /** VIEW_MESSAGE_BY_ID: every old message, by the offsetMsgId its send returned. */
    private static void viewEveryMessageByOffsetId(DefaultMQProducer producer, List<Sent> all) throws Exception {
        for (Sent s : all) {
            MessageExt got = producer.viewMessage(s.msg.getTopic(), s.result.getOffsetMsgId());
            assertNotNull(got, s.label() + ": viewMessage(" + s.result.getOffsetMsgId() + ")");
            Compat.assertSameContent(s.msg, got);
            Compat.assertMatchesSendResult(s.result, got);
        }
    }

    /** Messages spread over each topic (first, last and evenly between), for the index queries. */
    private static List<Sent> sample(List<Plan> plans, List<Sent> all) {
        List<Sent> picked = new ArrayList<>();
        for (Plan plan : plans) {
            List<Sent> ofTopic = new ArrayList<>();
            all.stream().filter(s -> s.msg.getTopic().equals(plan.topic)).forEach(ofTopic::add);
            Set<Integer> at = new LinkedHashSet<>();
            for (int k = 0; k < KEY_QUERIES_PER_TOPIC; k++) {
                at.add((int) ((long) k * (ofTopic.size() - 1) / (KEY_QUERIES_PER_TOPIC - 1)));
            }
            at.forEach(i -> picked.add(ofTopic.get(i)));
        }
        return picked;
    }

    /** QUERY_MESSAGE by key through the index: exactly the one message with that key. */
    private static void queryByKey(DefaultMQProducer producer, List<Sent> sample, long begin) throws Exception {
        long end = System.currentTimeMillis() + 60_000;
        for (Sent s : sample) {
            QueryResult result = producer.queryMessage(s.msg.getTopic(), s.msg.getKeys(), 32, begin, end);
            List<MessageExt> found = result.getMessageList();
            assertEquals(1, found.size(), s.label() + ": messages found by key " + s.msg.getKeys());
            Compat.assertSameContent(s.msg, found.get(0));
            Compat.assertMatchesSendResult(s.result, found.get(0));
        }
    }

    /** viewMessage(topic, UNIQ_KEY): the client's query by unique key (QUERY_MESSAGE with uniqueKeyFlag). */
    private static void queryByUniqueKey(DefaultMQProducer producer, List<Sent> sample) throws Exception {
        for (Sent s : sample) {
            MessageExt got = producer.viewMessage(s.msg.getTopic(), s.result.getMsgId());
            assertNotNull(got, s.label() + ": query by UNIQ_KEY " + s.result.getMsgId());
            Compat.assertSameContent(s.msg, got);
            Compat.assertMatchesSendResult(s.result, got);
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void storeWrittenByOneBrokerKindIsServedByTheOther() throws Exception {
        String switchCmd = System.getenv("RMQ_SWITCH_CMD");
        assumeTrue(switchCmd != null && !switchCmd.isBlank(), "RMQ_SWITCH_CMD not set: store migration test skipped");
        long begin = System.currentTimeMillis() - 60_000;
        List<Plan> plans = List.of(
            new Plan("t_migA", 4, 320, BIG_BODY_BYTES, true, false), // ~2.6 MB: three 1 MiB commit-log files
            new Plan("t_migB", 2, 640, 0, true, false),              // 320 per queue: two 300-entry CQ files
            new Plan("t_migC", Compat.AUTO_TOPIC_QUEUES, 40, 0, false, true));
        String group = Compat.unique("cg_mig");

        List<Sent> consumed;
        List<Sent> pending;
        String brokerBefore;
        Map<MessageQueue, Long> committedBefore;
        DefaultMQProducer producer = Compat.startProducer();
        try {
            producer.setCompressMsgBodyOverHowmuch(COMPRESS_OVER_BYTES);
            brokerBefore = Compat.brokerVersion(producer);
            for (Plan plan : plans) {
                if (plan.created) {
                    producer.getDefaultMQProducerImpl().createTopic("TBW102", plan.topic, plan.queues);
                    Compat.awaitRoute(producer, plan.topic, plan.queues);
                }
            }
            long t0 = System.nanoTime();
            consumed = send(producer, plans, 0, CONSUMED_SHARE, 1);
            consumeExactly(group, plans, consumed);
            pending = send(producer, plans, CONSUMED_SHARE, 1, 2);
            Compat.log("sent %d + %d messages up to commit-log offset %d, consumed the first part, in %d ms",
                consumed.size(), pending.size(), pending.stream().mapToLong(StoreMigrationTest::commitLogOffset)
                    .max().orElse(-1), (System.nanoTime() - t0) / 1_000_000);
            Map<MessageQueue, Long> expected = nextOffsets(consumed);
            assertEquals(4 + 2 + Compat.AUTO_TOPIC_QUEUES, expected.size(), "queues group G consumed from");
            committedBefore = committedOffsets(group, expected.keySet());
            assertEquals(new TreeMap<>(expected), committedBefore, "offsets of G committed before the switch");
        } finally {
            producer.shutdown();
        }

        runSwitch(switchCmd);

        producer = Compat.startProducer();
        try {
            producer.setCompressMsgBodyOverHowmuch(COMPRESS_OVER_BYTES);
            for (Plan plan : plans) {
                Compat.awaitRoute(producer, plan.topic, plan.queues);
            }
            // After the routes: a Java broker answers GET_BROKER_RUNTIME_INFO only once its stats have ticked.
            Compat.log("switched broker %s -> %s", brokerBefore, Compat.brokerVersion(producer));
            assertEquals(committedBefore, committedOffsets(group, committedBefore.keySet()),
                "offsets of G after the switch (config/consumerOffset.json)");

            List<Sent> old = new ArrayList<>(consumed);
            old.addAll(pending);
            // Two more per queue: every queue continues exactly where it ended, none reused or skipped.
            List<Sent> after = new ArrayList<>();
            for (Plan plan : plans) {
                for (int i = 0; i < 2 * plan.queues; i++) {
                    Message msg = Compat.message(plan.topic, "TagAfter", plan.count + i);
                    SendResult result = producer.send(msg);
                    Compat.assertSendOk(result);
                    after.add(new Sent(msg, result));
                }
            }
            Map<MessageQueue, Long> nextBefore = nextOffsets(old);
            Map<MessageQueue, Long> firstAfter = new TreeMap<>();
            after.forEach(s -> firstAfter.merge(s.result.getMessageQueue(), s.result.getQueueOffset(), Math::min));
            firstAfter.forEach((mq, offset) ->
                assertEquals(nextBefore.get(mq), offset, "first queue offset after the switch in " + mq));
            long lastOld = old.stream().mapToLong(StoreMigrationTest::commitLogOffset).max().orElse(-1);
            after.forEach(s -> assertTrue(commitLogOffset(s) > lastOld,
                s.label() + ": commit-log offset " + commitLogOffset(s) + " after the old end " + lastOld));

            List<Sent> rest = new ArrayList<>(pending);
            rest.addAll(after);
            List<Sent> everything = new ArrayList<>(old);
            everything.addAll(after);
            List<Sent> picked = sample(plans, old);
            DefaultMQProducer p = producer;
            // Independent checks: report every one that fails, not only the first.
            assertAll(
                (Executable) () -> viewEveryMessageByOffsetId(p, old),
                () -> consumeExactly(group, plans, rest),
                () -> consumeExactly(Compat.unique("cg_all"), plans, everything),
                () -> queryByUniqueKey(p, picked),
                () -> queryByKey(p, picked, begin));
        } finally {
            producer.shutdown();
        }
    }
}
