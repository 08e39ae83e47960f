package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * Two masters of one cluster behind one name server, one of them rmqd and one the Java broker
 * (scripts/migration-test.sh two-masters): a topic on both, the producer spreads over both brokers' queues, one
 * consumer group consumes everything from both, and the admin views (cluster list, topic route, consumer
 * progress) show both brokers. Runs only when RMQ_TWO_MASTERS names the two broker names ("a,b").
 */
class MixedMastersTest {
    private static final int QUEUES_PER_BROKER = 4;
    private static final int MESSAGES = 80;

    @Test
    void topicSpansRmqdAndJavaMasters() throws Exception {
        String names = System.getenv("RMQ_TWO_MASTERS");
        assumeTrue(names != null && !names.isBlank(), "RMQ_TWO_MASTERS not set: two-master test skipped");
        List<String> brokers = Arrays.asList(names.trim().split(","));
        assertEquals(2, brokers.size(), "RMQ_TWO_MASTERS: two broker names");

        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            Map<String, String> masters = clusterMasters(admin, brokers);
            String topic = Compat.unique("two-masters");
            for (String broker : brokers) {
                admin.createAndUpdateTopicConfig(masters.get(broker),
                    new TopicConfig(topic, QUEUES_PER_BROKER, QUEUES_PER_BROKER, 6));
                Compat.log("%s master %s version %s", broker, masters.get(broker),
                    admin.fetchBrokerRuntimeStats(masters.get(broker)).getTable().get("brokerVersionDesc"));
            }
            Compat.await("route of " + topic + " on both brokers", () -> routeBrokers(admin, topic).size() == 2);
            Compat.awaitRoute(producer, topic, 2 * QUEUES_PER_BROKER);

            Map<String, Integer> sentPerBroker = new TreeMap<>();
            Set<String> sentIds = ConcurrentHashMap.newKeySet();
            for (int i = 0; i < MESSAGES; i++) {
                SendResult result = producer.send(Compat.message(topic, "T", i));
                Compat.assertSendOk(result);
                sentIds.add(result.getMsgId());
                sentPerBroker.merge(result.getMessageQueue().getBrokerName(), 1, Integer::sum);
            }
            Compat.log("sent per broker: %s", sentPerBroker);
            assertEquals(new TreeMap<>(Map.of(brokers.get(0), MESSAGES / 2, brokers.get(1), MESSAGES / 2)),
                sentPerBroker, "the producer's round robin over the 8 queues of both brokers");

            String group = Compat.unique("two-masters-cg");
            Set<String> got = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer consumer = Compat.startCollectingConsumer(group, topic, got);
            try {
                Compat.await("all " + MESSAGES + " messages from both brokers", () -> got.containsAll(sentIds),
                    () -> got.size() + " of " + MESSAGES);
                // The consumer commits every 5 s (persistConsumerOffsetInterval); the progress of both brokers'
                // queues then reaches their max offsets.
                Compat.await("consumer progress at the end of all 8 queues",
                    () -> allConsumed(admin, group, topic, brokers), () -> progress(admin, group, topic));
            } finally {
                consumer.shutdown();
            }
            // var: ConsumeStats and OffsetWrapper moved packages between 4.x and 5.x.
            var stats = admin.examineConsumeStats(group, topic);
            assertEquals(2 * QUEUES_PER_BROKER, stats.getOffsetTable().size(),
                () -> "queues in " + progress(admin, group, topic));
            long consumedTotal = 0;
            for (var offset : stats.getOffsetTable().values()) {
                consumedTotal += offset.getConsumerOffset();
            }
            assertEquals(MESSAGES, consumedTotal, "committed offsets over both brokers");
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** clusterList: both brokers in one cluster, each with a master (brokerId 0); name -> master address. */
    private static Map<String, String> clusterMasters(DefaultMQAdminExt admin, List<String> brokers)
            throws Exception {
        var info = admin.examineBrokerClusterInfo();
        Map<String, String> masters = new TreeMap<>();
        for (String broker : brokers) {
            var data = info.getBrokerAddrTable().get(broker);
            assertNotNull(data, () -> broker + " not in clusterList " + info.getBrokerAddrTable().keySet());
            String master = data.getBrokerAddrs().get(0L);
            assertNotNull(master, () -> broker + " has no master: " + data.getBrokerAddrs());
            masters.put(broker, master);
            assertTrue(info.getClusterAddrTable().get(data.getCluster()).contains(broker),
                () -> broker + " not listed under its cluster " + data.getCluster());
        }
        assertEquals(info.getBrokerAddrTable().get(brokers.get(0)).getCluster(),
            info.getBrokerAddrTable().get(brokers.get(1)).getCluster(), "both brokers in one cluster");
        return masters;
    }

    private static List<String> routeBrokers(DefaultMQAdminExt admin, String topic) {
        List<String> names = new ArrayList<>();
        try {
            admin.examineTopicRouteInfo(topic).getQueueDatas().forEach(q -> names.add(q.getBrokerName()));
        } catch (Exception e) {
            // not routed yet
        }
        return names;
    }

    /** examineConsumeStats(group, topic) (GET_CONSUME_STATS 208 on every broker of the topic's route). */
    private static boolean allConsumed(DefaultMQAdminExt admin, String group, String topic, List<String> brokers) {
        try {
            var table = admin.examineConsumeStats(group, topic).getOffsetTable();
            long brokersSeen = table.keySet().stream().map(MessageQueue::getBrokerName).distinct()
                .filter(brokers::contains).count();
            boolean caughtUp = true;
            for (var offset : table.values()) {
                caughtUp &= offset.getConsumerOffset() == offset.getBrokerOffset();
            }
            return brokersSeen == 2 && table.size() == 2 * QUEUES_PER_BROKER && caughtUp;
        } catch (Exception e) {
            return false;
        }
    }

    private static String progress(DefaultMQAdminExt admin, String group, String topic) {
        try {
            StringBuilder out = new StringBuilder();
            for (var e : new TreeMap<>(admin.examineConsumeStats(group, topic).getOffsetTable()).entrySet()) {
                out.append(e.getKey().getBrokerName()).append('/').append(e.getKey().getQueueId()).append('=')
                    .append(e.getValue().getConsumerOffset()).append('/').append(e.getValue().getBrokerOffset())
                    .append(' ');
            }
            return out.toString();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
