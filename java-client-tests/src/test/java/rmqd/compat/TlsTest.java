package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * TLS against a broker whose name server and broker ports run {@code tls.server.mode=enforcing} (started by
 * scripts/tls-test.sh; skipped unless RMQ_TLS_TEST=1). The client turns TLS on with {@code setUseTLS(true)},
 * which is what {@code -Dtls.enable=true} sets by default, and then uses it for every remoting connection,
 * the name server included. It trusts the server's certificate through its default
 * {@code tls.test.mode.enable=true} (any certificate), as Java's own test setups do.
 */
class TlsTest {
    private final List<Runnable> cleanup = new ArrayList<>();

    @BeforeEach
    void onlyWhenAsked() {
        assumeTrue("1".equals(System.getenv("RMQ_TLS_TEST")),
            "RMQ_TLS_TEST=1 and a broker in tls.server.mode=enforcing (scripts/tls-test.sh) are needed");
    }

    @AfterEach
    void stop() {
        cleanup.forEach(Runnable::run);
    }

    private DefaultMQProducer producer(boolean tls) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(Compat.unique("pg_tls"));
        producer.setNamesrvAddr(Compat.namesrvAddr());
        producer.setInstanceName(Compat.unique("inst"));
        producer.setUseTLS(tls);
        producer.setSendMsgTimeout(5_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();
        cleanup.add(producer::shutdown);
        return producer;
    }

    @Test
    void tlsProducerAndConsumerExchangeMessages() throws Exception {
        String topic = Compat.unique("t_tls");
        DefaultMQProducer producer = producer(true);
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            messages.add(Compat.message(topic, "TagA", i));
        }
        Compat.sendSync(producer, messages);

        Received received = new Received();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(Compat.unique("cg_tls"));
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.setUseTLS(true);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        cleanup.add(consumer::shutdown);
        List<String> expected = new ArrayList<>();
        messages.forEach(m -> expected.add(Compat.bodyOf(m)));
        received.awaitExactly(expected, topic);
    }

    @Test
    void plainProducerIsRefused() throws Exception {
        DefaultMQProducer producer = producer(false);
        Message msg = Compat.message(Compat.unique("t_plain"), "TagA", 0);
        // Enforcing closes the plain connection: no route from the name server, so the send fails.
        assertThrows(Exception.class, () -> producer.send(msg));
    }
}
