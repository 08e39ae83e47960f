package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * mqadmin's view of the cluster: broker runtime stats, cluster info, topic lists, topic deletion, name server
 * KV config, the data-version probe and consume-message-directly. Types whose package moved between 4.x and
 * 5.x are held in {@code var}.
 */
class AdminTest {
    /** RequestCode.QUERY_DATA_VERSION, asked by brokers of the name server. */
    private static final int QUERY_DATA_VERSION = 322;

    /** The single broker of the suite: cluster name, broker name and master address from GET_BROKER_CLUSTER_INFO. */
    private static String[] theBroker(DefaultMQAdminExt admin) throws Exception {
        var info = admin.examineBrokerClusterInfo();
        assertFalse(info.getClusterAddrTable().isEmpty(), "clusterAddrTable");
        for (var cluster : info.getClusterAddrTable().entrySet()) {
            for (String brokerName : cluster.getValue()) {
                var data = info.getBrokerAddrTable().get(brokerName);
                assertNotNull(data, () -> "brokerAddrTable entry of " + brokerName);
                assertEquals(cluster.getKey(), data.getCluster(), "cluster of " + brokerName);
                String master = data.getBrokerAddrs().get(0L);
                assertNotNull(master, () -> "master address of " + brokerName + ": " + data.getBrokerAddrs());
                return new String[] {cluster.getKey(), brokerName, master};
            }
        }
        throw new AssertionError("no broker in " + info.getClusterAddrTable());
    }

    private static long number(Map<String, String> table, String key) {
        String value = table.get(key);
        assertNotNull(value, () -> key + " in runtime info " + table.keySet());
        return Long.parseLong(value.trim());
    }

    /**
     * putTps and friends are "tps10 tps60 tps600", as doubles; each is empty until its window has samples (Java's
     * StoreStatsService: a broker up for less than 10 s answers "  "). Read as mqadmin clusterList reads it:
     * split on " ", and no first rate counts as 0.
     */
    private static double firstTps(Map<String, String> table, String... keys) {
        for (String key : keys) {
            String value = table.get(key);
            if (value != null) {
                String[] rates = value.split(" ");
                return rates.length == 0 || rates[0].isEmpty() ? 0 : Double.parseDouble(rates[0]);
            }
        }
        throw new AssertionError(String.join("/", keys) + " in runtime info " + table.keySet());
    }

    @Test
    void brokerRuntimeStatsAndClusterInfo() throws Exception {
        String topic = Compat.unique("t_stats");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String addr = theBroker(admin)[2];
            Map<String, String> before = admin.fetchBrokerRuntimeStats(addr).getTable();
            assertTrue(before.get("brokerVersionDesc").startsWith("V"), "brokerVersionDesc " + before);
            assertTrue(number(before, "brokerVersion") > 0);
            assertTrue(number(before, "bootTimestamp") > 0);
            assertFalse(before.get("runtime").isEmpty(), "runtime");
            double ratio = Double.parseDouble(before.get("commitLogDiskRatio"));
            assertTrue(ratio >= 0 && ratio <= 1, "commitLogDiskRatio " + ratio);
            assertTrue(firstTps(before, "putTps") >= 0);
            assertTrue(firstTps(before, "getTransferedTps", "getTransferredTps") >= 0);
            for (String key : new String[] {"msgPutTotalYesterdayMorning", "msgPutTotalTodayMorning",
                "msgGetTotalYesterdayMorning", "msgGetTotalTodayMorning", "msgGetTotalTodayNow",
                "sendThreadPoolQueueSize", "pullThreadPoolQueueSize", "sendThreadPoolQueueHeadWaitTimeMills",
                "pullThreadPoolQueueHeadWaitTimeMills", "pageCacheLockTimeMills", "commitLogMinOffset"}) {
                assertTrue(number(before, key) >= 0, key);
            }
            // Java 4.9.7 answers -1 when its first commit log file's head is not readable.
            assertTrue(number(before, "earliestMessageTimeStamp") >= -1, "earliestMessageTimeStamp");

            for (int i = 0; i < 3; i++) {
                Compat.assertSendOk(producer.send(Compat.message(topic, "TagS", i)));
            }
            Map<String, String> after = admin.fetchBrokerRuntimeStats(addr).getTable();
            assertTrue(number(after, "msgPutTotalTodayNow") >= number(before, "msgPutTotalTodayNow") + 3,
                () -> "msgPutTotalTodayNow " + before.get("msgPutTotalTodayNow") + " -> "
                    + after.get("msgPutTotalTodayNow"));
            assertTrue(number(after, "commitLogMaxOffset") > number(before, "commitLogMaxOffset"),
                "commitLogMaxOffset grows with the sends");
            assertEquals(before.get("bootTimestamp"), after.get("bootTimestamp"));
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void topicListsConfigAndDeletion() throws Exception {
        String topic = Compat.unique("t_admin");
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            String[] broker = theBroker(admin);
            String cluster = broker[0];
            String addr = broker[2];
            TopicConfig config = new TopicConfig(topic, 3, 3, 6);
            admin.createAndUpdateTopicConfig(addr, config);

            // GET_ALL_TOPIC_CONFIG (21) from the broker.
            var all = admin.getAllTopicConfig(addr, 5_000);
            TopicConfig stored = all.getTopicConfigTable().get(topic);
            assertNotNull(stored, "created topic in GET_ALL_TOPIC_CONFIG");
            assertEquals(3, stored.getReadQueueNums());
            assertEquals(3, stored.getWriteQueueNums());
            assertEquals(6, stored.getPerm());
            assertNotNull(all.getDataVersion(), "dataVersion");

            // GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206) and GET_TOPICS_BY_CLUSTER (224).
            Compat.await("topic " + topic + " in the name server's lists", () -> {
                try {
                    return admin.fetchAllTopicList().getTopicList().contains(topic)
                        && admin.fetchTopicsByCLuster(cluster).getTopicList().contains(topic);
                } catch (Exception e) {
                    return false;
                }
            });
            assertFalse(admin.fetchTopicsByCLuster(cluster + "_nosuch").getTopicList().contains(topic),
                "topics of an unknown cluster");

            // DELETE_TOPIC_IN_BROKER (215), then DELETE_TOPIC_IN_NAMESRV (216).
            admin.deleteTopicInBroker(Set.of(addr), topic);
            assertNull(admin.getAllTopicConfig(addr, 5_000).getTopicConfigTable().get(topic),
                "topic config gone from the broker");
            deleteTopicInNameServer(admin, topic);
            assertFalse(admin.fetchAllTopicList().getTopicList().contains(topic), "topic gone from the name server");
            assertThrows(Exception.class, () -> admin.examineTopicRouteInfo(topic), "route of a deleted topic");
        } finally {
            admin.shutdown();
        }
    }

    /** 4.9.8 has (addrs, topic, clusterName); 5.3.3 has (addrs, topic) and (addrs, clusterName, topic). */
    private static void deleteTopicInNameServer(DefaultMQAdminExt admin, String topic) throws Exception {
        Set<String> namesrvs = new HashSet<>(List.of(Compat.namesrvAddr().split(";")));
        try {
            DefaultMQAdminExt.class.getMethod("deleteTopicInNameServer", Set.class, String.class)
                .invoke(admin, namesrvs, topic);
        } catch (NoSuchMethodException e) {
            DefaultMQAdminExt.class.getMethod("deleteTopicInNameServer", Set.class, String.class, String.class)
                .invoke(admin, namesrvs, topic, null);
        }
    }

    @Test
    void kvConfigPutGetDelete() throws Exception {
        String namespace = Compat.unique("ns");
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            admin.createAndUpdateKvConfig(namespace, "k1", "v\u00e9-1");
            admin.createAndUpdateKvConfig(namespace, "k2", "v2");
            assertEquals("v\u00e9-1", admin.getKVConfig(namespace, "k1"));
            admin.createAndUpdateKvConfig(namespace, "k1", "v1-updated");
            assertEquals("v1-updated", admin.getKVConfig(namespace, "k1"));
            admin.deleteKvConfig(namespace, "k1");
            // GET_KV_CONFIG of a missing key answers QUERY_NOT_FOUND, which the client throws.
            assertThrows(Exception.class, () -> admin.getKVConfig(namespace, "k1"), "deleted key");
            assertEquals("v2", admin.getKVConfig(namespace, "k2"));
            admin.deleteKvConfig(namespace, "k2");
        } finally {
            admin.shutdown();
        }
    }

    @Test
    void systemTopicListAndDataVersionFromTheNameServer() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String[] broker = theBroker(admin);
            // DefaultMQAdminExt hides its client API in 4.9.8; a producer's is the same class.
            var api = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
            // GET_SYSTEM_TOPIC_LIST_FROM_NS (304): every cluster name and broker name is a "system topic".
            Set<String> system = api.getSystemTopicList(5_000).getTopicList();
            assertTrue(system.contains(broker[0]), () -> "cluster name in " + system);
            assertTrue(system.contains(broker[1]), () -> "broker name in " + system);

            // QUERY_DATA_VERSION (322): a stale version is "changed" and the answer carries the current one,
            // which then compares unchanged.
            RemotingCommand first = queryDataVersion(api.getRemotingClient(), broker, "{\"counter\":0,\"timestamp\":0}".getBytes(
                StandardCharsets.UTF_8));
            assertEquals(0, first.getCode(), () -> "QUERY_DATA_VERSION: " + first);
            assertEquals("true", first.getExtFields().get("changed"), "a stale data version changed");
            assertNotNull(first.getBody(), "the name server's data version");
            String current = new String(first.getBody(), StandardCharsets.UTF_8);
            assertTrue(current.contains("counter") && current.contains("timestamp"), current);
            RemotingCommand second = queryDataVersion(api.getRemotingClient(), broker, first.getBody());
            assertEquals(0, second.getCode(), () -> "QUERY_DATA_VERSION: " + second);
            assertEquals("false", second.getExtFields().get("changed"), () -> "the current version " + current);
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    private static RemotingCommand queryDataVersion(RemotingClient remoting, String[] broker, byte[] body)
        throws Exception {
        RemotingCommand req = RemotingCommand.createRequestCommand(QUERY_DATA_VERSION, null);
        req.addExtField("clusterName", broker[0]);
        req.addExtField("brokerName", broker[1]);
        req.addExtField("brokerAddr", broker[2]);
        req.addExtField("brokerId", "0");
        req.setBody(body);
        return remoting.invokeSync(Compat.namesrvAddr().split(";")[0], req, 5_000);
    }

    @Test
    void consumeMessageDirectlyIsAnsweredByTheLiveConsumer() throws Exception {
        String topic = Compat.unique("t_direct");
        String group = Compat.unique("cg_direct");
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQPushConsumer consumer = null;
        try {
            Message sent = Compat.message(topic, "TagD", 1);
            SendResult result = producer.send(sent);
            Compat.assertSendOk(result);
            Received normal = new Received();
            AtomicReference<MessageExt> direct = new AtomicReference<>();
            consumer = Compat.pushConsumer(group, topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                // The first delivery is the normal pull; later ones come from CONSUME_MESSAGE_DIRECTLY.
                for (MessageExt m : msgs) {
                    if (normal.size() == 0) {
                        normal.add(m);
                    } else {
                        direct.set(m);
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Compat.await("normal delivery", () -> normal.size() == 1);
            String clientId = consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId();

            var answer = admin.consumeMessageDirectly(group, clientId, topic, result.getMsgId());
            assertEquals("CR_SUCCESS", String.valueOf(answer.getConsumeResult()), () -> "result " + answer);
            assertNotNull(direct.get(), "the listener saw the direct consumption");
            assertEquals(Compat.bodyOf(sent), Compat.bodyOf(direct.get()));
            // 4.9.8 decodes the relayed record as a plain MessageExt (msgId = offset id), 5.3.3 as a client
            // message (msgId = UNIQ_KEY).
            assertEquals(result.getMsgId(), direct.get().getProperty("UNIQ_KEY"));
            String expectedId = Compat.clientVersion().startsWith("4.") ? result.getOffsetMsgId() : result.getMsgId();
            assertEquals(expectedId, direct.get().getMsgId());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            admin.shutdown();
            producer.shutdown();
        }
    }
}
