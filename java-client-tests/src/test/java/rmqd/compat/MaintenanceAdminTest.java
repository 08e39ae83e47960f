package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * Operator maintenance calls of DefaultMQAdminExt: cloneGroupOffset (CLONE_GROUP_OFFSET, 314) and
 * viewBrokerStatsData (VIEW_BROKER_STATS_DATA, 315), cleanExpiredConsumerQueue (CLEAN_EXPIRED_CONSUMEQUEUE, 306)
 * and cleanUnusedTopic (CLEAN_UNUSED_TOPIC, 316).
 */
class MaintenanceAdminTest {
    private static void createGroup(DefaultMQAdminExt admin, String addr, String group) throws Exception {
        var config = admin.examineSubscriptionGroupConfig(addr, "TOOLS_CONSUMER");
        config.setGroupName(group);
        admin.createAndUpdateSubscriptionGroupConfig(addr, config);
    }

    /**
     * The broker address of the topic's route, once the name server has it (4.9.7 registers an auto-created
     * topic with the name server a moment after the send that created it).
     */
    private static String brokerOf(DefaultMQAdminExt admin, String topic) {
        String[] addr = new String[1];
        Compat.await("route of " + topic, () -> {
            try {
                addr[0] = admin.examineTopicRouteInfo(topic).getBrokerDatas().get(0).selectBrokerAddr();
                return addr[0] != null;
            } catch (Exception e) {
                return false;
            }
        });
        return addr[0];
    }

    /** QUERY_CONSUMER_OFFSET of the reader's group, from the broker. */
    private static long committed(DefaultLitePullConsumer reader, MessageQueue mq) {
        return reader.getOffsetStore().readOffset(mq, ReadOffsetType.READ_FROM_STORE);
    }

    @Test
    void cloneGroupOffsetCopiesTheSourceGroupsOffsets() throws Exception {
        String topic = Compat.unique("t_clone");
        String src = Compat.unique("cg_src");
        String dest = Compat.unique("cg_dest");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        DefaultLitePullConsumer reader = null;
        try {
            List<Message> messages = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                messages.add(Compat.message(topic, "TagC", i));
            }
            List<SendResult> sent = Compat.sendSync(producer, messages);
            String addr = brokerOf(admin, topic);
            createGroup(admin, addr, src);
            createGroup(admin, addr, dest);
            Map<MessageQueue, Long> expected = new HashMap<>();
            for (SendResult r : sent) {
                // The next offset to consume (at least 1): a group without an offset reads 0 here.
                expected.merge(r.getMessageQueue(), r.getQueueOffset() + 1, Math::max);
            }
            for (Map.Entry<MessageQueue, Long> e : expected.entrySet()) {
                admin.updateConsumeOffset(addr, src, e.getKey(), e.getValue());
            }

            // DefaultMQAdminExt sends CLONE_GROUP_OFFSET to the brokers of the source group's retry topic.
            String retry = "%RETRY%" + src;
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(retry, 1, 1, 6));
            Compat.await("route of " + retry, () -> {
                try {
                    return !admin.examineTopicRouteInfo(retry).getBrokerDatas().isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
            admin.cloneGroupOffset(src, dest, topic, true);

            reader = Compat.offsetReader(dest);
            for (Map.Entry<MessageQueue, Long> e : expected.entrySet()) {
                assertEquals(e.getValue().longValue(), committed(reader, e.getKey()),
                    () -> "cloned offset of " + e.getKey());
            }
        } finally {
            if (reader != null) {
                reader.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** The minute figures of one stats item, or null while the broker has none (SYSTEM_ERROR). */
    private static double[] minute(DefaultMQAdminExt admin, String addr, String name, String key) {
        try {
            // var: BrokerStatsData moved packages between 4.x and 5.x.
            var data = admin.viewBrokerStatsData(addr, name, key);
            var m = data.getStatsMinute();
            return new double[] {m.getSum(), m.getTps(), m.getAvgpt()};
        } catch (Exception e) {
            return null;
        }
    }

    @Test
    void viewBrokerStatsDataReportsTopicPutsAndGroupGets() throws Exception {
        String topic = Compat.unique("t_stats_data");
        String group = Compat.unique("cg_stats_data");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            int sends = 3;
            for (int i = 0; i < sends; i++) {
                Compat.assertSendOk(producer.send(Compat.message(topic, "TagV", i)));
            }
            String addr = brokerOf(admin, topic);

            // A key nothing was recorded under: SYSTEM_ERROR "The stats <name> <key> not exist".
            MQClientException unknown = assertThrows(MQClientException.class,
                () -> admin.viewBrokerStatsData(addr, "TOPIC_PUT_NUMS", topic + "_nosuch"));
            assertEquals(1, unknown.getResponseCode(), "SYSTEM_ERROR");
            assertTrue(String.valueOf(unknown.getErrorMessage()).contains("not exist"), unknown.getErrorMessage());

            // The broker samples every 10 s; within a minute the minute figures hold all three sends.
            double[][] put = new double[1][];
            Compat.await("TOPIC_PUT_NUMS of " + topic, () -> {
                put[0] = minute(admin, addr, "TOPIC_PUT_NUMS", topic);
                return put[0] != null && put[0][0] == sends;
            }, () -> put[0] == null ? "null" : java.util.Arrays.toString(put[0]));
            assertTrue(put[0][1] > 0, "tps");
            assertEquals(1.0, put[0][2], "avgpt: one message per send");

            Set<String> received = ConcurrentHashMap.newKeySet();
            consumer = Compat.startCollectingConsumer(group, topic, received);
            Compat.await("the pushed messages", () -> received.size() >= sends);
            double[][] get = new double[1][];
            Compat.await("GROUP_GET_NUMS of " + topic + "@" + group, () -> {
                get[0] = minute(admin, addr, "GROUP_GET_NUMS", topic + "@" + group);
                return get[0] != null && get[0][0] == sends;
            }, () -> get[0] == null ? "null" : java.util.Arrays.toString(get[0]));
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }

    private static long messagesIn(DefaultMQAdminExt admin, String topic) throws Exception {
        long total = 0;
        for (var offsets : admin.examineTopicStats(topic).getOffsetTable().values()) {
            total += offsets.getMaxOffset() - offsets.getMinOffset();
        }
        return total;
    }

    /** A Java broker dispatches to the consume queue asynchronously (ReputMessageService), so the
     *  queue's max offset trails an acknowledged send by a few milliseconds. */
    private static void awaitMessagesIn(DefaultMQAdminExt admin, String topic, long expected, String what) {
        long[] seen = {-1};
        Compat.await(what, () -> {
            try {
                seen[0] = messagesIn(admin, topic);
            } catch (Exception e) {
                return false;
            }
            return seen[0] == expected;
        }, () -> "messages in " + topic + ": " + seen[0] + ", expected " + expected);
    }

    @Test
    void cleanExpiredQueuesAndUnusedTopicsKeepLiveTopics() throws Exception {
        String topic = Compat.unique("t_clean");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            int sends = 3;
            for (int i = 0; i < sends; i++) {
                Compat.assertSendOk(producer.send(Compat.message(topic, "TagK", i)));
            }
            String addr = brokerOf(admin, topic);
            awaitMessagesIn(admin, topic, sends, "the sent messages in the consume queues");

            assertTrue(admin.cleanUnusedTopicByAddr(addr), "CLEAN_UNUSED_TOPIC answers SUCCESS");
            assertTrue(admin.cleanExpiredConsumerQueueByAddr(addr), "CLEAN_EXPIRED_CONSUMEQUEUE answers SUCCESS");

            // A topic with a config and live messages keeps its queues through both.
            assertEquals(sends, messagesIn(admin, topic), "messages of a live topic after the cleaning");
            Compat.assertSendOk(producer.send(Compat.message(topic, "TagK", sends)));
            awaitMessagesIn(admin, topic, sends + 1, "a send after the cleaning");
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** DELETE_TOPIC_IN_BROKER drops the topic's consume queues (4.9.7 through cleanUnusedTopic, 5.3.3 through
     *  deleteTopics): the topic created again under the name starts with empty queues. */
    @Test
    void aDeletedTopicCreatedAgainStartsEmpty() throws Exception {
        String topic = Compat.unique("t_del");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            int sends = 3;
            for (int i = 0; i < sends; i++) {
                Compat.assertSendOk(producer.send(Compat.message(topic, "TagD", i)));
            }
            String addr = brokerOf(admin, topic);
            awaitMessagesIn(admin, topic, sends, "the sent messages in the consume queues");

            admin.deleteTopicInBroker(java.util.Set.of(addr), topic);
            admin.createAndUpdateTopicConfig(addr,
                new org.apache.rocketmq.common.TopicConfig(topic, Compat.AUTO_TOPIC_QUEUES, Compat.AUTO_TOPIC_QUEUES, 6));
            awaitMessagesIn(admin, topic, 0, "empty queues of the topic created again");
            assertEquals(Compat.AUTO_TOPIC_QUEUES, admin.examineTopicStats(topic).getOffsetTable().size());
            for (var offsets : admin.examineTopicStats(topic).getOffsetTable().values()) {
                assertEquals(0, offsets.getMaxOffset(), "max offset of a queue of the topic created again");
            }
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }
}
