package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rmqd.grpc.Grpc.PROVIDER;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.junit.jupiter.api.Test;

/** NORMAL topic: SendMessage, SimpleConsumer ReceiveMessage/AckMessage, PushConsumer. */
class NormalMessageTest {
    @Test
    void simpleConsumerReceivesWhatWasSentAndAckedMessagesStayConsumed() throws Exception {
        String topic = Grpc.createTopic("normal", "NORMAL");
        String group = Grpc.createGroup("simple");
        Map<String, String> sentIds = new ConcurrentHashMap<>(); // message id -> body
        Map<String, MessageView> got = new ConcurrentHashMap<>();
        try (Producer producer = Grpc.producer(topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            for (int i = 0; i < 10; i++) {
                Message msg = PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagA").setKeys("key-" + i)
                    .addProperty("seq", Integer.toString(i)).setBody(Grpc.bytes("normal-" + i)).build();
                SendReceipt receipt = producer.send(msg);
                sentIds.put(receipt.getMessageId().toString(), "normal-" + i);
            }
            assertEquals(10, sentIds.size(), "every send returns its own message id");
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS, view -> {
                got.putIfAbsent(view.getMessageId().toString(), view);
                consumer.ack(view);
            }, () -> got.size() >= 10);
            for (MessageView view : got.values()) {
                String id = view.getMessageId().toString();
                assertTrue(sentIds.containsKey(id), "received a message that was not sent: " + id);
                String body = Grpc.body(view);
                assertEquals(sentIds.get(id), body);
                String seq = body.substring("normal-".length());
                assertEquals(topic, view.getTopic());
                assertEquals("TagA", view.getTag().orElse(null));
                assertEquals(List.of("key-" + seq), List.copyOf(view.getKeys()));
                assertEquals(seq, view.getProperties().get("seq"));
                assertEquals(1, view.getDeliveryAttempt());
                assertFalse(view.getMessageGroup().isPresent());
                assertFalse(view.getDeliveryTimestamp().isPresent());
            }
            // Acked with the minimum invisible duration: none comes back once it has passed.
            List<MessageView> again = Grpc.receiveFor(consumer, Grpc.MIN_INVISIBLE, 20_000);
            assertTrue(again.isEmpty(), "acked messages were delivered again: " + again);
        }
    }

    @Test
    void pushConsumerConsumesEveryMessage() throws Exception {
        String topic = Grpc.createTopic("push", "NORMAL");
        String group = Grpc.createGroup("push");
        Map<String, String> got = new ConcurrentHashMap<>();
        try (PushConsumer consumer = PROVIDER.newPushConsumerBuilder().setClientConfiguration(Grpc.config())
                .setConsumerGroup(group).setSubscriptionExpressions(Grpc.subscription(topic))
                .setMessageListener(view -> {
                    got.put(view.getMessageId().toString(), Grpc.body(view));
                    return ConsumeResult.SUCCESS;
                }).build();
             Producer producer = Grpc.producer(topic)) {
            Map<String, String> sent = new ConcurrentHashMap<>();
            for (int i = 0; i < 20; i++) {
                Message msg = PROVIDER.newMessageBuilder().setTopic(topic).setTag("push")
                    .setBody(Grpc.bytes("push-" + i)).build();
                sent.put(producer.send(msg).getMessageId().toString(), "push-" + i);
            }
            Grpc.await("20 messages at the push consumer", () -> got.size() >= 20);
            assertEquals(sent, got);
        }
    }
}
