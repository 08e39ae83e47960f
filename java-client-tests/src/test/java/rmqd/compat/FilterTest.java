package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/**
 * SQL92 property filters (MessageSelector.bySql). The broker must run with enablePropertyFilter=true
 * (BROKER_EXTRA_CONF), as a Java broker must.
 */
class FilterTest {

    private static DefaultMQPushConsumer sqlConsumer(String group, String topic, String sql) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, MessageSelector.bySql(sql));
        return consumer;
    }

    @Test
    void sqlConsumerReceivesExactlyTheMatchingMessages() throws Exception {
        String topic = Compat.unique("t_sql");
        String sql = "(color = 'red' AND seq BETWEEN 4 AND 15 AND TAGS IN ('Tag0', 'Tag1'))"
            + " OR seq = 19 OR missing = 'x' OR (seq > 100 AND seq IS NOT NULL)";
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            List<Message> sent = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                Message msg = Compat.message(topic, "Tag" + (i % 3), i);
                sent.add(msg);
                boolean red = i % 2 == 0;
                if ((red && i >= 4 && i <= 15 && i % 3 != 2) || i == 19) {
                    expected.add(Compat.bodyOf(msg));
                }
            }
            Compat.sendSync(producer, sent);
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);

            Received received = new Received();
            consumer = sqlConsumer(Compat.unique("cg_sql"), topic, sql);
            consumer.registerMessageListener(received.listener());
            consumer.start();
            received.awaitExactly(expected, "SQL92 " + sql);
            for (Message msg : sent) {
                if (expected.contains(Compat.bodyOf(msg))) {
                    Compat.assertSameContent(msg, received.messages().get(Compat.bodyOf(msg)));
                }
            }
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
    }

    @Test
    void invalidSqlIsRefusedAtStartWithSubscriptionParseFailed() throws Exception {
        String topic = Compat.unique("t_sqlbad");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            Compat.sendSync(producer, List.of(Compat.message(topic, "TagA", 0)));
            Compat.awaitRoute(producer, topic, Compat.AUTO_TOPIC_QUEUES);
            // The client asks the broker to compile the expression (CHECK_CLIENT_CONFIG) while starting.
            consumer = sqlConsumer(Compat.unique("cg_sqlbad"), topic, "seq > 'abc'");
            consumer.registerMessageListener(new Received().listener());
            DefaultMQPushConsumer starting = consumer;
            MQClientException e = assertThrows(MQClientException.class, starting::start);
            assertEquals(23, e.getResponseCode(), () -> "SUBSCRIPTION_PARSE_FAILED expected, got " + e);
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
    }
}
