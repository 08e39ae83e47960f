package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Sending: sync, async, oneway, batch and queue selection, each verified by consuming what was sent. */
class ProducerTest {
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

    private Received consumeAll(String topic, List<String> expected) throws Exception {
        Received received = new Received();
        DefaultMQPushConsumer consumer = Compat.pushConsumer(Compat.unique("cg"), topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        cleanup.add(consumer::shutdown);
        received.awaitExactly(expected, topic);
        return received;
    }

    @Test
    void syncSendReportsOffsetsAndDeliversContent() throws Exception {
        String topic = Compat.unique("t_sync");
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            messages.add(Compat.message(topic, i % 2 == 0 ? "TagA" : "TagB", i));
        }
        // Over the client's 4 KiB threshold: sent zlib-compressed with the COMPRESSED sys flag.
        Message big = Compat.message(topic, "TagBig", 20);
        StringBuilder text = new StringBuilder(Compat.bodyOf(big)).append('|');
        for (int i = 0; text.length() < 64 * 1024; i++) {
            text.append(Integer.toHexString(i * 7919));
        }
        big.setBody(text.toString().getBytes(StandardCharsets.UTF_8));
        messages.add(big);
        Message binary = Compat.message(topic, "TagBin", 21);
        byte[] raw = new byte[256 + 32];
        byte[] prefix = ("body-" + topic + "#21|").getBytes(StandardCharsets.UTF_8);
        System.arraycopy(prefix, 0, raw, 0, prefix.length);
        for (int i = prefix.length; i < raw.length; i++) {
            raw[i] = (byte) i;
        }
        binary.setBody(raw);
        messages.add(binary);

        List<SendResult> results = Compat.sendSync(producer, messages);

        Map<Integer, List<Long>> offsetsByQueue = new HashMap<>();
        Set<String> msgIds = new HashSet<>();
        Set<String> offsetMsgIds = new HashSet<>();
        for (SendResult r : results) {
            assertEquals(topic, r.getMessageQueue().getTopic());
            int queueId = r.getMessageQueue().getQueueId();
            assertTrue(queueId >= 0 && queueId < Compat.AUTO_TOPIC_QUEUES, "queue id " + queueId);
            offsetsByQueue.computeIfAbsent(queueId, q -> new ArrayList<>()).add(r.getQueueOffset());
            assertTrue(msgIds.add(r.getMsgId()), "duplicate msgId " + r.getMsgId());
            assertTrue(offsetMsgIds.add(r.getOffsetMsgId()), "duplicate offsetMsgId " + r.getOffsetMsgId());
        }
        assertEquals(Compat.AUTO_TOPIC_QUEUES, offsetsByQueue.size(), "round robin over all queues");
        // A new topic's queues start at offset 0 and every send takes the next one.
        offsetsByQueue.forEach((queue, offsets) -> {
            for (int i = 0; i < offsets.size(); i++) {
                assertEquals(i, offsets.get(i), "offsets of queue " + queue + ": " + offsets);
            }
        });

        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        List<String> bodies = new ArrayList<>();
        messages.forEach(m -> bodies.add(Compat.bodyOf(m)));
        Received received = consumeAll(topic, bodies);
        for (int i = 0; i < messages.size(); i++) {
            MessageExt got = received.messages().get(bodies.get(i));
            Compat.assertSameContent(messages.get(i), got);
            Compat.assertMatchesSendResult(results.get(i), got);
        }
        Compat.log("sync send: first message %d ms after consumer start", received.millisToFirst());
    }

    @Test
    void asyncAndOnewaySendsAreAllDelivered() throws Exception {
        String topic = Compat.unique("t_async");
        // The first (sync) send auto-creates the topic, so the async ones race with nothing.
        Message first = Compat.message(topic, "TagSync", 0);
        SendResult firstResult = producer.send(first);
        Compat.assertSendOk(firstResult);

        int asyncCount = 15;
        Map<String, SendResult> asyncResults = new ConcurrentHashMap<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(asyncCount);
        List<Message> messages = new ArrayList<>();
        messages.add(first);
        for (int i = 1; i <= asyncCount; i++) {
            Message msg = Compat.message(topic, "TagAsync", i);
            messages.add(msg);
            producer.send(msg, new SendCallback() {
                @Override
                public void onSuccess(SendResult result) {
                    asyncResults.put(Compat.bodyOf(msg), result);
                    done.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    errors.add(e);
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(Compat.WAIT_MS, TimeUnit.MILLISECONDS), "async callbacks: " + done.getCount() + " missing");
        assertTrue(errors.isEmpty(), "async send failures: " + errors);
        asyncResults.values().forEach(Compat::assertSendOk);
        for (int i = asyncCount + 1; i <= asyncCount + 15; i++) {
            Message msg = Compat.message(topic, "TagOneway", i);
            messages.add(msg);
            producer.sendOneway(msg);
        }

        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        List<String> bodies = new ArrayList<>();
        messages.forEach(m -> bodies.add(Compat.bodyOf(m)));
        Received received = consumeAll(topic, bodies);
        for (Message sent : messages) {
            MessageExt got = received.messages().get(Compat.bodyOf(sent));
            Compat.assertSameContent(sent, got);
            SendResult result = asyncResults.get(Compat.bodyOf(sent));
            if (result != null) {
                Compat.assertMatchesSendResult(result, got);
            }
        }
        Compat.assertMatchesSendResult(firstResult, received.messages().get(Compat.bodyOf(first)));
    }

    @Test
    void batchSendStoresEveryMessageConsecutively() throws Exception {
        String topic = Compat.unique("t_batch");
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            batch.add(Compat.message(topic, i % 2 == 0 ? "TagA" : "TagB", i));
        }
        SendResult result = producer.send(batch);
        Compat.assertSendOk(result);
        String[] msgIds = result.getMsgId().split(",");
        String[] offsetMsgIds = result.getOffsetMsgId().split(",");
        assertEquals(batch.size(), msgIds.length, "one msgId per batched message: " + result.getMsgId());
        assertEquals(batch.size(), offsetMsgIds.length, "one offsetMsgId per message: " + result.getOffsetMsgId());

        Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
        List<String> bodies = new ArrayList<>();
        batch.forEach(m -> bodies.add(Compat.bodyOf(m)));
        Received received = consumeAll(topic, bodies);
        // 4.x clients give each batched message its own UNIQ_KEY. 5.x clients also put a UNIQ_KEY on the batch
        // itself, and brokers (4.9.7 and 5.3.3 alike) append the batch-level properties to every message's own,
        // so there the later key wins and every message reads back the batch's id (not reported in the result).
        boolean perMessageIds = System.getProperty("rmq.client.version", "4").startsWith("4.");
        String batchId = received.messages().get(bodies.get(0)).getMsgId();
        if (!perMessageIds) {
            assertFalse(Arrays.asList(msgIds).contains(batchId), "batch id " + batchId + " is a per-message id");
        }
        // The batch lands in one queue, in order, starting at the offset the send result reports.
        for (int i = 0; i < batch.size(); i++) {
            MessageExt got = received.messages().get(bodies.get(i));
            Compat.assertSameContent(batch.get(i), got);
            if (perMessageIds) {
                assertEquals(msgIds[i], got.getMsgId(), "msgId of batch element " + i);
            } else {
                assertEquals(batchId, got.getMsgId(), "msgId of batch element " + i + " (the batch's UNIQ_KEY)");
            }
            assertEquals(offsetMsgIds[i].toUpperCase(), Compat.offsetMsgIdOf(got), "offsetMsgId of element " + i);
            assertEquals(result.getMessageQueue().getQueueId(), got.getQueueId(), "queue of element " + i);
            assertEquals(result.getQueueOffset() + i, got.getQueueOffset(), "queue offset of element " + i);
        }
    }

    /** Explicitly created topic (3 queues, not the auto-create default) and MessageQueueSelector placement. */
    @Test
    void createdTopicAndSelectorPlaceMessagesOnChosenQueues() throws Exception {
        String topic = Compat.unique("t_select");
        int queues = 3;
        producer.getDefaultMQProducerImpl().createTopic("TBW102", topic, queues);
        List<MessageQueue> route = Compat.awaitRoute(producer, topic, queues);
        Set<Integer> ids = new HashSet<>();
        route.forEach(mq -> ids.add(mq.getQueueId()));
        assertEquals(Set.of(0, 1, 2), ids, "queue ids of the created topic");

        List<Message> messages = new ArrayList<>();
        List<SendResult> results = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            Message msg = Compat.message(topic, "TagSel", i);
            SendResult r = producer.send(msg, (mqs, m, arg) -> mqs.get((Integer) arg % mqs.size()), i);
            Compat.assertSendOk(r);
            assertEquals(i % queues, r.getMessageQueue().getQueueId(), "selected queue of message " + i);
            assertEquals(i / queues, r.getQueueOffset(), "queue offset of message " + i);
            messages.add(msg);
            results.add(r);
        }

        List<String> bodies = new ArrayList<>();
        messages.forEach(m -> bodies.add(Compat.bodyOf(m)));
        // Queue id and offset of every message are checked against the send results below.
        Received received = consumeAll(topic, bodies);
        for (int i = 0; i < messages.size(); i++) {
            MessageExt got = received.messages().get(bodies.get(i));
            assertNotNull(got);
            Compat.assertSameContent(messages.get(i), got);
            Compat.assertMatchesSendResult(results.get(i), got);
        }
    }
}
