package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rmqd.grpc.Grpc.PROVIDER;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.junit.jupiter.api.Test;

/** TRANSACTION topic: half message + EndTransaction commit/rollback, and the broker's check-back
 *  (RecoverOrphanedTransactionCommand over Telemetry) resolving a transaction the producer left open. */
class TransactionTest {
    private static Message message(String topic, String body) {
        return PROVIDER.newMessageBuilder().setTopic(topic).setTag("tx").setKeys(body).setBody(Grpc.bytes(body))
            .build();
    }

    @Test
    void committedIsDeliveredRolledBackNever() throws Exception {
        String topic = Grpc.createTopic("tx", "TRANSACTION");
        String group = Grpc.createGroup("tx");
        Map<String, String> got = new ConcurrentHashMap<>();
        try (Producer producer = Grpc.transactionalProducer(view -> TransactionResolution.UNKNOWN, topic);
             SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            Transaction rollback = producer.beginTransaction();
            producer.send(message(topic, "rolled-back"), rollback);
            rollback.rollback();
            Transaction commit = producer.beginTransaction();
            String committedId = producer.send(message(topic, "committed"), commit).getMessageId().toString();
            commit.commit();
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS, view -> {
                got.put(Grpc.body(view), view.getMessageId().toString());
                consumer.ack(view);
            }, () -> got.containsKey("committed"));
            assertEquals(committedId, got.get("committed"));
            List<MessageView> later = Grpc.receiveFor(consumer, Duration.ofSeconds(30), 10_000);
            later.forEach(v -> got.put(Grpc.body(v), v.getMessageId().toString()));
            assertEquals(Set.of("committed"), got.keySet(), "only the committed message is delivered");
        }
    }

    @Test
    void orphanedTransactionIsResolvedByTheChecker() throws Exception {
        String topic = Grpc.createTopic("txcheck", "TRANSACTION");
        String group = Grpc.createGroup("txcheck");
        Map<String, String> checked = new ConcurrentHashMap<>(); // message id -> body
        Map<String, String> got = new ConcurrentHashMap<>();
        try (Producer producer = Grpc.transactionalProducer(view -> {
            checked.put(view.getMessageId().toString(), Grpc.body(view));
            return TransactionResolution.COMMIT;
        }, topic); SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            Transaction orphan = producer.beginTransaction();
            String id = producer.send(message(topic, "orphan"), orphan).getMessageId().toString();
            // Neither commit nor rollback: the broker asks the producer (transactionCheckInterval, 30 s in Java).
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), 150_000, view -> {
                got.put(view.getMessageId().toString(), Grpc.body(view));
                consumer.ack(view);
            }, () -> got.containsKey(id));
            assertEquals("orphan", checked.get(id), "the checker was asked about the orphaned message");
            assertEquals("orphan", got.get(id));
            assertTrue(checked.keySet().stream().allMatch(id::equals), "checker asked only about " + id);
        }
    }
}
