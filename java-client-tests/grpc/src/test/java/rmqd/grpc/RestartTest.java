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
import org.junit.jupiter.api.Timeout;

/** A broker restart (RMQ_RESTART_CMD) with a gRPC producer and consumer connected: both carry on afterwards,
 *  and what was sent before the restart but not consumed is still there. */
class RestartTest {
    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS) // restart (180 s) + send (180 s) + receive
    void clientsSurviveABrokerRestart() throws Exception {
        String restart = Grpc.restartCommandOrSkip();
        String topic = Grpc.createTopic("restart", "NORMAL");
        String group = Grpc.createGroup("restart");
        Map<String, String> got = new ConcurrentHashMap<>(); // body -> id
        Producer producer = Grpc.producer(topic);
        SimpleConsumer consumer = Grpc.simpleConsumer(group, topic);
        try {
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

            // grpc-java fails calls fast while the channel is in TRANSIENT_FAILURE and reconnects with exponential
            // backoff (1 s x 1.6, up to 120 s), so after a broker that was down ~30 s the first send may only
            // get through a minute or more later.
            String[] after = new String[1];
            Grpc.await("a send after the restart", 180_000, () -> {
                try {
                    after[0] = producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("r")
                        .setBody(Grpc.bytes("after")).build()).getMessageId().toString();
                    return true;
                } catch (Exception e) {
                    Grpc.log("send after restart: %s", e);
                    return false;
                }
            });
            // The consumer's channel goes through the same backoff: receive errors are retried until the deadline.
            long deadline = System.currentTimeMillis() + 180_000;
            while (!(got.containsKey("stored") && got.containsKey("after"))) {
                assertTrue(System.currentTimeMillis() < deadline, "not received 180 s after the restart: " + got);
                try {
                    for (var view : consumer.receive(16, Duration.ofSeconds(30))) {
                        got.put(Grpc.body(view), view.getMessageId().toString());
                        consumer.ack(view);
                    }
                } catch (Exception e) {
                    Grpc.log("receive after restart: %s", e);
                    Thread.sleep(1_000);
                }
            }
            assertEquals(stored, got.get("stored"));
            assertEquals(after[0], got.get("after"));
        } finally {
            closeWithin(producer, consumer);
        }
    }

    /** rocketmq-client-java's close() can wait uninterruptibly after a broker restart (seen against Java 5.3.3:
     *  ProducerImpl.close in awaitTerminated); what is tested here is the traffic, so a close that does not
     *  finish in 30 s is logged and left to the daemon thread. */
    private static void closeWithin(AutoCloseable... clients) throws InterruptedException {
        Thread closer = new Thread(() -> {
            for (AutoCloseable c : clients) {
                try {
                    c.close();
                } catch (Exception e) {
                    Grpc.log("close after restart: %s", e);
                }
            }
        }, "restart-test-close");
        closer.setDaemon(true);
        closer.start();
        closer.join(30_000);
        if (closer.isAlive()) {
            Grpc.log("clients still closing 30 s after the restart test; left to a daemon thread");
        }
    }
}
