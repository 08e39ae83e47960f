package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static rmqd.grpc.Grpc.PROVIDER;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.Test;

/** A message never acked is delivered max-delivery-attempts times (group retryMaxTimes + 1), then moved to the
 *  group's dead letter topic %DLQ%group, which a remoting consumer can read. */
class RetryDlqTest {
    @Test
    void unackedMessageGoesToDlqAfterMaxDeliveryAttempts() throws Exception {
        String topic = Grpc.createTopic("dlq", "NORMAL");
        String group = Grpc.createGroup("dlq", false, 1); // max delivery attempts 2
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        String id;
        try (Producer producer = Grpc.producer(topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            Message msg = PROVIDER.newMessageBuilder().setTopic(topic).setTag("dlq").setKeys("dlq-key")
                .setBody(Grpc.bytes("to-dlq")).build();
            id = producer.send(msg).getMessageId().toString();
            // Receive and never ack: every delivery comes back after the invisible duration until the attempts are
            // used up; the next receive moves it to the DLQ instead of delivering it.
            Map<String, MessageExt> dlq = new ConcurrentHashMap<>();
            DefaultLitePullConsumer reader = dlqReader(group);
            try {
                Grpc.receiveUntil(consumer, Grpc.MIN_INVISIBLE, 240_000, view -> {
                    assertEquals(id, view.getMessageId().toString());
                    attempts.add(view.getDeliveryAttempt());
                }, () -> {
                    pollDlq(reader, group, dlq);
                    return dlq.containsKey(id);
                });
            } finally {
                reader.shutdown();
            }
            MessageExt dead = dlq.get(id);
            assertEquals("to-dlq", new String(dead.getBody(), java.nio.charset.StandardCharsets.UTF_8));
            assertEquals("dlq", dead.getTags());
            assertEquals("dlq-key", dead.getKeys());
        }
        assertEquals(List.of(1, 2), attempts, "delivery attempts before the DLQ");
    }

    private static DefaultLitePullConsumer dlqReader(String group) throws Exception {
        DefaultLitePullConsumer reader = new DefaultLitePullConsumer(Grpc.unique("dlqreader"));
        reader.setNamesrvAddr(Grpc.namesrvAddr());
        reader.setInstanceName(Grpc.unique("inst"));
        reader.setAutoCommit(false);
        reader.start();
        return reader;
    }

    /** Assigns the DLQ's queues once the topic exists (the broker creates it with the first dead message). */
    private static void pollDlq(DefaultLitePullConsumer reader, String group, Map<String, MessageExt> into) {
        try {
            if (reader.assignment() == null || reader.assignment().isEmpty()) {
                Collection<MessageQueue> queues = reader.fetchMessageQueues(MixAll.getDLQTopic(group));
                if (queues.isEmpty()) {
                    return;
                }
                reader.assign(new ArrayList<>(queues));
                for (MessageQueue mq : queues) {
                    reader.seek(mq, 0);
                }
            }
            for (MessageExt m : reader.poll(1_000)) {
                into.put(m.getMsgId(), m);
            }
        } catch (Exception e) {
            // %DLQ%group has no route yet.
        }
    }
}
