package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Orderly consumption (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ): messages sent to a queue chosen by a selector are
 * consumed in send order per queue, also while a second consumer of the group joins and leaves again.
 */
class OrderTest {
    /** Ownership changes a queue may see while one consumer joins and leaves: a few, never an interleaving. */
    private static final int MAX_RUNS_PER_QUEUE = 6;

    private DefaultMQProducer producer;
    private final List<Runnable> cleanup = new ArrayList<>();
    /** Per queue: the next sequence number to send there. */
    private final Map<Integer, Integer> nextSeq = new HashMap<>();

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

    /** One consumption, in the order the listeners ran. */
    private static final class Consumed {
        private final String consumer;
        private final int queueId;
        private final int seq;

        Consumed(String consumer, int queueId, int seq) {
            this.consumer = consumer;
            this.queueId = queueId;
            this.seq = seq;
        }

        String consumer() {
            return consumer;
        }

        int queueId() {
            return queueId;
        }

        int seq() {
            return seq;
        }
    }

    /** Everything every orderly listener of the test consumed, in one time-ordered log. */
    private final List<Consumed> log = new ArrayList<>();

    private DefaultMQPushConsumer startOrderly(String group, String topic, String name) throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.registerMessageListener((MessageListenerOrderly) (msgs, context) -> {
            for (MessageExt msg : msgs) {
                synchronized (log) {
                    log.add(new Consumed(name, msg.getQueueId(), Integer.parseInt(msg.getUserProperty("qseq"))));
                }
            }
            Compat.sleep(3); // keep queues busy so a rebalance lands mid-consumption
            return ConsumeOrderlyStatus.SUCCESS;
        });
        consumer.start();
        return consumer;
    }

    /** Sends one message to queue (orderKey % queues) through a MessageQueueSelector. */
    private void sendOrdered(String topic, int orderKey) throws Exception {
        int queue = orderKey % Compat.AUTO_TOPIC_QUEUES;
        int seq = nextSeq.merge(queue, 1, Integer::sum) - 1;
        Message msg = Compat.message(topic, "TagA", queue * 100_000 + seq);
        msg.putUserProperty("qseq", Integer.toString(seq));
        MessageQueueSelector byKey = (mqs, m, arg) -> mqs.get((Integer) arg % mqs.size());
        SendResult result = producer.send(msg, byKey, orderKey);
        Compat.assertSendOk(result);
        assertTrue(result.getMessageQueue().getQueueId() == queue, () -> "selector queue in " + result);
    }

    private int consumedBy(String name) {
        synchronized (log) {
            return (int) log.stream().filter(c -> c.consumer().equals(name)).count();
        }
    }

    /** All sequence numbers of every queue were consumed. */
    private boolean complete() {
        synchronized (log) {
            for (Map.Entry<Integer, Integer> e : nextSeq.entrySet()) {
                long distinct = log.stream().filter(c -> c.queueId() == e.getKey()).mapToInt(Consumed::seq)
                    .distinct().count();
                if (distinct < e.getValue()) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Per queue the log is a few runs, each by one consumer and each contiguous (seq, seq+1, ...). A run may
     * start again at an earlier seq (a new owner re-consumes what the old one had not committed) but never
     * skips ahead: nothing is consumed before its predecessor.
     */
    private void assertOrderPerQueue() {
        synchronized (log) {
            for (int queue : nextSeq.keySet()) {
                int maxSeen = -1;
                int prev = -1;
                String owner = null;
                int runs = 0;
                StringBuilder trace = new StringBuilder();
                for (Consumed c : log) {
                    if (c.queueId() != queue) {
                        continue;
                    }
                    trace.append(c.consumer()).append(':').append(c.seq()).append(' ');
                    boolean newRun = !c.consumer().equals(owner) || c.seq() != prev + 1;
                    if (newRun) {
                        runs++;
                        owner = c.consumer();
                    }
                    assertTrue(c.seq() <= maxSeen + 1,
                        "queue " + queue + ": seq " + c.seq() + " consumed before " + (maxSeen + 1) + ": " + trace);
                    maxSeen = Math.max(maxSeen, c.seq());
                    prev = c.seq();
                }
                final int queueRuns = runs;
                assertTrue(queueRuns <= MAX_RUNS_PER_QUEUE,
                    () -> "queue " + queue + " consumed in " + queueRuns + " runs (interleaved?): " + trace);
            }
        }
    }

    @Test
    void orderlyConsumerSeesEachQueueInSendOrder() throws Exception {
        String topic = Compat.unique("t_order");
        String group = Compat.unique("cg_order");
        sendOrdered(topic, 0);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        DefaultMQPushConsumer consumer = startOrderly(group, topic, "A");
        cleanup.add(consumer::shutdown);
        for (int i = 1; i < 120; i++) {
            sendOrdered(topic, i);
        }
        Compat.await("every message of every queue", this::complete, () -> "(consumed " + log.size() + ")");
        Compat.sleep(Compat.QUIET_MS);
        assertOrderPerQueue();
        synchronized (log) {
            assertTrue(log.size() == 120, "each message consumed once by a single consumer, got " + log.size());
        }
    }

    @Test
    void orderHoldsWhileASecondConsumerJoinsAndLeaves() throws Exception {
        String topic = Compat.unique("t_order2");
        String group = Compat.unique("cg_order2");
        sendOrdered(topic, 0);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        DefaultMQPushConsumer first = startOrderly(group, topic, "A");
        cleanup.add(first::shutdown);
        int key = 1;
        for (; key < 40; key++) {
            sendOrdered(topic, key);
        }
        DefaultMQPushConsumer second = startOrderly(group, topic, "B");
        // Keep sending until the newcomer has taken queues over and consumed some of them.
        long deadline = System.currentTimeMillis() + Compat.WAIT_MS;
        while (consumedBy("B") < 10) {
            assertTrue(System.currentTimeMillis() < deadline, "second consumer never consumed anything");
            sendOrdered(topic, key++);
            Compat.sleep(20);
        }
        second.shutdown();
        for (int end = key + 40; key < end; key++) {
            sendOrdered(topic, key);
        }
        Compat.await("every message of every queue", this::complete, () -> "(consumed " + log.size() + ")");
        Compat.sleep(Compat.QUIET_MS);
        assertOrderPerQueue();
        Compat.log("order test: %d sends, %d consumptions (A %d, B %d)", key, log.size(), consumedBy("A"),
            consumedBy("B"));
    }
}
