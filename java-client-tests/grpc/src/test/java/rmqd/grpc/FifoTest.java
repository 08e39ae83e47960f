package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static rmqd.grpc.Grpc.PROVIDER;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.junit.jupiter.api.Test;

/** FIFO topic + FIFO group (consumeMessageOrderly): each message group is consumed in send order. */
class FifoTest {
    @Test
    void messagesOfOneMessageGroupAreReceivedInSendOrder() throws Exception {
        String topic = Grpc.createTopic("fifo", "FIFO");
        String group = Grpc.createGroup("fifo", true, 16);
        int groups = 3;
        int perGroup = 10;
        Map<String, List<Integer>> order = new ConcurrentHashMap<>();
        AtomicInteger total = new AtomicInteger();
        try (Producer producer = Grpc.producer(topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            for (int i = 0; i < perGroup; i++) {
                for (int g = 0; g < groups; g++) {
                    Message msg = PROVIDER.newMessageBuilder().setTopic(topic).setTag("fifo")
                        .setMessageGroup("mg-" + g).setBody(Grpc.bytes(g + ":" + i)).build();
                    producer.send(msg);
                }
            }
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS, view -> {
                String[] parts = Grpc.body(view).split(":");
                assertEquals("mg-" + parts[0], view.getMessageGroup().orElse(null), "message group of " + parts[0]);
                order.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(Integer.parseInt(parts[1]));
                total.incrementAndGet();
                consumer.ack(view);
            }, () -> total.get() >= groups * perGroup);
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < perGroup; i++) {
            expected.add(i);
        }
        for (int g = 0; g < groups; g++) {
            assertEquals(expected, order.get(Integer.toString(g)), "receive order of message group mg-" + g);
        }
    }
}
