package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.LanguageCode;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * What mqadmin and the dashboard read from a broker: topic stats (GET_TOPIC_STATS_INFO 202), consume stats
 * (GET_CONSUME_STATS 208, GET_BROKER_CONSUME_STATS 317), consumer and producer connections (203, 204), who
 * consumes a topic (QUERY_TOPIC_CONSUME_BY_WHO 300) and consume-queue units (QUERY_CONSUME_QUEUE 321). The bodies' classes moved packages between 4.x and 5.x, so they are
 * held in {@code var}.
 */
class AdminStatsTest {
    private static final int QUEUES = 4;
    private static final long TIMEOUT_MS = 5_000;

    /** Broker name and master address of the suite's single broker. */
    private static String[] theBroker(DefaultMQAdminExt admin) throws Exception {
        var info = admin.examineBrokerClusterInfo();
        for (var data : info.getBrokerAddrTable().values()) {
            String master = data.getBrokerAddrs().get(0L);
            if (master != null) {
                return new String[] {data.getBrokerName(), master};
            }
        }
        throw new AssertionError("no master in " + info.getBrokerAddrTable());
    }

    /** The client API of a started client: the same class in DefaultMQAdminExt, whose own is hidden in 4.9.8. */
    private static org.apache.rocketmq.client.impl.MQClientAPIImpl api(DefaultMQProducer producer) {
        return producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
    }

    /** Creates the topic with UPDATE_AND_CREATE_TOPIC and polls examineTopicStats until it lists every queue. */
    private static void createTopic(DefaultMQAdminExt admin, String addr, String topic) throws Exception {
        admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, QUEUES, QUEUES, 6));
        Compat.await("topic stats of " + topic, () -> {
            try {
                return admin.examineTopicStats(topic).getOffsetTable().size() == QUEUES;
            } catch (Exception e) {
                return false; // the name server does not route the topic yet
            }
        });
    }

    /** Sends `count` messages to each queue id given; the results in sending order. */
    private static List<SendResult> sendTo(DefaultMQProducer producer, String topic, String brokerName,
        int[] queueIds, int count) throws Exception {
        List<SendResult> results = new ArrayList<>();
        int seq = 0;
        for (int queueId : queueIds) {
            MessageQueue mq = new MessageQueue(topic, brokerName, queueId);
            for (int i = 0; i < count; i++) {
                SendResult result = producer.send(Compat.message(topic, "TagS", seq++), mq);
                Compat.assertSendOk(result);
                results.add(result);
            }
        }
        return results;
    }

    @Test
    void topicStatsPerQueue() throws Exception {
        String topic = Compat.unique("t_tstats");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String[] broker = theBroker(admin);
            String brokerName = broker[0];
            String addr = broker[1];
            createTopic(admin, addr, topic);

            var fresh = admin.examineTopicStats(topic);
            for (var entry : fresh.getOffsetTable().entrySet()) {
                MessageQueue mq = entry.getKey();
                assertEquals(topic, mq.getTopic());
                assertEquals(brokerName, mq.getBrokerName());
                assertTrue(mq.getQueueId() >= 0 && mq.getQueueId() < QUEUES, "queue id " + mq);
                assertEquals(0, entry.getValue().getMinOffset(), mq + " min");
                assertEquals(0, entry.getValue().getMaxOffset(), mq + " max");
                assertEquals(0, entry.getValue().getLastUpdateTimestamp(), mq + " last update of an empty queue");
            }

            // Three messages in queue 0 and two in queue 2; 1 and 3 stay empty.
            List<SendResult> toQueue0 = sendTo(producer, topic, brokerName, new int[] {0}, 3);
            List<SendResult> toQueue2 = sendTo(producer, topic, brokerName, new int[] {2}, 2);
            Map<Integer, Long> lastStoreTime = new HashMap<>();
            lastStoreTime.put(0, storeTime(admin, topic, toQueue0.get(2)));
            lastStoreTime.put(2, storeTime(admin, topic, toQueue2.get(1)));

            // A Java broker dispatches to the consume queues asynchronously: wait until all five count.
            Compat.await("five messages in the consume queues of " + topic, () -> {
                try {
                    long total = 0;
                    for (var offset : admin.examineTopicStats(topic).getOffsetTable().values()) {
                        total += offset.getMaxOffset();
                    }
                    return total == 5;
                } catch (Exception e) {
                    return false;
                }
            });
            var stats = admin.examineTopicStats(topic);
            assertEquals(QUEUES, stats.getOffsetTable().size(), "one entry per queue");
            Map<Integer, long[]> byQueue = new HashMap<>();
            for (var entry : stats.getOffsetTable().entrySet()) {
                var offset = entry.getValue();
                byQueue.put(entry.getKey().getQueueId(),
                    new long[] {offset.getMinOffset(), offset.getMaxOffset(), offset.getLastUpdateTimestamp()});
            }
            assertEquals(List.of(0L, 3L, lastStoreTime.get(0)), List.of(byQueue.get(0)[0], byQueue.get(0)[1],
                byQueue.get(0)[2]), "queue 0: min, max, store time of its last message");
            assertEquals(List.of(0L, 2L, lastStoreTime.get(2)), List.of(byQueue.get(2)[0], byQueue.get(2)[1],
                byQueue.get(2)[2]), "queue 2");
            for (int empty : new int[] {1, 3}) {
                assertEquals(List.of(0L, 0L, 0L), List.of(byQueue.get(empty)[0], byQueue.get(empty)[1],
                    byQueue.get(empty)[2]), "empty queue " + empty);
            }

            // QUERY_CONSUME_QUEUE (321): the units of queue 0 point at the sent messages.
            var units = admin.queryConsumeQueue(addr, topic, 0, 0, 10, null);
            assertEquals(3, units.getMaxQueueIndex());
            assertEquals(0, units.getMinQueueIndex());
            assertEquals(3, units.getQueueData().size(), "units of queue 0");
            for (int i = 0; i < 3; i++) {
                var unit = units.getQueueData().get(i);
                long commitLogOffset = MessageDecoder.decodeMessageId(toQueue0.get(i).getOffsetMsgId()).getOffset();
                assertEquals(commitLogOffset, unit.getPhysicOffset(), "unit " + i + " commit log offset");
                assertTrue(unit.getPhysicSize() > 0, "unit " + i + " size");
                assertEquals("TagS".hashCode(), unit.getTagsCode(), "unit " + i + " tags code");
            }
            assertEquals(1, admin.queryConsumeQueue(addr, topic, 0, 1, 1, null).getQueueData().size(), "count 1");
            MQClientException noQueue = assertThrows(MQClientException.class,
                () -> admin.queryConsumeQueue(addr, topic, 9, 0, 1, null));
            assertEquals(1, noQueue.getResponseCode());

            // The broker's own answer for a topic it does not have: TOPIC_NOT_EXIST (17).
            String unknown = Compat.unique("t_nosuch");
            MQBrokerException refused = assertThrows(MQBrokerException.class,
                () -> api(producer).getTopicStatsInfo(addr, unknown, TIMEOUT_MS));
            assertEquals(17, refused.getResponseCode());
            assertEquals("topic[" + unknown + "] not exist", refused.getErrorMessage());
            // Through the admin the name server already has no route for it.
            assertThrows(Exception.class, () -> admin.examineTopicStats(unknown));
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** The store timestamp of a sent message, read back by its offsetMsgId (VIEW_MESSAGE_BY_ID). */
    private static long storeTime(DefaultMQAdminExt admin, String topic, SendResult sent) throws Exception {
        MessageExt stored = admin.viewMessage(topic, sent.getOffsetMsgId());
        assertTrue(stored.getStoreTimestamp() > 0, "store timestamp of " + sent);
        return stored.getStoreTimestamp();
    }

    @Test
    void consumeStatsConnectionsAndConsumers() throws Exception {
        String topic = Compat.unique("t_cstats");
        String group = Compat.unique("cg_stats");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            String[] broker = theBroker(admin);
            String brokerName = broker[0];
            String addr = broker[1];
            createTopic(admin, addr, topic);
            // Two messages in each of queues 0, 1 and 2; queue 3 stays empty.
            List<SendResult> sent = sendTo(producer, topic, brokerName, new int[] {0, 1, 2}, 2);

            Received received = new Received();
            consumer = Compat.pushConsumer(group, topic, "*");
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.registerMessageListener(received.listener());
            consumer.start();
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < sent.size(); i++) {
                bodies.add("body-" + topic + "#" + i);
            }
            received.awaitExactly(bodies, "consumer of " + topic);

            // GET_CONSUME_STATS once the consumer has committed every queue.
            Compat.await("committed offsets of " + group, () -> {
                try {
                    var stats = admin.examineConsumeStats(group);
                    long caughtUp = stats.getOffsetTable().entrySet().stream()
                        .filter(e -> e.getKey().getTopic().equals(topic))
                        .filter(e -> e.getValue().getConsumerOffset() == e.getValue().getBrokerOffset())
                        .count();
                    return caughtUp == QUEUES;
                } catch (Exception e) {
                    return false;
                }
            });
            var stats = admin.examineConsumeStats(group);
            assertTrue(stats.getConsumeTps() >= 0, "consumeTps");
            int queuesOfTopic = 0;
            for (var entry : stats.getOffsetTable().entrySet()) {
                MessageQueue mq = entry.getKey();
                if (!mq.getTopic().equals(topic)) {
                    continue; // the group's %RETRY% topic
                }
                queuesOfTopic++;
                assertEquals(brokerName, mq.getBrokerName());
                var offsets = entry.getValue();
                long expected = mq.getQueueId() == 3 ? 0 : 2;
                assertEquals(expected, offsets.getBrokerOffset(), mq + " broker offset");
                assertEquals(expected, offsets.getConsumerOffset(), mq + " consumer offset");
                if (expected == 0) {
                    assertEquals(0, offsets.getLastTimestamp(), mq + " last timestamp of an empty queue");
                } else {
                    SendResult last = sent.get(mq.getQueueId() * 2 + 1);
                    assertEquals(storeTime(admin, topic, last), offsets.getLastTimestamp(),
                        mq + " last timestamp = store time of the last consumed message");
                }
                assertPullOffsetCoversConsumerOffset(offsets, mq);
            }
            assertEquals(QUEUES, queuesOfTopic, "queues of " + topic + " in " + stats.getOffsetTable().keySet());
            // GET_BROKER_CONSUME_STATS (317): the same offsets among every group's stats.
            var all = admin.fetchConsumeStatsInBroker(addr, false, TIMEOUT_MS);
            assertEquals(addr, all.getBrokerAddr());
            int listed = 0;
            for (var byGroup : all.getConsumeStatsList()) {
                var ofGroup = byGroup.get(group);
                if (ofGroup == null) {
                    continue;
                }
                for (var topicStats : ofGroup) {
                    for (var entry : topicStats.getOffsetTable().entrySet()) {
                        if (entry.getKey().getTopic().equals(topic)) {
                            listed++;
                            long expected = entry.getKey().getQueueId() == 3 ? 0 : 2;
                            assertEquals(expected, entry.getValue().getBrokerOffset(), entry.getKey() + " broker offset");
                            assertEquals(expected, entry.getValue().getConsumerOffset(), entry.getKey() + " consumer offset");
                        }
                    }
                }
            }
            assertEquals(QUEUES, listed, "queues of " + topic + " in the broker's consume stats");
            // The same with the topic named.
            assertEquals(QUEUES, admin.examineConsumeStats(group, topic).getOffsetTable().size());

            // GET_CONSUMER_CONNECTION_LIST.
            var connection = admin.examineConsumerConnectionInfo(group);
            assertEquals(1, connection.getConnectionSet().size(), "one consumer: " + connection.getConnectionSet());
            var channel = connection.getConnectionSet().iterator().next();
            assertEquals(consumer.buildMQClientId(), channel.getClientId());
            assertEquals(LanguageCode.JAVA, channel.getLanguage());
            assertEquals(MQVersion.CURRENT_VERSION, channel.getVersion());
            assertTrue(channel.getClientAddr().startsWith("127.0.0.1:"), "client address " + channel.getClientAddr());
            assertEquals("CLUSTERING", connection.getMessageModel().name());
            assertEquals("CONSUME_PASSIVELY", connection.getConsumeType().name());
            assertEquals(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, connection.getConsumeFromWhere());
            var subscription = connection.getSubscriptionTable().get(topic);
            assertNotNull(subscription, "subscription of " + topic + " in " + connection.getSubscriptionTable());
            assertEquals("*", subscription.getSubString());
            assertEquals("TAG", subscription.getExpressionType());

            // GET_PRODUCER_CONNECTION_LIST: the producer is registered by its heartbeat.
            producer.getDefaultMQProducerImpl().getMqClientFactory().sendHeartbeatToAllBrokerWithLock();
            var producers = admin.examineProducerConnectionInfo(producer.getProducerGroup(), topic);
            Set<String> producerIds = new java.util.HashSet<>();
            for (var c : producers.getConnectionSet()) {
                producerIds.add(c.getClientId());
                assertEquals(LanguageCode.JAVA, c.getLanguage());
                assertEquals(MQVersion.CURRENT_VERSION, c.getVersion());
            }
            assertEquals(Set.of(producer.buildMQClientId()), producerIds);

            // QUERY_TOPIC_CONSUME_BY_WHO: online subscribers and groups with offsets.
            assertTrue(admin.queryTopicConsumeByWho(topic).getGroupList().contains(group), "consumers of " + topic);

            consumer.shutdown();
            consumer = null;
            // Offline: the broker answers CONSUMER_NOT_ONLINE (206), but still knows the group's offsets.
            MQBrokerException offline = assertThrows(MQBrokerException.class,
                () -> api(producer).getConsumerConnectionList(addr, group, TIMEOUT_MS));
            assertEquals(206, offline.getResponseCode());
            assertEquals("the consumer group[" + group + "] not online", offline.getErrorMessage());
            assertTrue(admin.queryTopicConsumeByWho(topic).getGroupList().contains(group),
                "a group with offsets still consumes " + topic);
            assertFalse(admin.queryTopicConsumeByWho(topic).getGroupList().contains(group + "_other"));

            String noProducer = Compat.unique("pg_none");
            MQBrokerException unknownProducer = assertThrows(MQBrokerException.class,
                () -> api(producer).getProducerConnectionList(addr, noProducer, TIMEOUT_MS));
            assertEquals(1, unknownProducer.getResponseCode());
            assertEquals("the producer group[" + noProducer + "] not exist", unknownProducer.getErrorMessage());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** 5.x OffsetWrapper has pullOffset (the group's last pull, at least its commit); 4.x has none. */
    private static void assertPullOffsetCoversConsumerOffset(Object offsets, MessageQueue mq) throws Exception {
        java.lang.reflect.Method pullOffset;
        try {
            pullOffset = offsets.getClass().getMethod("getPullOffset");
        } catch (NoSuchMethodException e) {
            return;
        }
        long pulled = (long) pullOffset.invoke(offsets);
        long consumed = (long) offsets.getClass().getMethod("getConsumerOffset").invoke(offsets);
        assertTrue(pulled >= consumed, mq + " pull offset " + pulled + " vs consumer offset " + consumed);
    }
}
