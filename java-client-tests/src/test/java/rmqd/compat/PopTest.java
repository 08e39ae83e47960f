package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * 5.x pop consumption through the remoting client: the group's request mode is set to POP
 * (SET_MESSAGE_REQUEST_MODE), a push consumer with {@code clientRebalance=false} asks the broker for its queues
 * (QUERY_ASSIGNMENT), pops (POP_MESSAGE), acks (ACK_MESSAGE) and, for RECONSUME_LATER, changes the invisible time
 * (CHANGE_INVISIBLETIME) so the broker redelivers the message through %RETRY%group_topic.
 *
 * <p>5.x clients only: the 5.x-only setters are called by reflection so the class compiles against 4.9.8 too.
 */
class PopTest {
    /** The client's first pop retry delay (popDelayLevel[0] = 10 s), used for RECONSUME_LATER. */
    private static final long FIRST_RETRY_MS = 10_000;
    /** Invisible time of popped messages: short, so an ack that did not count would show as a redelivery. */
    private static final long INVISIBLE_MS = 5_000;

    private DefaultMQProducer producer;
    private DefaultMQAdminExt admin;
    private final List<DefaultMQPushConsumer> consumers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        assumeTrue(Compat.clientVersion().startsWith("5"), "pop consumption needs a 5.x client");
        producer = Compat.startProducer();
        String broker = Compat.brokerVersion(producer);
        assumeFalse(broker.startsWith("V4_"), "pop consumption is not served by broker " + broker);
        admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(Compat.namesrvAddr());
        admin.setInstanceName(Compat.unique("admin"));
        admin.start();
    }

    @AfterEach
    void stop() {
        consumers.forEach(DefaultMQPushConsumer::shutdown);
        consumers.clear();
        if (admin != null) {
            admin.shutdown();
        }
        if (producer != null) {
            producer.shutdown();
        }
    }

    private String brokerAddr() throws Exception {
        var info = admin.examineBrokerClusterInfo();
        return info.getBrokerAddrTable().values().iterator().next().selectBrokerAddr();
    }

    /** DefaultMQAdminExt#setMessageRequestMode(addr, topic, group, MessageRequestMode.POP, 0, timeout). */
    private void setPopMode(String topic, String group) throws Exception {
        Class<?> modeClass = Class.forName("org.apache.rocketmq.common.message.MessageRequestMode");
        Object pop = modeClass.getField("POP").get(null);
        admin.getClass()
            .getMethod("setMessageRequestMode", String.class, String.class, String.class, modeClass, int.class,
                long.class)
            .invoke(admin, brokerAddr(), topic, group, pop, 0, 5_000L);
    }

    /** A started pop consumer: broker-side rebalance, so the POP request mode applies. */
    private DefaultMQPushConsumer startPopConsumer(String group, String topic, MessageListenerConcurrently listener)
        throws Exception {
        return startServerRebalanced(group, topic, listener);
    }

    /** A started push consumer that asks the broker for its queues (QUERY_ASSIGNMENT) instead of allocating. */
    private DefaultMQPushConsumer startServerRebalanced(String group, String topic,
        MessageListenerConcurrently listener) throws Exception {
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        DefaultMQPushConsumer.class.getMethod("setClientRebalance", boolean.class).invoke(consumer, false);
        DefaultMQPushConsumer.class.getMethod("setPopInvisibleTime", long.class).invoke(consumer, INVISIBLE_MS);
        consumer.registerMessageListener(listener);
        consumer.start();
        consumers.add(consumer);
        return consumer;
    }

    private List<String> send(String topic, int from, int count) throws Exception {
        List<Message> messages = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            Message msg = Compat.message(topic, "tagA", i);
            messages.add(msg);
            bodies.add(Compat.bodyOf(msg));
        }
        Compat.sendSync(producer, messages).forEach(Compat::assertSendOk);
        return bodies;
    }

    /** A topic with messages and its route known, and a group set to POP for it. */
    private List<String> popTopic(String topic, String group, int count) throws Exception {
        List<String> bodies = send(topic, 0, count);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        setPopMode(topic, group);
        return bodies;
    }

    private static void assertPopped(MessageExt msg) {
        assertNotNull(msg.getProperty("POP_CK"), "delivered by POP (has POP_CK): " + msg);
    }

    @Test
    void ackedMessagesAreConsumedExactlyOnce() throws Exception {
        String topic = Compat.unique("t_pop");
        String group = Compat.unique("cg_pop");
        List<String> bodies = popTopic(topic, group, 24);
        Received received = new Received();
        startPopConsumer(group, topic, received.listener());
        received.awaitExactly(bodies, "pop consumer");
        received.messages().values().forEach(PopTest::assertPopped);
        received.messages().values().forEach(m -> assertEquals(0, m.getReconsumeTimes(), "first delivery"));

        // Later messages reach the same consumer (long polling or the next pop).
        List<String> more = send(topic, bodies.size(), 8);
        List<String> all = new ArrayList<>(bodies);
        all.addAll(more);
        received.awaitExactly(all, "pop consumer, second batch");

        // Past the invisible time (plus revive slack): nothing acked comes back.
        Compat.sleep(INVISIBLE_MS + 5_000);
        received.assertNoDuplicates("acked messages after their invisible time");
        assertEquals(all.size(), received.size(), "no extra deliveries");
    }

    @Test
    void serverSideRebalanceInPullModeConsumesExactlyOnce() throws Exception {
        String topic = Compat.unique("t_assign");
        String group = Compat.unique("cg_assign");
        List<String> bodies = send(topic, 0, 16);
        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        // No request mode set: QUERY_ASSIGNMENT answers PULL and the consumer pulls its assigned queues.
        Received received = new Received();
        startServerRebalanced(group, topic, received.listener());
        received.awaitExactly(bodies, "server-rebalanced pull consumer");
        received.messages().values().forEach(m ->
            assertNull(m.getProperty("POP_CK"), "pulled, not popped: " + m));
    }

    @Test
    void reconsumeLaterComesBackWithOneMoreReconsumeTime() throws Exception {
        String topic = Compat.unique("t_pop_retry");
        String group = Compat.unique("cg_pop_retry");
        List<String> bodies = popTopic(topic, group, 6);
        String failing = bodies.get(2);
        Map<String, List<MessageExt>> deliveries = new ConcurrentHashMap<>();
        Map<String, Long> firstAt = new ConcurrentHashMap<>();
        List<Long> retryDelays = new CopyOnWriteArrayList<>();
        startPopConsumer(group, topic, (msgs, ctx) -> {
            ConsumeConcurrentlyStatus status = ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            for (MessageExt msg : msgs) {
                String body = Compat.bodyOf(msg);
                List<MessageExt> seen = deliveries.computeIfAbsent(body, k -> new CopyOnWriteArrayList<>());
                seen.add(msg);
                long now = System.currentTimeMillis();
                Long first = firstAt.putIfAbsent(body, now);
                if (first != null) {
                    retryDelays.add(now - first);
                }
                if (body.equals(failing) && seen.size() == 1) {
                    status = ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return status;
        });
        Compat.await("the failed message delivered twice", () -> deliveries.getOrDefault(failing, List.of()).size() >= 2,
            () -> "(deliveries " + deliveries.keySet().size() + " bodies, failing seen "
                + deliveries.getOrDefault(failing, List.of()).size() + ")");
        Compat.sleep(Compat.QUIET_MS);
        List<MessageExt> failed = deliveries.get(failing);
        assertEquals(2, failed.size(), "the failed message: one redelivery after its success");
        assertEquals(0, failed.get(0).getReconsumeTimes(), "first delivery");
        assertEquals(1, failed.get(1).getReconsumeTimes(), "redelivery counts one reconsume");
        assertPopped(failed.get(1));
        assertTrue(retryDelays.get(0) >= FIRST_RETRY_MS - 1_000,
            "redelivered after the new invisible time, took " + retryDelays.get(0) + " ms");
        for (String body : bodies) {
            if (!body.equals(failing)) {
                assertEquals(1, deliveries.get(body).size(), "acked message delivered once: " + body);
            }
        }
    }

    @Test
    void inFlightMessagesSurviveBrokerRestart() throws Exception {
        String restart = Compat.restartCommandOrSkip();
        String topic = Compat.unique("t_pop_restart");
        String group = Compat.unique("cg_pop_restart");
        List<String> bodies = popTopic(topic, group, 8);

        // Every message fails once: all are in flight (invisible for 10 s) when the broker goes down.
        Received failedOnce = new Received();
        DefaultMQPushConsumer first = startPopConsumer(group, topic, (msgs, ctx) -> {
            failedOnce.addAll(msgs);
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        Compat.await("every message popped once", () -> failedOnce.containsAll(bodies));
        Compat.sleep(Compat.QUIET_MS);
        first.shutdown();
        consumers.remove(first);
        producer.shutdown();
        producer = null;
        admin.shutdown();
        admin = null;

        Compat.restartBroker(restart);

        Received again = new Received();
        startPopConsumer(group, topic, again.listener());
        again.awaitExactly(bodies, "redelivered after the restart");
        again.messages().values().forEach(m -> assertEquals(1, m.getReconsumeTimes(), "one failed delivery"));
    }
}
