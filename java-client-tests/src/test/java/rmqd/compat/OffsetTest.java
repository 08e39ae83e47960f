package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.Test;

/** Committed consumer offsets: resuming a group after a clean shutdown, and surviving a broker restart. */
class OffsetTest {

    /** Sends count messages numbered from first; appends the messages and their send results. */
    private static void send(DefaultMQProducer producer, String topic, int first, int count, List<Message> messages,
        List<SendResult> results) throws Exception {
        List<Message> batch = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            batch.add(Compat.message(topic, "Tag" + (i % 3), i));
        }
        results.addAll(Compat.sendSync(producer, batch));
        messages.addAll(batch);
    }

    /**
     * Starts a push consumer in group, waits until it received exactly the expected messages, and (when
     * results is given) until its in-memory offsets cover them, then shuts it down, which commits the offsets
     * to the broker.
     */
    private static Received consumeThenShutdown(String group, String topic, List<Message> expected,
        List<SendResult> committedUpTo) throws Exception {
        Received received = new Received();
        DefaultMQPushConsumer consumer = Compat.pushConsumer(group, topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        try {
            received.awaitExactly(Compat.bodies(expected), "group " + group);
            for (Message sent : expected) {
                Compat.assertSameContent(sent, received.messages().get(Compat.bodyOf(sent)));
            }
            // The listener sees a message before the client advances its offset; wait for the offsets so that
            // shutdown commits all of them.
            Map<MessageQueue, Long> next = new HashMap<>();
            for (SendResult r : committedUpTo) {
                next.merge(r.getMessageQueue(), r.getQueueOffset() + 1, Math::max);
            }
            Compat.await("consume offsets " + next, () -> next.entrySet().stream().allMatch(e ->
                consumer.getOffsetStore().readOffset(e.getKey(), ReadOffsetType.READ_FROM_MEMORY) == e.getValue()));
        } finally {
            consumer.shutdown();
        }
        return received;
    }

    @Test
    void restartedConsumerResumesFromCommittedOffset() throws Exception {
        String topic = Compat.unique("t_resume");
        String group = Compat.unique("cg");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            List<Message> old = new ArrayList<>();
            List<SendResult> oldResults = new ArrayList<>();
            send(producer, topic, 0, 12, old, oldResults);
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            consumeThenShutdown(group, topic, old, oldResults);

            List<Message> fresh = new ArrayList<>();
            List<SendResult> freshResults = new ArrayList<>();
            send(producer, topic, 12, 12, fresh, freshResults);
            // Same group again, still CONSUME_FROM_FIRST_OFFSET: the committed offset must win over it.
            Received again = consumeThenShutdown(group, topic, fresh, freshResults);
            for (int i = 0; i < fresh.size(); i++) {
                Compat.assertMatchesSendResult(freshResults.get(i),
                    again.messages().get(Compat.bodyOf(fresh.get(i))));
            }
        } finally {
            producer.shutdown();
        }
    }


    @Test
    void messagesAndOffsetsSurviveBrokerRestart() throws Exception {
        String restart = Compat.restartCommandOrSkip();
        String topic = Compat.unique("t_restart");
        String group = Compat.unique("cg");
        List<Message> consumed = new ArrayList<>();
        List<SendResult> consumedResults = new ArrayList<>();
        List<Message> pending = new ArrayList<>();
        List<SendResult> pendingResults = new ArrayList<>();

        DefaultMQProducer producer = Compat.startProducer();
        try {
            send(producer, topic, 0, 12, consumed, consumedResults);
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            consumeThenShutdown(group, topic, consumed, consumedResults);
            send(producer, topic, 12, 12, pending, pendingResults);
        } finally {
            producer.shutdown();
        }

        Compat.restartBroker(restart);

        producer = Compat.startProducer();
        try {
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            List<Message> after = new ArrayList<>();
            List<SendResult> afterResults = new ArrayList<>();
            send(producer, topic, 24, 12, after, afterResults);
            // The recovered queues continue where they were: no offset reused, none skipped.
            Map<Integer, Long> before = Compat.nextOffsets(pendingResults);
            Map<Integer, Long> firstAfter = new HashMap<>();
            for (SendResult r : afterResults) {
                firstAfter.merge(r.getMessageQueue().getQueueId(), r.getQueueOffset(), Math::min);
            }
            firstAfter.forEach((queue, offset) ->
                assertEquals(before.get(queue), offset, "first offset after restart in queue " + queue));
            pending.addAll(after);
            pendingResults.addAll(afterResults);

            // Group G committed the first 12 before the restart: it gets exactly the rest.
            Received rest = consumeThenShutdown(group, topic, pending, pendingResults);
            for (int i = 0; i < pending.size(); i++) {
                Compat.assertMatchesSendResult(pendingResults.get(i),
                    rest.messages().get(Compat.bodyOf(pending.get(i))));
            }

            // A new group reads everything, including what was stored before the restart.
            List<Message> all = new ArrayList<>(consumed);
            all.addAll(pending);
            List<SendResult> allResults = new ArrayList<>(consumedResults);
            allResults.addAll(pendingResults);
            Received everything = consumeThenShutdown(Compat.unique("cg"), topic, all, allResults);
            for (int i = 0; i < all.size(); i++) {
                MessageExt got = everything.messages().get(Compat.bodyOf(all.get(i)));
                Compat.assertMatchesSendResult(allResults.get(i), got);
            }
        } finally {
            producer.shutdown();
        }
    }
}
