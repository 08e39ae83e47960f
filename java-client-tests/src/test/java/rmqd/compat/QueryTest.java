package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/** Lookups and time travel: offsets by timestamp, messages by id and key, offset reset, running info. */
class QueryTest {

    @Test
    @SuppressWarnings("deprecation")
    void searchOffsetByStoreTimestamp() throws Exception {
        String topic = Compat.unique("t_search");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            Compat.sendSync(producer, List.of(Compat.message(topic, "TagA", -1)));
            List<MessageQueue> mqs = Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            MessageQueue mq = mqs.get(0);
            // The first send's queue offset is the base: a Java broker's max offset may still trail an
            // acknowledged send (ReputMessageService dispatches asynchronously).
            long base = -1;
            List<Long> storeTimes = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                SendResult r = producer.send(Compat.message(topic, "TagA", i), mq);
                Compat.assertSendOk(r);
                if (i == 0) {
                    base = r.getQueueOffset();
                }
                assertEquals(base + i, r.getQueueOffset());
                storeTimes.add(producer.viewMessage(topic, r.getOffsetMsgId()).getStoreTimestamp());
                Compat.sleep(15); // distinct store times, so every broker version finds exactly one
            }
            for (int i = 0; i < storeTimes.size(); i++) {
                assertEquals(base + i, producer.searchOffset(mq, storeTimes.get(i)),
                    "offset of the message stored at " + storeTimes.get(i));
            }
            assertEquals(producer.minOffset(mq), producer.searchOffset(mq, storeTimes.get(0) - 60_000),
                "a time before every message: the first offset");
            long earliest = producer.earliestMsgStoreTime(mq);
            assertTrue(earliest > 0 && earliest <= storeTimes.get(0), "earliest store time " + earliest);
        } finally {
            producer.shutdown();
        }
    }

    @Test
    @SuppressWarnings("deprecation")
    void viewMessageByOffsetIdAndQueryByKey() throws Exception {
        String topic = Compat.unique("t_view");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            long begin = System.currentTimeMillis() - 60_000;
            Message sent = Compat.message(topic, "TagV", 7);
            SendResult result = producer.send(sent);
            Compat.assertSendOk(result);

            MessageExt viewed = producer.viewMessage(topic, result.getOffsetMsgId());
            Compat.assertSameContent(sent, viewed);
            Compat.assertMatchesSendResult(result, viewed);

            // The index is written after the append; wait for it.
            AtomicReference<QueryResult> found = new AtomicReference<>();
            Compat.await("query by key " + sent.getKeys(), () -> {
                try {
                    QueryResult q = producer.queryMessage(topic, sent.getKeys(), 32, begin,
                        System.currentTimeMillis() + 60_000);
                    found.set(q);
                    return !q.getMessageList().isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
            List<MessageExt> list = found.get().getMessageList();
            assertEquals(1, list.size(), () -> "messages with key " + sent.getKeys() + ": " + list);
            assertArrayEquals(sent.getBody(), list.get(0).getBody());
            assertEquals(result.getMsgId(), list.get(0).getMsgId());
        } finally {
            producer.shutdown();
        }
    }

    @Test
    void resetOffsetByTimeMakesTheGroupConsumeAgain() throws Exception {
        String topic = Compat.unique("t_reset");
        String group = Compat.unique("cg_reset");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQPushConsumer consumer = null;
        try {
            long before = System.currentTimeMillis() - 1_000;
            List<Message> sent = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                sent.add(Compat.message(topic, "TagR", i));
            }
            Compat.sendSync(producer, sent);
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

            AtomicReference<Received> sink = new AtomicReference<>(new Received());
            consumer = Compat.pushConsumer(group, topic, "*");
            consumer.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently)
                (msgs, ctx) -> {
                    sink.get().addAll(msgs);
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
            consumer.start();
            sink.get().awaitExactly(Compat.bodies(sent), "first pass of " + group);

            Received again = new Received();
            sink.set(again);
            // A 4.x broker refuses while some queue of the group has no committed offset yet (the client commits
            // every 5 s); retry until it accepts.
            AtomicReference<Map<MessageQueue, Long>> reset = new AtomicReference<>();
            Compat.await("resetOffsetByTimestamp accepted", () -> {
                try {
                    reset.set(admin.resetOffsetByTimestamp(topic, group, before, true));
                    return true;
                } catch (Exception e) {
                    Compat.sleep(500);
                    return false;
                }
            });
            assertEquals(Compat.AUTO_TOPIC_QUEUES, reset.get().size(), () -> "reset table " + reset.get());
            reset.get().forEach((mq, offset) -> assertEquals(0L, (long) offset, "reset offset of " + mq));
            Compat.await("re-consumption after the reset", () -> again.containsAll(Compat.bodies(sent)),
                () -> "(got " + again.size() + ")");
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            admin.shutdown();
            producer.shutdown();
        }
    }

    /**
     * A brand-new group on a young topic starts at offset 0 whatever its ConsumeFromWhere says: the broker
     * answers QUERY_CONSUMER_OFFSET with 0 while the queue's head is still in memory.
     */
    @Test
    void newGroupOnAYoungTopicStartsAtTheBeginningEvenFromATimestamp() throws Exception {
        String topic = Compat.unique("t_fromts");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            List<Message> sent = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                sent.add(Compat.message(topic, "TagT", i));
            }
            Compat.sendSync(producer, sent);
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            Received received = new Received();
            consumer = Compat.pushConsumer(Compat.unique("cg_fromts"), topic, "*");
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_TIMESTAMP);
            consumer.setConsumeTimestamp("20991231235959");
            consumer.registerMessageListener(received.listener());
            consumer.start();
            received.awaitExactly(Compat.bodies(sent), "new group from a future timestamp");
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
    }

    @Test
    void consumerRunningInfoIsRelayedFromTheClient() throws Exception {
        String topic = Compat.unique("t_running");
        String group = Compat.unique("cg_running");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQPushConsumer consumer = null;
        try {
            Compat.sendSync(producer, List.of(Compat.message(topic, "TagI", 0)));
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            Received received = new Received();
            consumer = Compat.pushConsumer(group, topic, "*");
            consumer.registerMessageListener(received.listener());
            consumer.start();
            Compat.await("first message", () -> received.size() == 1);
            String clientId = consumer.buildMQClientId();
            // var: ConsumerRunningInfo moved packages between 4.x and 5.x.
            AtomicReference<Object> info = new AtomicReference<>();
            Compat.await("running info of " + clientId, () -> {
                try {
                    info.set(admin.getConsumerRunningInfo(group, clientId, false));
                    return info.get() != null;
                } catch (Exception e) {
                    Compat.log("getConsumerRunningInfo: %s", e);
                    Compat.sleep(500);
                    return false;
                }
            });
            var running = admin.getConsumerRunningInfo(group, clientId, false);
            assertNotNull(running);
            assertFalse(running.getProperties().isEmpty(), "client properties");
            assertTrue(running.getSubscriptionSet().stream().anyMatch(s -> s.getTopic().equals(topic)),
                () -> "subscriptions " + running.getSubscriptionSet());
            assertTrue(running.getMqTable().keySet().stream().anyMatch(mq -> mq.getTopic().equals(topic)),
                () -> "queues " + running.getMqTable().keySet());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            admin.shutdown();
            producer.shutdown();
        }
    }
}
