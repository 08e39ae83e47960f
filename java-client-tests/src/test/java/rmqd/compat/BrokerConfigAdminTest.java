package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * mqadmin getBrokerConfig / updateBrokerConfig: GET_BROKER_CONFIG (26) lists the broker's keys,
 * UPDATE_BROKER_CONFIG (25) changes a key the broker reads at run time at once and writes it to the broker's
 * config file, so it survives a restart. Every test puts the keys it changed back.
 */
class BrokerConfigAdminTest {
    private static final int MESSAGE_ILLEGAL = 13;

    private static void update(DefaultMQAdminExt admin, String addr, String key, String value) throws Exception {
        Properties properties = new Properties();
        properties.setProperty(key, value);
        admin.updateBrokerConfig(addr, properties);
    }

    private static Message incompressible(String topic, int bytes) {
        byte[] body = new byte[bytes];
        new Random(bytes).nextBytes(body); // random bytes: the producer's compression cannot shrink them
        return new Message(topic, body);
    }

    @Test
    void configIsListedAndMaxMessageSizeTakesEffectAtOnce() throws Exception {
        String topic = Compat.unique("t_brkcfg");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        String addr = GroupAdminTest.brokerAddr(admin);
        Properties before = admin.getBrokerConfig(addr);
        String original = before.getProperty("maxMessageSize");
        try {
            assertEquals("broker-a", before.getProperty("brokerName"), () -> "brokerName in " + before);
            assertEquals("DefaultCluster", before.getProperty("brokerClusterName"));
            assertEquals(addr.substring(addr.lastIndexOf(':') + 1), before.getProperty("listenPort"));
            for (String key : new String[] {"autoCreateTopicEnable", "autoCreateSubscriptionGroup",
                "brokerPermission", "flushDiskType", "storePathRootDir", "messageDelayLevel"}) {
                assertNotNull(before.getProperty(key), () -> key + " in " + before.keySet());
            }
            assertNotNull(original, "maxMessageSize");

            Compat.sendSync(producer, List.of(incompressible(topic, 8192)));
            update(admin, addr, "maxMessageSize", "2048");
            assertEquals("2048", admin.getBrokerConfig(addr).getProperty("maxMessageSize"));
            MQBrokerException e = assertThrows(MQBrokerException.class,
                () -> producer.send(incompressible(topic, 8192)), "an 8 KiB body over maxMessageSize=2048");
            assertEquals(MESSAGE_ILLEGAL, e.getResponseCode(), () -> "answer " + e);
            Compat.sendSync(producer, List.of(incompressible(topic, 100)));

            update(admin, addr, "maxMessageSize", original);
            assertEquals(original, admin.getBrokerConfig(addr).getProperty("maxMessageSize"));
            Compat.sendSync(producer, List.of(incompressible(topic, 8192)));
        } finally {
            if (original != null) {
                update(admin, addr, "maxMessageSize", original);
            }
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void anUpdatedKeySurvivesABrokerRestart() throws Exception {
        String restart = Compat.restartCommandOrSkip();
        String topic = Compat.unique("t_brkcfg_restart");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        String addr = GroupAdminTest.brokerAddr(admin);
        DefaultMQPullConsumer consumer = null;
        try {
            SendResult sent = Compat.sendSync(producer, List.of(Compat.message(topic, "A", 0))).get(0);
            MessageQueue mq = sent.getMessageQueue();
            update(admin, addr, "autoCreateSubscriptionGroup", "false");
            Compat.restartBroker(restart);

            Properties after = admin.getBrokerConfig(addr);
            assertEquals("false", after.getProperty("autoCreateSubscriptionGroup"), "after the restart");
            consumer = GroupAdminTest.startPullConsumer(Compat.unique("cg_not_created"));
            DefaultMQPullConsumer pulling = consumer;
            MQBrokerException e = assertThrows(MQBrokerException.class, () -> pulling.pull(mq, "*", 0, 32),
                "pull of a group the broker may not create");
            assertEquals(GroupAdminTest.SUBSCRIPTION_GROUP_NOT_EXIST, e.getResponseCode(), () -> "answer " + e);
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            update(admin, addr, "autoCreateSubscriptionGroup", "true");
            admin.shutdown();
            producer.shutdown();
        }
    }

}
