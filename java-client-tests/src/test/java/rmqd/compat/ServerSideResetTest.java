package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * The 5.x server-side offset reset (INVOKE_BROKER_TO_RESET_OFFSET with {@code useServerSideResetOffset}, on by
 * default in 5.3.3): the broker keeps the reset offsets itself, so a reset works while the group is offline,
 * QUERY_CONSUMER_OFFSET answers them, and the group's next pull is steered there with PULL_OFFSET_MOVED.
 * 4.x brokers only push the reset to live consumers, so these tests are skipped there; 5.x brokers must run with
 * the default {@code useServerSideResetOffset=true}. Both 4.9.8 and 5.3.3 admins send the same request (a 4.9.8
 * admin just omits queueId, meaning every queue), and 4.9.8 consumers follow PULL_OFFSET_MOVED like 5.3.3 ones.
 */
class ServerSideResetTest {
    /** SUBSCRIPTION_GROUP_NOT_EXIST. */
    private static final int GROUP_NOT_EXIST = 26;

    private static void assumeServerSideReset(DefaultMQProducer producer) {
        String broker = Compat.brokerVersion(producer);
        assumeFalse(broker.startsWith("V4_"), "broker " + broker + " resets offsets through live consumers only");
    }

    private static List<Message> messages(String topic, int count) {
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(Compat.message(topic, "TagS", i));
        }
        return out;
    }

    /** QUERY_CONSUMER_OFFSET every time ({@code committed(mq)} would answer from the reader's memory). */
    private static long query(DefaultLitePullConsumer reader, MessageQueue mq) {
        return reader.getOffsetStore().readOffset(mq, ReadOffsetType.READ_FROM_STORE);
    }

    /** Waits until every queue's committed offset (QUERY_CONSUMER_OFFSET) equals {@code expected}. */
    private static void awaitCommitted(DefaultLitePullConsumer reader, Map<MessageQueue, Long> expected,
        String what) {
        Map<MessageQueue, Long> seen = new HashMap<>();
        Compat.await(what, () -> {
            try {
                for (MessageQueue mq : expected.keySet()) {
                    seen.put(mq, query(reader, mq));
                }
                return seen.equals(expected);
            } catch (Exception e) {
                return false;
            }
        }, () -> "(committed " + seen + ", expected " + expected + ")");
    }

    private static DefaultMQPushConsumer startConsumer(String group, String topic, Received sink) throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        consumer.registerMessageListener(sink.listener());
        consumer.start();
        return consumer;
    }

    private static String brokerAddr(DefaultMQAdminExt admin, String topic) throws Exception {
        // var: TopicRouteData moved packages between 4.x and 5.x.
        var route = admin.examineTopicRouteInfo(topic);
        return route.getBrokerDatas().get(0).selectBrokerAddr();
    }

    @Test
    void resetWhileTheGroupIsOfflineIsServedToItsNextConsumer() throws Exception {
        String topic = Compat.unique("t_ssreset");
        String group = Compat.unique("cg_ssreset");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultLitePullConsumer reader = null;
        DefaultMQPushConsumer second = null;
        try {
            long before = System.currentTimeMillis() - 1_000;
            List<Message> sent = messages(topic, 12);
            List<SendResult> results = Compat.sendSync(producer, sent);
            List<MessageQueue> mqs = Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            assumeServerSideReset(producer);

            Received first = new Received();
            DefaultMQPushConsumer consumer = startConsumer(group, topic, first);
            try {
                first.awaitExactly(Compat.bodies(sent), "first pass of " + group);
            } finally {
                consumer.shutdown(); // commits its offsets and leaves: nobody of the group is online
            }
            reader = Compat.offsetReader(group);
            Map<MessageQueue, Long> consumed = new HashMap<>();
            Map<Integer, Long> next = Compat.nextOffsets(results);
            mqs.forEach(mq -> consumed.put(mq, next.getOrDefault(mq.getQueueId(), 0L)));
            awaitCommitted(reader, consumed, "offsets committed by the first consumer");

            Map<MessageQueue, Long> reset = admin.resetOffsetByTimestamp(topic, group, before, true);
            Map<MessageQueue, Long> start = new HashMap<>();
            mqs.forEach(mq -> start.put(mq, 0L));
            assertEquals(start, reset, "reset table of the offline group");
            awaitCommitted(reader, start, "QUERY_CONSUMER_OFFSET after the reset");

            // A stale commit (what a consumer that missed the reset would send) does not undo a pending reset.
            MessageQueue stale = mqs.get(0);
            admin.updateConsumeOffset(brokerAddr(admin, topic), group, stale, consumed.get(stale));
            assertEquals(0L, query(reader, stale), "offset of " + stale + " after a stale commit");

            // The reader is a member of the group: it would be given queues it never pulls. Let it leave.
            reader.shutdown();
            reader = null;
            Received again = new Received();
            second = startConsumer(group, topic, again);
            Compat.await("re-consumption from the reset point", () -> again.containsAll(Compat.bodies(sent)),
                () -> "(got " + again.size() + ")");
            second.shutdown();
            second = null;
            reader = Compat.offsetReader(group);
            awaitCommitted(reader, consumed, "offsets committed after the re-consumption");
        } finally {
            if (second != null) {
                second.shutdown();
            }
            if (reader != null) {
                reader.shutdown();
            }
            admin.shutdown();
            producer.shutdown();
        }
    }

    @Test
    void resetOfAnUnknownGroupIsRefused() throws Exception {
        String topic = Compat.unique("t_ssreset_nogroup");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            Compat.sendSync(producer, messages(topic, 1));
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            assumeServerSideReset(producer);
            String group = Compat.unique("cg_never_seen");
            MQClientException e = assertThrows(MQClientException.class,
                () -> admin.resetOffsetByTimestamp(topic, group, 0L, true));
            assertEquals(GROUP_NOT_EXIST, e.getResponseCode(), () -> "answer " + e);
        } finally {
            admin.shutdown();
            producer.shutdown();
        }
    }

    /** 5.x tools only ({@code resetOffsetByQueueId}): one queue to an explicit offset. */
    @Test
    void resetOneQueueToAnExplicitOffset() throws Exception {
        Method byQueue = null;
        try {
            byQueue = DefaultMQAdminExt.class.getMethod("resetOffsetByQueueId", String.class, String.class,
                String.class, int.class, long.class);
        } catch (NoSuchMethodException e) {
            // 4.x tools have no per-queue reset; the request itself is covered by the test above.
        }
        assumeTrue(byQueue != null, "resetOffsetByQueueId needs 5.x tools");
        String topic = Compat.unique("t_ssreset_queue");
        String group = Compat.unique("cg_ssreset_queue");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultLitePullConsumer reader = null;
        try {
            Compat.sendSync(producer, messages(topic, 1)); // creates the topic
            List<MessageQueue> mqs = Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            assumeServerSideReset(producer);
            MessageQueue mq = mqs.get(0);
            for (int i = 0; i < 4; i++) {
                Compat.assertSendOk(producer.send(Compat.message(topic, "TagQ", i), mq));
            }
            // The group must exist on the broker: a consumer that starts and leaves creates it.
            Received ignored = new Received();
            startConsumer(group, topic, ignored).shutdown();
            reader = Compat.offsetReader(group);
            byQueue.invoke(admin, brokerAddr(admin, topic), group, topic, mq.getQueueId(), 2L);
            Map<MessageQueue, Long> expected = new HashMap<>();
            expected.put(mq, 2L);
            awaitCommitted(reader, expected, "offset of " + mq + " after the per-queue reset");
            // "Target offset 99 not in consume queue range [..]" (SYSTEM_ERROR), thrown as MQBrokerException.
            Method reset = byQueue;
            String addr = brokerAddr(admin, topic);
            assertThrows(InvocationTargetException.class,
                () -> reset.invoke(admin, addr, group, topic, mq.getQueueId(), 99L),
                "an offset past the end of the queue");
        } finally {
            if (reader != null) {
                reader.shutdown();
            }
            admin.shutdown();
            producer.shutdown();
        }
    }
}
