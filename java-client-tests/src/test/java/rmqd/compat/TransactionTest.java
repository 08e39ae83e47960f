package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Transactional messages (half messages, END_TRANSACTION, CHECK_TRANSACTION_STATE): committed messages are
 * delivered, rolled-back ones never, and an UNKNOW one once the broker's check-back gets COMMIT.
 * The check-back waits for the broker's transactionCheckInterval; run the brokers with
 * BROKER_EXTRA_CONF='transactionCheckInterval=3000\ntransactionTimeOut=1000' to make it quick. With the
 * defaults (60 s / 30 s) the test still passes, slowly.
 */
class TransactionTest {
    /** Enough for one default 4.x check interval (60 s) plus the 6 s transaction timeout and some slack. */
    private static final long CHECK_WAIT_MS = 150_000;

    private final List<Runnable> cleanup = new ArrayList<>();
    /** body of an UNKNOW transaction → how often the broker asked about it. */
    private final Map<String, Integer> checks = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        cleanup.forEach(Runnable::run);
    }

    /** Answers with the state named by the message's "outcome" property; a check-back commits UNKNOW ones. */
    private TransactionMQProducer startProducer() throws Exception {
        TransactionMQProducer producer = new TransactionMQProducer(Compat.unique("pg_tx"));
        producer.setNamesrvAddr(Compat.namesrvAddr());
        producer.setInstanceName(Compat.unique("inst"));
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return LocalTransactionState.valueOf(msg.getUserProperty("outcome"));
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                // A decided transaction may be checked too: Java 5.x brokers write their op messages in
                // batches every 3 s, so with a short transactionTimeOut a check can come first.
                LocalTransactionState decided = LocalTransactionState.valueOf(msg.getUserProperty("outcome"));
                if (decided != LocalTransactionState.UNKNOW) {
                    return decided;
                }
                checks.merge(Compat.bodyOf(msg), 1, Integer::sum);
                return LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        producer.start();
        cleanup.add(producer::shutdown);
        return producer;
    }

    private Message send(TransactionMQProducer producer, String topic, String outcome, int i) throws Exception {
        Message msg = Compat.message(topic, "TagTx", i);
        msg.putUserProperty("outcome", outcome);
        TransactionSendResult result = producer.sendMessageInTransaction(msg, null);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), () -> "send status of " + result);
        assertEquals(LocalTransactionState.valueOf(outcome), result.getLocalTransactionState());
        assertTrue(result.getMsgId() != null && !result.getMsgId().isEmpty(), () -> "msgId in " + result);
        return msg;
    }

    @Test
    void committedDeliveredRolledBackNeverUnknownAfterCheck() throws Exception {
        TransactionMQProducer producer = startProducer();
        String topic = Compat.unique("t_tx");
        List<String> expected = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        List<String> rolledBack = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String outcome = new String[] {"COMMIT_MESSAGE", "ROLLBACK_MESSAGE", "UNKNOW"}[i % 3];
            Message msg = send(producer, topic, outcome, i);
            String body = Compat.bodyOf(msg);
            switch (outcome) {
                case "COMMIT_MESSAGE":
                    expected.add(body);
                    break;
                case "UNKNOW":
                    expected.add(body);
                    unknown.add(body);
                    break;
                default:
                    rolledBack.add(body);
            }
        }

        Received received = new Received();
        DefaultMQPushConsumer consumer = Compat.pushConsumer(Compat.unique("cg_tx"), topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        cleanup.add(consumer::shutdown);

        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_WAIT_MS);
        while (!received.containsAll(expected)) {
            assertTrue(System.nanoTime() < deadline, () -> "committed and checked-back messages: got "
                + received.messages().keySet() + ", checks " + checks);
            Compat.sleep(100);
        }
        Compat.sleep(Compat.QUIET_MS);
        received.assertNoDuplicates("transactional consumer");
        for (String body : rolledBack) {
            assertTrue(!received.messages().containsKey(body), "rolled back but delivered: " + body);
        }
        assertEquals(expected.size(), received.size(), "only committed messages are delivered");
        assertEquals(new java.util.TreeSet<>(unknown), new java.util.TreeSet<>(checks.keySet()),
            "each undecided transaction was checked back");
        for (String body : expected) {
            MessageExt got = received.messages().get(body);
            assertEquals(topic, got.getTopic(), body + ": real topic");
            assertEquals("TagTx", got.getTags(), body + ": tag");
            assertEquals(0, got.getReconsumeTimes(), body + ": reconsume times");
        }
    }
}
