package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * 5.x topic attributes (mqadmin {@code updateTopic -a +message.type=FIFO}): UPDATE_AND_CREATE_TOPIC (17) with the
 * {@code attributes} header, UPDATE_AND_CREATE_TOPIC_LIST (18) with attributes in the body, and what
 * GET_TOPIC_CONFIG (351) and GET_ALL_TOPIC_CONFIG (21) show. A 4.x TopicConfig has no attributes: skipped with
 * client 4.9.8. The 5.x-only methods are called through reflection so the class compiles with both clients.
 */
class TopicAttributesTest {
    static final int SYSTEM_ERROR = 1;
    static final int INVALID_PARAMETER = 29;

    private static void assumeAttributes() {
        try {
            TopicConfig.class.getMethod("setAttributes", Map.class);
        } catch (NoSuchMethodException e) {
            assumeTrue(false, "client " + Compat.clientVersion() + " has no topic attributes");
        }
    }

    private static TopicConfig config(String topic, String... keyValues) throws Exception {
        TopicConfig config = new TopicConfig(topic, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            attributes.put(keyValues[i], keyValues[i + 1]);
        }
        TopicConfig.class.getMethod("setAttributes", Map.class).invoke(config, attributes);
        return config;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> attributesOf(Object config) throws Exception {
        return (Map<String, String>) config.getClass().getMethod("getAttributes").invoke(config);
    }

    /** GET_TOPIC_CONFIG (351) through {@code examineTopicConfig(addr, topic)}. */
    private static Map<String, String> examined(DefaultMQAdminExt admin, String addr, String topic) throws Exception {
        Method examine = admin.getClass().getMethod("examineTopicConfig", String.class, String.class);
        return attributesOf(examine.invoke(admin, addr, topic));
    }

    /** The topic's entry in GET_ALL_TOPIC_CONFIG (21). */
    @SuppressWarnings("unchecked")
    private static Map<String, String> listed(DefaultMQAdminExt admin, String addr, String topic) throws Exception {
        Object wrapper = admin.getClass().getMethod("getAllTopicConfig", String.class, long.class)
            .invoke(admin, addr, 5_000L);
        Map<String, ?> table = (Map<String, ?>) wrapper.getClass().getMethod("getTopicConfigTable").invoke(wrapper);
        return attributesOf(table.get(topic));
    }

    private static Map<String, String> map(String... keyValues) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private static void assertRefused(int code, String remark, Executable call) {
        MQClientException e = assertThrows(MQClientException.class, call::run);
        assertEquals(code, e.getResponseCode(), e.toString());
        assertEquals(remark, e.getErrorMessage());
    }

    interface Executable {
        void run() throws Exception;
    }

    @Test
    void attributesAreCreatedAlteredAndShown() throws Exception {
        assumeAttributes();
        String topic = Compat.unique("t_attr");
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            String addr = GroupAdminTest.brokerAddr(admin);
            admin.createAndUpdateTopicConfig(addr, config(topic, "+message.type", "FIFO", "+queue.type", "SimpleCQ"));
            Map<String, String> created = map("message.type", "FIFO", "queue.type", "SimpleCQ");
            assertEquals(created, examined(admin, addr, topic));
            assertEquals(created, listed(admin, addr, topic));

            admin.createAndUpdateTopicConfig(addr, config(topic, "+message.type", "NORMAL"));
            assertEquals(map("message.type", "NORMAL", "queue.type", "SimpleCQ"), examined(admin, addr, topic));

            // An update that names no attribute keeps them.
            TopicConfig plain = config(topic);
            plain.setWriteQueueNums(2);
            admin.createAndUpdateTopicConfig(addr, plain);
            assertEquals(map("message.type", "NORMAL", "queue.type", "SimpleCQ"), examined(admin, addr, topic));

            admin.createAndUpdateTopicConfig(addr, config(topic, "-message.type", ""));
            assertEquals(map("queue.type", "SimpleCQ"), examined(admin, addr, topic));

            // Routes carry no attributes (QueueData has none); the topic is routed as usual.
            Compat.await("route of " + topic, () -> {
                try {
                    return !admin.examineTopicRouteInfo(topic).getQueueDatas().isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
        } finally {
            admin.shutdown();
        }
    }

    /** The 5.3.3 broker stores a remoting send whatever the topic's message.type (only its proxy checks). */
    @Test
    void aRemotingSendIsNotCheckedAgainstTheTopicsMessageType() throws Exception {
        assumeAttributes();
        String topic = Compat.unique("t_attrsend");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String addr = GroupAdminTest.brokerAddr(admin);
            admin.createAndUpdateTopicConfig(addr, config(topic, "+message.type", "FIFO"));
            Compat.awaitRoute(producer, topic, 4);
            // A NORMAL message (no sharding key) to a FIFO topic.
            Compat.assertSendOk(producer.send(Compat.message(topic, "a", 0)));
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void aListCarriesAttributesInItsBody() throws Exception {
        assumeAttributes();
        String first = Compat.unique("t_attrl");
        String second = Compat.unique("t_attrl");
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            String addr = GroupAdminTest.brokerAddr(admin);
            Method createList = admin.getClass().getMethod("createAndUpdateTopicConfigList", String.class, List.class);
            createList.invoke(admin, addr, List.of(
                config(first, "+message.type", "DELAY"),
                config(second, "+message.type", "TRANSACTION", "+cleanup.policy", "DELETE")));
            assertEquals(map("message.type", "DELAY"), examined(admin, addr, first));
            assertEquals(map("message.type", "TRANSACTION", "cleanup.policy", "DELETE"), listed(admin, addr, second));
        } finally {
            admin.shutdown();
        }
    }

    @Test
    void badAttributesAreRefusedWithJavasRemarks() throws Exception {
        assumeAttributes();
        String topic = Compat.unique("t_attrbad");
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            String addr = GroupAdminTest.brokerAddr(admin);
            assertRefused(INVALID_PARAMETER, "MIXED message type is not supported.",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+message.type", "MIXED")));
            assertRefused(SYSTEM_ERROR, "unsupported key: color",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+color", "red")));
            assertRefused(SYSTEM_ERROR, "value is not in set: [SimpleCQ, BatchCQ]",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+queue.type", "Fast")));
            assertRefused(SYSTEM_ERROR,
                "value is not in set: [UNSPECIFIED, TRANSACTION, FIFO, MIXED, DELAY, NORMAL]",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+message.type", "fifo")));
            assertRefused(SYSTEM_ERROR, "only add attribute is supported while creating topic. key: message.type",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "-message.type", "")));
            assertRefused(SYSTEM_ERROR, "add/alter attribute format is wrong: message.type",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "message.type", "FIFO")));
            assertRefused(SYSTEM_ERROR, "value is not in range(-1, 9223372036854775807)",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+reserve.time", "-5")));
            Method examine = admin.getClass().getMethod("examineTopicConfig", String.class, String.class);
            assertThrows(Exception.class, () -> examine.invoke(admin, addr, topic), "nothing was created");

            admin.createAndUpdateTopicConfig(addr, config(topic, "+queue.type", "SimpleCQ"));
            assertRefused(SYSTEM_ERROR, "attempt to update an unchangeable attribute. key: queue.type",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+queue.type", "BatchCQ")));
            assertRefused(SYSTEM_ERROR, "attempt to update an unchangeable attribute. key: cleanup.policy",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "+cleanup.policy", "COMPACTION")));
            assertRefused(SYSTEM_ERROR, "attempt to delete a nonexistent key: message.type",
                () -> admin.createAndUpdateTopicConfig(addr, config(topic, "-message.type", "")));
            assertEquals(map("queue.type", "SimpleCQ"), examined(admin, addr, topic));
            assertTrue(listed(admin, addr, topic).containsKey("queue.type"));
        } finally {
            admin.shutdown();
        }
    }
}
