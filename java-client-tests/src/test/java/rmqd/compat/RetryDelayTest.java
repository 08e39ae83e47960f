package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Consumption failures and scheduled messages: RECONSUME_LATER → CONSUMER_SEND_MSG_BACK → %RETRY%group with
 * delay levels → %DLQ%group after maxReconsumeTimes; delay levels (SCHEDULE_TOPIC_XXXX) delivered on time and
 * across a broker restart; 5.x timer messages (setDeliverTimeMs).
 *
 * <p>Delay levels are the broker's {@code messageDelayLevel}. Run both brokers with
 * {@code BROKER_EXTRA_CONF='messageDelayLevel=1s 2s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s'} and the same
 * list in env {@code RMQ_MESSAGE_DELAY_LEVEL} so the test knows it; without both the Java default list is
 * assumed (the retry test then takes about a minute).
 */
class RetryDelayTest {
    private static final String DEFAULT_LEVELS = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
    /** Retry, schedule and timer delivery are polled by both brokers about every 100 ms; clients pull at once. */
    private static final long LATE_SLACK_MS = 1_500;

    private DefaultMQProducer producer;
    private final List<Runnable> cleanup = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        producer = Compat.startProducer();
    }

    @AfterEach
    void stop() {
        cleanup.forEach(Runnable::run);
        if (producer != null) {
            producer.shutdown();
        }
    }

    /** Delay of a level in ms, from RMQ_MESSAGE_DELAY_LEVEL (as messageDelayLevel) or Java's default list. */
    static long delayMs(int level) {
        String env = System.getenv("RMQ_MESSAGE_DELAY_LEVEL");
        String[] levels = (env == null || env.isBlank() ? DEFAULT_LEVELS : env).trim().split("\\s+");
        String value = levels[Math.min(level, levels.length) - 1];
        long n = Long.parseLong(value.substring(0, value.length() - 1));
        switch (value.charAt(value.length() - 1)) {
            case 's': return n * 1_000;
            case 'm': return n * 60_000;
            case 'h': return n * 3_600_000;
            default: return n * 86_400_000;
        }
    }

    /** One delivery: the message and when the listener saw it. */
    static final class Delivery {
        private final MessageExt msg;
        private final long atMs;

        Delivery(MessageExt msg, long atMs) {
            this.msg = msg;
            this.atMs = atMs;
        }

        MessageExt msg() {
            return msg;
        }

        long atMs() {
            return atMs;
        }
    }

    /** A started push consumer that records every delivery and answers with the given status. */
    private List<Delivery> consume(String group, String topic, ConsumeConcurrentlyStatus status, int maxReconsume)
        throws Exception {
        List<Delivery> got = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        consumer.setMaxReconsumeTimes(maxReconsume);
        consumer.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently)
            (msgs, context) -> {
                long now = System.currentTimeMillis();
                msgs.forEach(m -> got.add(new Delivery(m, now)));
                return status;
            });
        consumer.start();
        cleanup.add(consumer::shutdown);
        return got;
    }

    @Test
    void reconsumeLaterRetriesThenDeadLetters() throws Exception {
        String topic = Compat.unique("t_retry");
        String group = Compat.unique("cg_retry");
        Message sent = Compat.message(topic, "TagR", 1);
        SendResult result = producer.send(sent);
        Compat.assertSendOk(result);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

        List<Delivery> got = consume(group, topic, ConsumeConcurrentlyStatus.RECONSUME_LATER, 2);
        // Delivery n (n = 0, 1, 2) carries reconsumeTimes n; retry n waits delay level 3 + (n - 1).
        long retryWait = delayMs(3) + delayMs(4) + Compat.WAIT_MS;
        awaitSize(got, 3, retryWait, "original delivery and two retries");
        for (int i = 0; i < 3; i++) {
            MessageExt m = got.get(i).msg();
            assertEquals(Compat.bodyOf(sent), Compat.bodyOf(m), "delivery " + i + ": body");
            assertEquals(topic, m.getTopic(), "delivery " + i + ": the client restores the topic");
            assertEquals("TagR", m.getTags(), "delivery " + i + ": tag");
            assertEquals(sent.getUserProperty("greeting"), m.getUserProperty("greeting"), "delivery " + i);
            assertEquals(i, m.getReconsumeTimes(), "delivery " + i + ": reconsume times");
            assertEquals(result.getMsgId(), m.getMsgId(), "delivery " + i + ": msgId (UNIQ_KEY) kept");
        }
        for (int i = 1; i < 3; i++) {
            long gap = got.get(i).atMs() - got.get(i - 1).atMs();
            assertTrue(gap >= delayMs(2 + i) - 100, "retry " + i + " came after " + gap + " ms, before its delay");
        }

        // After maxReconsumeTimes the third failure goes to %DLQ%group, not to the consumer again.
        Compat.awaitRoute(producer, "%DLQ%" + group, 1);
        List<Delivery> dead = consume(Compat.unique("cg_dlq"), "%DLQ%" + group,
            ConsumeConcurrentlyStatus.CONSUME_SUCCESS, 16);
        awaitSize(dead, 1, Compat.WAIT_MS, "DLQ message");
        MessageExt d = dead.get(0).msg();
        assertEquals(Compat.bodyOf(sent), Compat.bodyOf(d), "DLQ body");
        assertEquals("%DLQ%" + group, d.getTopic(), "DLQ topic");
        assertEquals(3, d.getReconsumeTimes(), "DLQ reconsume times");
        assertEquals(topic, d.getProperty("RETRY_TOPIC"), "DLQ RETRY_TOPIC");
        assertEquals(result.getMsgId(), d.getMsgId(), "DLQ msgId (UNIQ_KEY)");
        assertTrue(d.getProperty("ORIGIN_MESSAGE_ID") != null, "DLQ ORIGIN_MESSAGE_ID");
        Compat.sleep(Compat.QUIET_MS);
        assertEquals(3, got.size(), "no delivery after the message went to the DLQ");
        assertEquals(1, dead.size(), "one DLQ message");
    }

    @Test
    void delayLevelTwoIsDeliveredOnTime() throws Exception {
        String topic = Compat.unique("t_delay");
        List<Delivery> got = consume(Compat.unique("cg_delay"), topic, ConsumeConcurrentlyStatus.CONSUME_SUCCESS, 16);
        producer.send(Compat.message(topic, "Warm", 0));
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        awaitSize(got, 1, Compat.WAIT_MS, "warm-up message");

        Message msg = Compat.message(topic, "TagD", 1);
        msg.setDelayTimeLevel(2);
        long before = System.currentTimeMillis();
        SendResult result = producer.send(msg);
        long after = System.currentTimeMillis();
        Compat.assertSendOk(result);
        awaitSize(got, 2, delayMs(2) + Compat.WAIT_MS, "delayed message");
        Delivery d = got.get(1);
        Compat.assertSameContent(msg, d.msg());
        assertEquals(result.getMsgId(), d.msg().getMsgId(), "msgId (UNIQ_KEY)");
        assertEquals(result.getMessageQueue().getQueueId(), d.msg().getQueueId(), "delivered to the queue sent to");
        long delay = delayMs(2);
        assertTrue(d.atMs() - before >= delay, "delivered " + (d.atMs() - before) + " ms after the send, delay " + delay);
        assertTrue(d.msg().getStoreTimestamp() - d.msg().getBornTimestamp() >= delay, "stored before its delay");
        assertTrue(d.atMs() - after <= delay + LATE_SLACK_MS,
            "delivered " + (d.atMs() - after) + " ms after the send, delay " + delay);
        Compat.sleep(Compat.QUIET_MS);
        assertEquals(2, got.size(), "delivered once");
    }

    @Test
    void delayedMessagesSurviveBrokerRestart() throws Exception {
        String restart = Compat.restartCommandOrSkip();
        String topic = Compat.unique("t_delay_restart");
        String group = Compat.unique("cg_delay_restart");
        List<Delivery> got = consume(group, topic, ConsumeConcurrentlyStatus.CONSUME_SUCCESS, 16);
        Message early = Compat.message(topic, "TagE", 1);
        early.setDelayTimeLevel(1);
        Compat.assertSendOk(producer.send(early));
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        awaitSize(got, 1, delayMs(1) + Compat.WAIT_MS, "message delivered before the restart");
        cleanup.forEach(Runnable::run); // the consumer commits its offsets on shutdown
        cleanup.clear();

        List<Message> pending = new ArrayList<>();
        for (int i = 2; i < 6; i++) {
            Message m = Compat.message(topic, "TagP", i);
            m.setDelayTimeLevel(2);
            Compat.assertSendOk(producer.send(m));
            pending.add(m);
        }
        producer.shutdown();
        producer = null;
        Compat.restartBroker(restart);

        producer = Compat.startProducer();
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        List<Delivery> after = consume(group, topic, ConsumeConcurrentlyStatus.CONSUME_SUCCESS, 16);
        awaitSize(after, pending.size(), delayMs(2) + Compat.WAIT_MS, "delayed messages after the restart");
        Compat.sleep(Compat.QUIET_MS);
        Map<String, Integer> count = new ConcurrentHashMap<>();
        after.forEach(d -> count.merge(Compat.bodyOf(d.msg()), 1, Integer::sum));
        for (Message m : pending) {
            assertEquals(1, count.getOrDefault(Compat.bodyOf(m), 0), Compat.bodyOf(m) + " delivered once");
        }
        assertEquals(pending.size(), after.size(), "nothing else delivered (the early message not again): "
            + count.keySet());
    }

    @Test
    void timerMessageIsDeliveredAtItsTime() throws Exception {
        Method setDeliverTimeMs;
        try {
            setDeliverTimeMs = Message.class.getMethod("setDeliverTimeMs", long.class);
        } catch (NoSuchMethodException e) {
            assumeTrue(false, "client " + Compat.clientVersion() + " has no timer messages (5.x only)");
            return;
        }
        String broker = Compat.brokerVersion(producer);
        assumeFalse(broker.startsWith("V4_"), "broker " + broker + " has no timer messages (5.x only)");
        String topic = Compat.unique("t_timer");
        List<Delivery> got = consume(Compat.unique("cg_timer"), topic, ConsumeConcurrentlyStatus.CONSUME_SUCCESS, 16);
        producer.send(Compat.message(topic, "Warm", 0));
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        awaitSize(got, 1, Compat.WAIT_MS, "warm-up message");

        Message msg = Compat.message(topic, "TagT", 1);
        long deliverAt = System.currentTimeMillis() + 3_000;
        setDeliverTimeMs.invoke(msg, deliverAt);
        SendResult result = producer.send(msg);
        Compat.assertSendOk(result);
        awaitSize(got, 2, 3_000 + Compat.WAIT_MS, "timer message");
        Delivery d = got.get(1);
        Compat.assertSameContent(msg, d.msg());
        assertEquals(result.getMsgId(), d.msg().getMsgId(), "msgId (UNIQ_KEY)");
        assertTrue(d.atMs() >= deliverAt, "delivered " + (deliverAt - d.atMs()) + " ms early");
        assertTrue(d.atMs() <= deliverAt + LATE_SLACK_MS, "delivered " + (d.atMs() - deliverAt) + " ms late");
        Compat.sleep(Compat.QUIET_MS);
        assertEquals(2, got.size(), "delivered once");
    }

    private static void awaitSize(List<Delivery> got, int n, long timeoutMs, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (got.size() < n) {
            assertTrue(System.nanoTime() < deadline, "timed out after " + timeoutMs + " ms waiting for " + what
                + " (got " + got.size() + " of " + n + ")");
            Compat.sleep(20);
        }
    }

}
