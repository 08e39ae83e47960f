package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Push and lite-pull consumption: exactly-once delivery of intact messages, tag filters, queue sharing. */
class ConsumerTest {
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

    /** Sends count messages with the given tags in turn; returns them with their send results. */
    private List<Message> send(String topic, int count, String[] tags, List<SendResult> results) throws Exception {
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            messages.add(Compat.message(topic, tags[i % tags.length], i));
        }
        results.addAll(Compat.sendSync(producer, messages));
        return messages;
    }

    private DefaultMQPushConsumer startPush(String group, String topic, String expression, Received into)
        throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, expression);
        consumer.registerMessageListener(into.listener());
        consumer.start();
        cleanup.add(consumer::shutdown);
        return consumer;
    }

    @Test
    void pushConsumerReceivesEveryMessageOnceWithContent() throws Exception {
        String topic = Compat.unique("t_push");
        List<SendResult> results = new ArrayList<>();
        List<Message> messages = send(topic, 40, new String[] {"TagA", "TagB", "TagC"}, results);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

        Received received = new Received();
        startPush(Compat.unique("cg"), topic, "*", received);
        received.awaitExactly(Compat.bodies(messages), "push consumer");
        for (int i = 0; i < messages.size(); i++) {
            MessageExt got = received.messages().get(Compat.bodyOf(messages.get(i)));
            Compat.assertSameContent(messages.get(i), got);
            Compat.assertMatchesSendResult(results.get(i), got);
        }
        Compat.log("push: first message %d ms after consumer start", received.millisToFirst());
    }

    @Test
    void tagFilterDeliversOnlyMatchingTags() throws Exception {
        String topic = Compat.unique("t_tags");
        List<SendResult> results = new ArrayList<>();
        List<Message> messages = send(topic, 30, new String[] {"TagA", "TagB", "TagC"}, results);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

        List<Message> wanted = new ArrayList<>();
        for (Message m : messages) {
            if (!m.getTags().equals("TagC")) {
                wanted.add(m);
            }
        }
        Received received = new Received();
        startPush(Compat.unique("cg"), topic, "TagA || TagB", received);
        // awaitExactly also fails on any TagC message that shows up during the quiet period.
        received.awaitExactly(Compat.bodies(wanted), "tag filter");
        for (Message sent : wanted) {
            Compat.assertSameContent(sent, received.messages().get(Compat.bodyOf(sent)));
        }
    }

    @Test
    void litePullConsumerPollsEveryMessage() throws Exception {
        Compat.assumeLitePullSupported(producer);
        String topic = Compat.unique("t_lite");
        List<SendResult> results = new ArrayList<>();
        List<Message> messages = send(topic, 30, new String[] {"TagA", "TagB"}, results);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

        DefaultLitePullConsumer consumer = Compat.litePullConsumer(Compat.unique("cg"), topic);
        Received received = new Received();
        consumer.start();
        cleanup.add(consumer::shutdown);
        List<String> expected = Compat.bodies(messages);
        Compat.await("lite pull", () -> {
            received.addAll(consumer.poll(200));
            return received.containsAll(expected);
        }, () -> "(got " + received.size() + ")");
        // Nothing more may arrive: no duplicates, no strangers.
        long quietUntil = System.currentTimeMillis() + Compat.QUIET_MS;
        while (System.currentTimeMillis() < quietUntil) {
            received.addAll(consumer.poll(200));
        }
        received.assertNoDuplicates("lite pull");
        assertEquals(new TreeSet<>(expected), new TreeSet<>(received.messages().keySet()));
        for (int i = 0; i < messages.size(); i++) {
            MessageExt got = received.messages().get(expected.get(i));
            Compat.assertSameContent(messages.get(i), got);
            Compat.assertMatchesSendResult(results.get(i), got);
        }
        Compat.log("lite pull: first message %d ms after consumer start", received.millisToFirst());
    }

    @Test
    void litePullAssignAndSeekReadFromTheGivenOffset() throws Exception {
        Compat.assumeLitePullSupported(producer);
        String topic = Compat.unique("t_seek");
        List<SendResult> results = new ArrayList<>();
        List<Message> messages = send(topic, 24, new String[] {"TagA"}, results);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(Compat.unique("cg"));
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.setAutoCommit(false);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        cleanup.add(consumer::shutdown);
        MessageQueue queue = null;
        for (MessageQueue mq : consumer.fetchMessageQueues(topic)) {
            if (mq.getQueueId() == results.get(0).getMessageQueue().getQueueId()) {
                queue = mq;
            }
        }
        assertTrue(queue != null, "queue of the first message in " + consumer.fetchMessageQueues(topic));
        List<String> inQueue = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            SendResult r = results.get(i);
            if (r.getMessageQueue().getQueueId() == queue.getQueueId()) {
                inQueue.add(Compat.bodyOf(messages.get(i)));
                if (r.getQueueOffset() >= 2) {
                    expected.add(Compat.bodyOf(messages.get(i)));
                }
            }
        }
        assertFalse(expected.isEmpty());

        // Read the whole queue once before seeking. A seek racing the pull that assign() starts can let
        // that in-flight pull's messages (from offset 0) through the client's cleared cache — a client
        // race, seen against the Java broker too. Once the queue is drained, the only pull in flight waits
        // past the last offset and has nothing to deliver, so every message after the seek is the seek's.
        consumer.assign(List.of(queue));
        Received first = pollUntil(consumer, inQueue.size(), new ArrayList<>(), "first pass");
        assertEquals(new TreeSet<>(inQueue), new TreeSet<>(first.messages().keySet()));

        consumer.seek(queue, 2);
        List<Long> offsets = new ArrayList<>();
        Received received = pollUntil(consumer, expected.size(), offsets, "seeked pull");
        received.assertNoDuplicates("seek");
        assertEquals(new TreeSet<>(expected), new TreeSet<>(received.messages().keySet()));
        for (int i = 0; i < offsets.size(); i++) {
            assertEquals(2 + i, offsets.get(i), "offsets after seek to 2: " + offsets);
        }
    }

    private static Received pollUntil(DefaultLitePullConsumer consumer, int count, List<Long> offsets, String what)
        throws Exception {
        Received received = new Received();
        Compat.await(what, () -> {
            for (MessageExt got : consumer.poll(200)) {
                offsets.add(got.getQueueOffset());
                received.add(got);
            }
            return received.size() >= count;
        });
        return received;
    }

    /**
     * Queues of topic this consumer currently owns (its rebalance result), ignoring ones being dropped. The
     * table also holds the group's %RETRY% topic, which clustering consumers subscribe to implicitly.
     */
    private static Set<MessageQueue> owned(DefaultMQPushConsumer consumer, String topic) {
        Set<MessageQueue> owned = new HashSet<>();
        Map<MessageQueue, ProcessQueue> table =
            consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable();
        table.forEach((mq, pq) -> {
            if (mq.getTopic().equals(topic) && !pq.isDropped()) {
                owned.add(mq);
            }
        });
        return owned;
    }

    @Test
    void twoConsumersInOneGroupSplitTheQueues() throws Exception {
        String topic = Compat.unique("t_split");
        int queues = 4;
        producer.getDefaultMQProducerImpl().createTopic("TBW102", topic, queues);
        Compat.awaitRoute(producer, topic, queues);

        String group = Compat.unique("cg");
        Received first = new Received();
        Received second = new Received();
        DefaultMQPushConsumer c1 = startPush(group, topic, "*", first);
        DefaultMQPushConsumer c2 = startPush(group, topic, "*", second);
        long t0 = System.nanoTime();
        Compat.await("rebalance to settle (each consumer owns a disjoint share of all queues)", () -> {
            Set<MessageQueue> a = owned(c1, topic);
            Set<MessageQueue> b = owned(c2, topic);
            Set<MessageQueue> union = new HashSet<>(a);
            union.addAll(b);
            return !a.isEmpty() && !b.isEmpty() && union.size() == queues && a.size() + b.size() == queues;
        }, () -> "c1=" + owned(c1, topic) + " c2=" + owned(c2, topic));
        Compat.log("two consumers: rebalance settled after %d ms", (System.nanoTime() - t0) / 1_000_000);
        Set<Integer> ownedByFirst = new HashSet<>();
        owned(c1, topic).forEach(mq -> ownedByFirst.add(mq.getQueueId()));

        List<SendResult> results = new ArrayList<>();
        List<Message> messages = send(topic, 40, new String[] {"TagA"}, results);
        List<String> expected = Compat.bodies(messages);
        Compat.await("both consumers together to receive all", () -> {
            Set<String> all = new HashSet<>(first.messages().keySet());
            all.addAll(second.messages().keySet());
            return all.containsAll(expected);
        }, () -> "(first " + first.size() + ", second " + second.size() + ")");
        Compat.sleep(Compat.QUIET_MS);
        first.assertNoDuplicates("first consumer");
        second.assertNoDuplicates("second consumer");
        Set<String> overlap = new TreeSet<>(first.messages().keySet());
        overlap.retainAll(second.messages().keySet());
        assertTrue(overlap.isEmpty(), "delivered to both consumers: " + overlap);
        assertEquals(expected.size(), first.size() + second.size(), "total delivered");
        assertTrue(first.size() > 0 && second.size() > 0,
            "both get a share: " + first.size() + " / " + second.size());
        first.messages().values().forEach(m -> assertTrue(ownedByFirst.contains(m.getQueueId()),
            "first consumer got queue " + m.getQueueId() + " it does not own"));
        second.messages().values().forEach(m -> assertFalse(ownedByFirst.contains(m.getQueueId()),
            "second consumer got queue " + m.getQueueId() + " owned by the first"));
    }
}
