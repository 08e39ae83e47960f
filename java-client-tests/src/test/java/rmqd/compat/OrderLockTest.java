package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Orderly consumers hand their queue locks over when one of them shuts down: the client sends UNLOCK_BATCH_MQ
 * (42) for every queue it holds before UNREGISTER_CLIENT (35), the broker tells the rest of the group
 * (NOTIFY_CONSUMER_IDS_CHANGED, 40) and their LOCK_BATCH_MQ (41) for the freed queues succeeds at once, not
 * only when the broker's 60 s lock expiry (rocketmq.broker.rebalance.lockMaxLiveTime) has passed.
 *
 * <p>Two members shutting down at the same time are not tested here: the notification of one reaches the other
 * mid-shutdown, whose rebalance then locks queues after its UNLOCK_BATCH_MQ and even after its UNREGISTER_CLIENT,
 * and the Java brokers keep those locks until they expire. rmqd releases them at UNREGISTER_CLIENT and refuses
 * later ones; {@code tests/order_locks.rs} replays that exchange.
 */
class OrderLockTest {
    private static final int QUEUES = 8;
    private static final int MESSAGES_PER_QUEUE = 5;
    /**
     * Functional bound from the shutdown until the other consumers have consumed from every queue: well below
     * the broker's 60 s lock expiry. The notified consumers lock the freed queues on the rebalance the
     * notification triggers (a lock refused there is only retried at the next 20 s rebalance).
     */
    private static final long TAKEOVER_MS = 20_000;
    /** Three consumers settling on disjoint locked shares, including lock retries at the 20 s rebalance tick. */
    private static final long SETTLE_MS = 90_000;

    private DefaultMQProducer producer;
    private final List<Member> running = new ArrayList<>();

    /** A started consumer and the name its listener logs consumptions under. */
    private static final class Member {
        final String name;
        final DefaultMQPushConsumer consumer;

        Member(String name, DefaultMQPushConsumer consumer) {
            this.name = name;
            this.consumer = consumer;
        }
    }

    /** One consumption: which consumer, which queue, which phase ("before"/"after" the shutdown), which seq. */
    private static final class Consumed {
        final String consumer;
        final int queueId;
        final String phase;
        final int seq;

        Consumed(String consumer, int queueId, String phase, int seq) {
            this.consumer = consumer;
            this.queueId = queueId;
            this.phase = phase;
            this.seq = seq;
        }

        @Override
        public String toString() {
            return consumer + ":q" + queueId + ":" + phase + ":" + seq;
        }
    }

    private final List<Consumed> log = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        producer = Compat.startProducer();
    }

    @AfterEach
    void stop() {
        running.forEach(m -> m.consumer.shutdown());
        if (producer != null) {
            producer.shutdown();
        }
    }

    private Member startOrderly(String group, String topic, String name) throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.registerMessageListener((MessageListenerOrderly) (msgs, context) -> {
            for (MessageExt msg : msgs) {
                synchronized (log) {
                    log.add(new Consumed(name, msg.getQueueId(), msg.getUserProperty("phase"),
                        Integer.parseInt(msg.getUserProperty("qseq"))));
                }
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        consumer.start();
        Member member = new Member(name, consumer);
        running.add(member);
        return member;
    }

    /** Queues of topic in the consumer's rebalance table that are neither dropped nor without their lock. */
    private static Set<Integer> lockedQueues(DefaultMQPushConsumer consumer, String topic) {
        Set<Integer> locked = new TreeSet<>();
        Map<MessageQueue, ProcessQueue> table =
            consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable();
        table.forEach((mq, pq) -> {
            if (mq.getTopic().equals(topic) && !pq.isDropped() && pq.isLocked()) {
                locked.add(mq.getQueueId());
            }
        });
        return locked;
    }

    /** Every queue is locked by exactly one of the consumers. */
    private static boolean ownedByExactlyOne(List<Member> members, String topic) {
        Set<Integer> union = new HashSet<>();
        int total = 0;
        for (Member m : members) {
            Set<Integer> locked = lockedQueues(m.consumer, topic);
            if (locked.isEmpty()) {
                return false;
            }
            union.addAll(locked);
            total += locked.size();
        }
        return union.size() == QUEUES && total == QUEUES;
    }

    private String ownership(String topic) {
        StringBuilder s = new StringBuilder();
        running.forEach(m -> s.append(m.name).append('=').append(lockedQueues(m.consumer, topic)).append(' '));
        return s.toString().trim();
    }

    private void sendToEveryQueue(List<MessageQueue> mqs, String phase, int perQueue) throws Exception {
        for (int seq = 0; seq < perQueue; seq++) {
            for (MessageQueue mq : mqs) {
                Message msg = Compat.message(mq.getTopic(), "TagA", mq.getQueueId() * 1_000 + seq);
                msg.putUserProperty("phase", phase);
                msg.putUserProperty("qseq", Integer.toString(seq));
                Compat.assertSendOk(producer.send(msg, mq));
            }
        }
    }

    /** Per queue, the seqs of the phase in the order they were consumed, and by whom. */
    private Map<Integer, List<String>> consumedPerQueue(String phase) {
        Map<Integer, List<String>> perQueue = new TreeMap<>();
        synchronized (log) {
            for (Consumed c : log) {
                if (phase.equals(c.phase)) {
                    perQueue.computeIfAbsent(c.queueId, q -> new ArrayList<>()).add(c.consumer + ":" + c.seq);
                }
            }
        }
        return perQueue;
    }

    /** Every seq 0..perQueue-1 of the phase was consumed on every queue. */
    private boolean allConsumed(String phase, int perQueue) {
        synchronized (log) {
            Map<Integer, Set<Integer>> seqs = new TreeMap<>();
            for (Consumed c : log) {
                if (phase.equals(c.phase)) {
                    seqs.computeIfAbsent(c.queueId, q -> new HashSet<>()).add(c.seq);
                }
            }
            return seqs.size() == QUEUES && seqs.values().stream().allMatch(s -> s.size() == perQueue);
        }
    }

    private static void awaitWithin(long boundMs, String what, BooleanSupplier condition, Supplier<String> state) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(boundMs);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + boundMs + " ms: " + what + " " + state.get());
            }
            Compat.sleep(20);
        }
    }

    @Test
    void queuesOfAConsumerThatShutsDownAreTakenOverAtOnce() throws Exception {
        String topic = Compat.unique("t_lock");
        String group = Compat.unique("cg_lock");
        producer.getDefaultMQProducerImpl().createTopic("TBW102", topic, QUEUES);
        List<MessageQueue> mqs = Compat.awaitRoute(producer, topic, QUEUES);

        // Client id -> consumer, sorted as the clients sort the group's ids before allocating queues.
        Map<String, Member> byClientId = new TreeMap<>();
        for (String name : new String[] {"A", "B", "C"}) {
            Member member = startOrderly(group, topic, name);
            byClientId.put(member.consumer.buildMQClientId(), member);
        }
        long t0 = System.nanoTime();
        awaitWithin(SETTLE_MS, "every queue locked by exactly one of three consumers",
            () -> ownedByExactlyOne(running, topic), () -> ownership(topic));
        Compat.log("order lock test: three consumers settled after %d ms: %s",
            (System.nanoTime() - t0) / 1_000_000, ownership(topic));

        sendToEveryQueue(mqs, "before", 1);
        awaitWithin(TAKEOVER_MS, "one message on every queue consumed by its owner", () -> allConsumed("before", 1),
            () -> consumedPerQueue("before") + " " + ownership(topic));

        // The middle of the sorted ids: with AllocateMessageQueueAveragely its queues go to the other two and
        // theirs stay where they are, so no queue changes hands between consumers that keep running.
        Member leaving = new ArrayList<>(byClientId.values()).get(1);
        Set<Integer> freed = lockedQueues(leaving.consumer, topic);
        long shutdownAt = System.nanoTime();
        leaving.consumer.shutdown();
        running.remove(leaving);
        Compat.log("order lock test: %s shut down in %d ms, its queues %s", leaving.name,
            (System.nanoTime() - shutdownAt) / 1_000_000, freed);

        sendToEveryQueue(mqs, "after", MESSAGES_PER_QUEUE);
        awaitWithin(TAKEOVER_MS - (System.nanoTime() - shutdownAt) / 1_000_000,
            "every message sent after " + leaving.name + " (queues " + freed + ") shut down consumed by the others",
            () -> allConsumed("after", MESSAGES_PER_QUEUE),
            () -> "consumed " + consumedPerQueue("after") + ", locked " + ownership(topic));
        Compat.log("order lock test: queues %s taken over, all consumed %d ms after the shutdown", freed,
            (System.nanoTime() - shutdownAt) / 1_000_000);
        assertTrue(ownedByExactlyOne(running, topic), "remaining consumers lock every queue: " + ownership(topic));
        assertInOrderPerQueue(leaving.name);
    }

    /** Per queue, the "after" messages were consumed in send order, none by the consumer that left. */
    private void assertInOrderPerQueue(String leavingName) {
        synchronized (log) {
            for (int queue = 0; queue < QUEUES; queue++) {
                int maxSeen = -1;
                for (Consumed c : log) {
                    if (c.queueId != queue || !"after".equals(c.phase)) {
                        continue;
                    }
                    assertTrue(!c.consumer.equals(leavingName), "consumed by the consumer that shut down: " + c);
                    assertTrue(c.seq <= maxSeen + 1, "queue " + queue + ": seq " + c.seq
                        + " consumed before " + (maxSeen + 1) + ": " + consumedPerQueue("after").get(queue));
                    maxSeen = Math.max(maxSeen, c.seq);
                }
                assertEquals(MESSAGES_PER_QUEUE - 1, maxSeen, "last seq consumed on queue " + queue);
            }
        }
    }
}
