package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static rmqd.grpc.Grpc.PROVIDER;

import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.junit.jupiter.api.Test;

/**
 * A message whose type differs from the topic's message.type is refused. rocketmq-client-java 5.2.0 refuses
 * it itself from the route (QueryRoute's MessageQueue.accept_message_types), with an IllegalArgumentException
 * naming both types, so what this proves is that the endpoint reports the topic's message type in the route.
 * The server's own refusal (MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, 40014) is checked by the Go suite, whose
 * client does not check first (compat-tests/go-v5 TestWrongMessageTypeRefused).
 */
class MessageTypeTest {
    private static void assertRefused(Producer producer, Message msg, String actual, String accepted) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> producer.send(msg));
        String want = "actualMessageType=" + actual + ", acceptMessageTypes=[" + accepted + "]";
        assertTrue(e.getMessage().contains(want), "expected " + want + ", got: " + e.getMessage());
    }

    @Test
    void normalMessageToFifoTopicIsRefused() throws Exception {
        String topic = Grpc.createTopic("fifoonly", "FIFO");
        try (Producer producer = Grpc.producer(topic)) {
            assertRefused(producer, PROVIDER.newMessageBuilder().setTopic(topic).setBody(Grpc.bytes("n")).build(),
                "NORMAL", "FIFO");
        }
    }

    @Test
    void fifoAndDelayMessagesToNormalTopicAreRefused() throws Exception {
        String topic = Grpc.createTopic("normalonly", "NORMAL");
        try (Producer producer = Grpc.producer(topic)) {
            assertRefused(producer, PROVIDER.newMessageBuilder().setTopic(topic).setMessageGroup("g")
                .setBody(Grpc.bytes("f")).build(), "FIFO", "NORMAL");
            assertRefused(producer, PROVIDER.newMessageBuilder().setTopic(topic)
                .setDeliveryTimestamp(System.currentTimeMillis() + 60_000).setBody(Grpc.bytes("d")).build(),
                "DELAY", "NORMAL");
            // And a matching message still goes through.
            producer.send(PROVIDER.newMessageBuilder().setTopic(topic).setBody(Grpc.bytes("ok")).build());
        }
    }

    @Test
    void transactionalMessageToNormalTopicIsRefused() throws Exception {
        String topic = Grpc.createTopic("normaltx", "NORMAL");
        try (Producer producer = Grpc.transactionalProducer(v -> TransactionResolution.ROLLBACK, topic)) {
            Message msg = PROVIDER.newMessageBuilder().setTopic(topic).setBody(Grpc.bytes("t")).build();
            var tx = producer.beginTransaction();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> producer.send(msg, tx));
            String want = "actualMessageType=TRANSACTION, acceptMessageTypes=[NORMAL]";
            assertTrue(e.getMessage().contains(want), "expected " + want + ", got: " + e.getMessage());
        }
    }
}
