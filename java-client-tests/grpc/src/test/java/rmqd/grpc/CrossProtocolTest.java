package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static rmqd.grpc.Grpc.PROVIDER;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

/** One store: what a remoting producer sends a gRPC consumer receives, and the reverse, with id, tag, keys,
 *  user properties and body intact. */
class CrossProtocolTest {
    @Test
    void remotingProducerToGrpcConsumer() throws Exception {
        String topic = Grpc.createTopic("r2g", "NORMAL");
        String group = Grpc.createGroup("r2g");
        DefaultMQProducer producer = new DefaultMQProducer(Grpc.unique("r2gpg"));
        producer.setNamesrvAddr(Grpc.namesrvAddr());
        producer.setInstanceName(Grpc.unique("inst"));
        producer.start();
        Map<String, String> sent = new ConcurrentHashMap<>(); // msgId -> body
        Map<String, MessageView> got = new ConcurrentHashMap<>();
        try (SimpleConsumer consumer = Grpc.simpleConsumer(group, topic)) {
            for (int i = 0; i < 5; i++) {
                Message msg = new Message(topic, "TagR", "rkey-" + i, ("from-remoting-" + i)
                    .getBytes(StandardCharsets.UTF_8));
                msg.putUserProperty("origin", "remoting");
                SendResult r = producer.send(msg);
                sent.put(r.getMsgId(), "from-remoting-" + i);
            }
            Grpc.receiveUntil(consumer, Duration.ofSeconds(30), Grpc.WAIT_MS, view -> {
                got.put(view.getMessageId().toString(), view);
                consumer.ack(view);
            }, () -> got.size() >= 5);
        } finally {
            producer.shutdown();
        }
        assertEquals(sent.keySet(), got.keySet(), "gRPC message ids are the remoting msgIds (UNIQ_KEY)");
        for (MessageView view : got.values()) {
            String body = Grpc.body(view);
            assertEquals(sent.get(view.getMessageId().toString()), body);
            assertEquals("TagR", view.getTag().orElse(null));
            assertEquals("rkey-" + body.substring("from-remoting-".length()), String.join(",", view.getKeys()));
            assertEquals("remoting", view.getProperties().get("origin"));
        }
    }

    @Test
    void grpcProducerToRemotingConsumer() throws Exception {
        String topic = Grpc.createTopic("g2r", "NORMAL");
        String group = Grpc.createGroup("g2r");
        Map<String, MessageExt> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(Grpc.namesrvAddr());
        consumer.setInstanceName(Grpc.unique("inst"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> got.put(m.getMsgId(), m));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        Map<String, String> sent = new ConcurrentHashMap<>();
        try (Producer producer = Grpc.producer(topic)) {
            for (int i = 0; i < 5; i++) {
                var msg = PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagG").setKeys("gkey-" + i)
                    .addProperty("origin", "grpc").setBody(Grpc.bytes("from-grpc-" + i)).build();
                sent.put(producer.send(msg).getMessageId().toString(), "from-grpc-" + i);
            }
            consumer.start();
            Grpc.await("5 messages at the remoting consumer", () -> got.size() >= 5);
        } finally {
            consumer.shutdown();
        }
        assertEquals(sent.keySet(), got.keySet(), "remoting msgIds are the gRPC message ids");
        for (MessageExt m : got.values()) {
            String body = new String(m.getBody(), StandardCharsets.UTF_8);
            assertEquals(sent.get(m.getMsgId()), body);
            assertEquals("TagG", m.getTags());
            assertEquals("gkey-" + body.substring("from-grpc-".length()), m.getKeys());
            assertEquals("grpc", m.getUserProperty("origin"));
        }
    }
}
