package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rmqd.grpc.Grpc.PROVIDER;

import java.time.Duration;
import java.util.List;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.junit.jupiter.api.Test;

/** ChangeInvisibleDuration: the message comes back after the new duration (not the one it was received
 *  with), and not before it. */
class InvisibleDurationTest {
    /** Java's pop revive works at the timer's 1 s precision (MessageStoreConfig timerPrecisionMs). */
    private static final long REVIVE_PRECISION_MS = 1_000;

    @Test
    void messageReturnsAfterTheNewInvisibleDuration() throws Exception {
        String topic = Grpc.createTopic("invisible", "NORMAL");
        String group = Grpc.createGroup("invisible");
        try (Producer producer = Grpc.producer(topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            String id = producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("inv")
                .setBody(Grpc.bytes("invisible")).build()).getMessageId().toString();
            // Received invisible for 5 minutes: without the change it would not be back within this test.
            MessageView first = receiveOne(consumer, Duration.ofMinutes(5), Grpc.WAIT_MS);
            assertEquals(id, first.getMessageId().toString());
            assertEquals(1, first.getDeliveryAttempt());
            long changedAt = System.currentTimeMillis();
            consumer.changeInvisibleDuration(first, Duration.ofSeconds(10));
            MessageView again = receiveOne(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS);
            long backAt = System.currentTimeMillis();
            assertEquals(id, again.getMessageId().toString());
            assertEquals(2, again.getDeliveryAttempt());
            assertTrue(backAt - changedAt >= 10_000 - REVIVE_PRECISION_MS,
                "redelivered " + (backAt - changedAt) + " ms after a change to 10 s");
            consumer.ack(again);
        }
    }

    private static MessageView receiveOne(SimpleConsumer consumer, Duration invisible, long waitMs)
        throws Exception {
        long deadline = System.currentTimeMillis() + waitMs;
        while (System.currentTimeMillis() < deadline) {
            List<MessageView> views = consumer.receive(1, invisible);
            if (!views.isEmpty()) {
                assertEquals(1, views.size());
                return views.get(0);
            }
        }
        throw new AssertionError("nothing received in " + waitMs + " ms");
    }
}
