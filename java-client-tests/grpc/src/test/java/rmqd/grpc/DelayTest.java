package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rmqd.grpc.Grpc.PROVIDER;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.junit.jupiter.api.Test;

/** DELAY topic: a message with a delivery timestamp is not delivered before it. */
class DelayTest {
    /** Java's timer wheel works at timerPrecisionMs (MessageStoreConfig, 1000 ms by default) and may fire up to
     *  one slot before the exact millisecond. */
    private static final long TIMER_PRECISION_MS = 1_000;

    @Test
    void deliveryTimestampIsHonoured() throws Exception {
        String topic = Grpc.createTopic("delay", "DELAY");
        String group = Grpc.createGroup("delay");
        Map<String, Long> deliverAt = new ConcurrentHashMap<>(); // body -> delivery timestamp
        Map<String, Long> receivedAt = new ConcurrentHashMap<>();
        Map<String, Long> reportedDeliverAt = new ConcurrentHashMap<>();
        try (Producer producer = Grpc.producer(topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            for (int i = 0; i < 3; i++) {
                long at = System.currentTimeMillis() + 10_000 + i * 2_000L;
                Message msg = PROVIDER.newMessageBuilder().setTopic(topic).setTag("delay")
                    .setDeliveryTimestamp(at).setBody(Grpc.bytes("delay-" + i)).build();
                producer.send(msg);
                deliverAt.put("delay-" + i, at);
            }
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS, view -> {
                long now = System.currentTimeMillis();
                String body = Grpc.body(view);
                receivedAt.putIfAbsent(body, now);
                view.getDeliveryTimestamp().ifPresent(ts -> reportedDeliverAt.put(body, ts));
                consumer.ack(view);
            }, () -> receivedAt.size() >= 3);
        }
        for (Map.Entry<String, Long> e : deliverAt.entrySet()) {
            long got = receivedAt.get(e.getKey());
            assertTrue(got >= e.getValue() - TIMER_PRECISION_MS,
                e.getKey() + " delivered " + (e.getValue() - got) + " ms before its delivery timestamp");
            assertEquals(e.getValue(), reportedDeliverAt.get(e.getKey()), "delivery timestamp of " + e.getKey());
        }
    }
}
