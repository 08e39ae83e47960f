package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rmqd.grpc.Grpc.PROVIDER;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.junit.jupiter.api.Test;

/** A broker restart (RMQ_RESTART_CMD) with a gRPC producer and consumer connected: both carry on afterwards,
 *  and what was sent before the restart but not consumed is still there. */
class RestartTest {
    @Test
    void clientsSurviveABrokerRestart() throws Exception {
        String restart = Grpc.restartCommandOrSkip();
        String topic = Grpc.createTopic("restart", "NORMAL");
        String group = Grpc.createGroup("restart");
        Map<String, String> got = new ConcurrentHashMap<>(); // body -> id
        try (Producer producer = Grpc.producer(topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            String before = producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("r")
                .setBody(Grpc.bytes("before")).build()).getMessageId().toString();
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS, view -> {
                got.put(Grpc.body(view), view.getMessageId().toString());
                consumer.ack(view);
            }, () -> got.containsKey("before"));
            assertEquals(before, got.get("before"));
            String stored = producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("r")
                .setBody(Grpc.bytes("stored")).build()).getMessageId().toString();

            Process p = new ProcessBuilder("bash", "-c", restart).inheritIO().start();
            assertTrue(p.waitFor(180, TimeUnit.SECONDS), "RMQ_RESTART_CMD did not finish in 180 s");
            assertEquals(0, p.exitValue(), "RMQ_RESTART_CMD failed: " + restart);

            String[] after = new String[1];
            Grpc.await("a send after the restart", () -> {
                try {
                    after[0] = producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("r")
                        .setBody(Grpc.bytes("after")).build()).getMessageId().toString();
                    return true;
                } catch (Exception e) {
                    Grpc.log("send after restart: %s", e);
                    return false;
                }
            });
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), 150_000, view -> {
                got.put(Grpc.body(view), view.getMessageId().toString());
                consumer.ack(view);
            }, () -> got.containsKey("stored") && got.containsKey("after"));
            assertEquals(stored, got.get("stored"));
            assertEquals(after[0], got.get("after"));
        }
    }
}
