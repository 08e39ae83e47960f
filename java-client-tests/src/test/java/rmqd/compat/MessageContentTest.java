package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

/** What a message carries: compressed and large bodies, non-ASCII properties, the client's unique key. */
class MessageContentTest {
    /** Broker default maxMessageSize (4 MiB); the client's default limit is the same. */
    private static final int MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
    /** MessageSysFlag.COMPRESSED_FLAG. */
    private static final int COMPRESSED_FLAG = 0x1;
    /** ResponseCode.MESSAGE_ILLEGAL. */
    private static final int MESSAGE_ILLEGAL = 13;

    private static byte[] randomBytes(int size, long seed) {
        byte[] body = new byte[size];
        new Random(seed).nextBytes(body);
        return body;
    }

    /** Sends one message and returns it as a push consumer of a new group receives it. */
    private static MessageExt roundTrip(DefaultMQProducer producer, Message msg) throws Exception {
        SendResult result = producer.send(msg);
        Compat.assertSendOk(result);
        AtomicReference<MessageExt> got = new AtomicReference<>();
        DefaultMQPushConsumer consumer = Compat.pushConsumer(Compat.unique("cg_content"), msg.getTopic(), "*");
        consumer.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently)
            (msgs, ctx) -> {
                got.compareAndSet(null, msgs.get(0));
                return org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
        consumer.start();
        try {
            Compat.await("delivery of " + result.getMsgId(), () -> got.get() != null);
        } finally {
            consumer.shutdown();
        }
        MessageExt ext = got.get();
        assertEquals(result.getMsgId(), ext.getMsgId(), "msgId (UNIQ_KEY) seen by the consumer");
        return ext;
    }

    @Test
    void compressedBodyIsStoredCompressedAndDeliveredOriginal() throws Exception {
        String topic = Compat.unique("t_zip");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            // Highly compressible and above the client's 4 KiB compression threshold.
            StringBuilder text = new StringBuilder("body-" + topic + "|");
            while (text.length() < 64 * 1024) {
                text.append("compress me ");
            }
            byte[] body = text.toString().getBytes(StandardCharsets.UTF_8);
            Message msg = new Message(topic, "TagZ", "key-zip", body);
            MessageExt got = roundTrip(producer, msg);
            assertArrayEquals(body, got.getBody(), "the consumer gets the uncompressed body");
            if (Compat.clientVersion().startsWith("4.")) {
                // 5.x clients clear the flag once they have inflated the body.
                assertEquals(COMPRESSED_FLAG, got.getSysFlag() & COMPRESSED_FLAG, "sysFlag keeps COMPRESSED_FLAG");
            }
            assertTrue(got.getStoreSize() < body.length / 4,
                "stored record (" + got.getStoreSize() + " bytes) holds the compressed body");
        } finally {
            producer.shutdown();
        }
    }

    @Test
    void bodyNearTheLimitIsAcceptedAndOneByteBeyondIsRefused() throws Exception {
        String topic = Compat.unique("t_large");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            // Random bytes do not compress; 64 KiB below the limit leaves room for the record's header and
            // properties, which Java 4.9 counts against maxMessageSize too.
            byte[] body = randomBytes(MAX_MESSAGE_SIZE - 64 * 1024, 1);
            MessageExt got = roundTrip(producer, new Message(topic, "TagL", "key-large", body));
            assertArrayEquals(body, got.getBody(), "large body round-trips");

            // Lift the client's own check so the broker's limit is the one that answers.
            producer.setMaxMessageSize(2 * MAX_MESSAGE_SIZE);
            Message tooLarge = new Message(topic, "TagL", "key-too-large", randomBytes(MAX_MESSAGE_SIZE + 1, 2));
            MQBrokerException e = assertThrows(MQBrokerException.class, () -> producer.send(tooLarge));
            assertEquals(MESSAGE_ILLEGAL, e.getResponseCode(), () -> "refusal of a too large body: " + e);
        } finally {
            producer.shutdown();
        }
    }

    @Test
    void nonAsciiPropertiesRoundTrip() throws Exception {
        String topic = Compat.unique("t_utf8");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String chinese = "\u6d88\u606f\u961f\u5217-\u4e2d\u6587";
            String emoji = "rocket \uD83D\uDE80 \uD83C\uDF89 done";
            Message msg = new Message(topic, "TagU", "key-\u952e", ("body-" + topic).getBytes(StandardCharsets.UTF_8));
            msg.putUserProperty("chinese", chinese);
            msg.putUserProperty("emoji", emoji);
            msg.putUserProperty("\u5c5e\u6027", "name is non-ASCII too");
            MessageExt got = roundTrip(producer, msg);
            assertEquals(chinese, got.getUserProperty("chinese"));
            assertEquals(emoji, got.getUserProperty("emoji"));
            assertEquals("name is non-ASCII too", got.getUserProperty("\u5c5e\u6027"));
            assertEquals("key-\u952e", got.getKeys());
        } finally {
            producer.shutdown();
        }
    }

    @Test
    void uniqueKeyIsTheConsumersMsgIdAndIsQueryable() throws Exception {
        String topic = Compat.unique("t_uniq");
        DefaultMQProducer producer = Compat.startProducer();
        try {
            Message msg = new Message(topic, "TagQ", ("body-" + topic).getBytes(StandardCharsets.UTF_8));
            MessageExt got = roundTrip(producer, msg);
            String msgId = got.getMsgId();
            assertEquals(msgId, got.getProperty("UNIQ_KEY"), "UNIQ_KEY property is the msgId");
            assertTrue(!msgId.equals(Compat.offsetMsgIdOf(got)), "msgId is the client's id, not the offset id");

            // Query by unique key (QUERY_MESSAGE with _UNIQUE_KEY_QUERY): the index holds topic#UNIQ_KEY.
            AtomicReference<MessageExt> found = new AtomicReference<>();
            Compat.await("query by unique key " + msgId, () -> {
                try {
                    found.set(producer.getDefaultMQProducerImpl().queryMessageByUniqKey(topic, msgId));
                    return found.get() != null;
                } catch (Exception e) {
                    return false;
                }
            });
            assertEquals(msgId, found.get().getMsgId());
            assertArrayEquals(msg.getBody(), found.get().getBody());
        } finally {
            producer.shutdown();
        }
    }
}
