package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.LanguageCode;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * What mqadmin and rocketmq-dashboard read besides routes and stats: the name server's KV namespace list
 * (GET_KVLIST_BY_NAMESPACE 219) and unit-topic lists (311-313), the broker's system topics
 * (GET_SYSTEM_TOPIC_LIST_FROM_BROKER 305) and producers (GET_ALL_PRODUCER_INFO 328, mqadmin {@code producer}),
 * and the 5.x-only UPDATE_AND_CREATE_TOPIC_LIST (18, {@code updateTopicList}), GET_BROKER_HA_STATUS (907,
 * {@code haStatus}) and GET_BROKER_EPOCH_CACHE (1007, {@code getBrokerEpoch}); also QUERY_CONSUME_TIME_SPAN
 * (303, {@code queryConsumeTimeSpan}), DELETE_EXPIRED_COMMITLOG (329, {@code deleteExpiredCommitLog}) and
 * INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, {@code getConsumeStatus}), which the broker answers by asking each
 * consumer of the group with GET_CONSUMER_STATUS_FROM_CLIENT (221).
 */
class OperatorListsTest {
    /** ResponseCode.QUERY_NOT_FOUND. */
    private static final int QUERY_NOT_FOUND = 22;
    /** ResponseCode.INVALID_PARAMETER. */
    private static final int INVALID_PARAMETER = 29;
    /** ResponseCode.SYSTEM_ERROR. */
    private static final int SYSTEM_ERROR = 1;
    /** TopicSysFlag.FLAG_UNIT and FLAG_UNIT_SUB. */
    private static final int FLAG_UNIT = 1;
    private static final int FLAG_UNIT_SUB = 2;

    /** Cluster name, broker name and master address of the suite's single broker. */
    private static String[] theBroker(DefaultMQAdminExt admin) throws Exception {
        var info = admin.examineBrokerClusterInfo();
        for (var entry : info.getBrokerAddrTable().entrySet()) {
            String master = entry.getValue().getBrokerAddrs().get(0L);
            if (master != null) {
                return new String[] {entry.getValue().getCluster(), entry.getKey(), master};
            }
        }
        throw new AssertionError("no master in " + info.getBrokerAddrTable());
    }

    /** 5.x tools against a 5.x broker (rmqd speaks 5.3.3 by default). */
    private static void assume5x(DefaultMQProducer producer) {
        assumeTrue(Compat.clientVersion().startsWith("5."), "5.x admin call; client " + Compat.clientVersion());
        String broker = Compat.brokerVersion(producer);
        assumeTrue(!broker.startsWith("V4_"), "5.x request code; broker " + broker);
    }

    /**
     * Calls a method by name: the 5.x-only admin calls and the getters of their 5.x-only result types, which
     * the 4.x tools this suite also compiles against do not have.
     */
    private static Object call(Object target, String name, Object... args) throws Exception {
        for (Method m : target.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                try {
                    return m.invoke(target, args);
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof Exception) {
                        throw (Exception) e.getCause();
                    }
                    throw e;
                }
            }
        }
        throw new AssertionError("no method " + name + " on " + target.getClass());
    }

    private static TopicConfig topicWithFlag(String name, int sysFlag) {
        TopicConfig config = new TopicConfig(name, 1, 1, 6);
        config.setTopicSysFlag(sysFlag);
        return config;
    }

    @Test
    void kvNamespaceAndUnitTopicListsComeFromTheNameServer() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String namespace = Compat.unique("ns_kvlist");
            admin.createAndUpdateKvConfig(namespace, "a", "1");
            admin.createAndUpdateKvConfig(namespace, "b", "x:2;y:3");
            assertEquals(Map.of("a", "1", "b", "x:2;y:3"), admin.getKVListByNamespace(namespace).getTable());
            MQClientException none = assertThrows(MQClientException.class,
                () -> admin.getKVListByNamespace(Compat.unique("ns_none")));
            assertEquals(QUERY_NOT_FOUND, none.getResponseCode());

            String addr = theBroker(admin)[2];
            String unit = Compat.unique("t_unit");
            String unitSub = Compat.unique("t_unitsub");
            String both = Compat.unique("t_unitboth");
            String plain = Compat.unique("t_plain");
            admin.createAndUpdateTopicConfig(addr, topicWithFlag(unit, FLAG_UNIT));
            admin.createAndUpdateTopicConfig(addr, topicWithFlag(unitSub, FLAG_UNIT_SUB));
            admin.createAndUpdateTopicConfig(addr, topicWithFlag(both, FLAG_UNIT | FLAG_UNIT_SUB));
            admin.createAndUpdateTopicConfig(addr, topicWithFlag(plain, 0));
            var api = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
            Compat.await("the four topics in the name server's routes",
                () -> {
                    try {
                        return admin.fetchAllTopicList().getTopicList().containsAll(List.of(unit, unitSub, both, plain));
                    } catch (Exception e) {
                        return false;
                    }
                });
            Set<String> ours = Set.of(unit, unitSub, both, plain);
            assertEquals(Set.of(unit, both), mine(api.getUnitTopicList(false, 3_000).getTopicList(), ours));
            assertEquals(Set.of(unitSub, both), mine(api.getHasUnitSubTopicList(false, 3_000).getTopicList(), ours));
            assertEquals(Set.of(unitSub), mine(api.getHasUnitSubUnUnitTopicList(false, 3_000).getTopicList(), ours));
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    private static Set<String> mine(Set<String> listed, Set<String> ours) {
        Set<String> kept = new java.util.HashSet<>(listed);
        kept.retainAll(ours);
        return kept;
    }

    @Test
    void brokerListsItsSystemTopicsAndProducers() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String[] broker = theBroker(admin);
            String cluster = broker[0];
            String brokerName = broker[1];
            String addr = broker[2];
            String topic = Compat.unique("t_oplists");
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 2, 2, 6));

            var api = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
            Set<String> system = api.getSystemTopicListFromBroker(addr, 3_000).getTopicList();
            for (String expected : List.of(cluster, brokerName, cluster + "_REPLY_TOPIC", "SCHEDULE_TOPIC_XXXX",
                "OFFSET_MOVED_EVENT", "SELF_TEST_TOPIC", "BenchmarkTest", "RMQ_SYS_TRANS_HALF_TOPIC")) {
                assertTrue(system.contains(expected), expected + " in " + system);
            }
            assertFalse(system.contains(topic), system.toString());

            Compat.awaitRoute(producer, topic, 2);
            Compat.assertSendOk(producer.send(Compat.message(topic, "a", 0)));
            producer.getDefaultMQProducerImpl().getMqClientFactory().sendHeartbeatToAllBrokerWithLock();
            var producers = admin.getAllProducerInfo(addr).getData().get(producer.getProducerGroup());
            assertNotNull(producers, "group " + producer.getProducerGroup() + " in the producer table");
            assertEquals(1, producers.size(), producers.toString());
            var info = producers.get(0);
            assertEquals(producer.buildMQClientId(), info.getClientId());
            assertEquals(LanguageCode.JAVA, info.getLanguage());
            assertEquals(MQVersion.CURRENT_VERSION, info.getVersion());
            assertTrue(info.getRemoteIP().startsWith("/127.0.0.1:"), info.getRemoteIP());
            assertTrue(info.getLastUpdateTimestamp() > 0, info.toString());
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void topicListIsCheckedWholeThenCreated() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            assume5x(producer);
            String addr = theBroker(admin)[2];
            String first = Compat.unique("t_list");
            String second = Compat.unique("t_list");
            call(admin, "createAndUpdateTopicConfigList", addr,
                List.of(new TopicConfig(first, 3, 3, 6), new TopicConfig(second, 2, 1, 4)));
            var one = (TopicConfig) call(admin, "examineTopicConfig", addr, first);
            assertEquals(3, one.getReadQueueNums());
            assertEquals(3, one.getWriteQueueNums());
            var two = (TopicConfig) call(admin, "examineTopicConfig", addr, second);
            assertEquals(2, two.getReadQueueNums());
            assertEquals(1, two.getWriteQueueNums());
            assertEquals(4, two.getPerm());

            String refusedWithIt = Compat.unique("t_list");
            MQClientException systemTopic = assertThrows(MQClientException.class,
                () -> call(admin, "createAndUpdateTopicConfigList", addr,
                    List.of(new TopicConfig(refusedWithIt, 1, 1, 6), new TopicConfig("SCHEDULE_TOPIC_XXXX", 1, 1, 6))));
            assertEquals(INVALID_PARAMETER, systemTopic.getResponseCode());
            assertEquals("The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic.", systemTopic.getErrorMessage());
            assertFalse(admin.getAllTopicConfig(addr, 3_000).getTopicConfigTable().containsKey(refusedWithIt));

            MQClientException badName = assertThrows(MQClientException.class,
                () -> call(admin, "createAndUpdateTopicConfigList", addr, List.of(new TopicConfig("bad name", 1, 1, 6))));
            assertEquals(INVALID_PARAMETER, badName.getResponseCode());
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void aMasterWithoutSlavesReportsItsHaStatusAndNoEpochs() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            assume5x(producer);
            String addr = theBroker(admin)[2];
            String topic = Compat.unique("t_ha");
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 1, 1, 6));
            Compat.awaitRoute(producer, topic, 1);
            Compat.assertSendOk(producer.send(Compat.message(topic, "a", 0)));

            Object ha = call(admin, "getBrokerHAStatus", addr);
            assertEquals(true, call(ha, "isMaster"));
            assertEquals(0, call(ha, "getInSyncSlaveNums"));
            assertEquals(List.of(), call(ha, "getHaConnectionInfo"));
            long maxOffset = Long.parseLong(admin.fetchBrokerRuntimeStats(addr).getTable().get("commitLogMaxOffset"));
            assertEquals(maxOffset, call(ha, "getMasterCommitLogMaxOffset"));
            Object client = call(ha, "getHaClientRuntimeInfo");
            assertNotNull(client);
            assertEquals(0L, call(client, "getMaxOffset"));

            MQBrokerException epochs = assertThrows(MQBrokerException.class,
                () -> call(admin, "getBrokerEpochCache", addr));
            assertEquals(SYSTEM_ERROR, epochs.getResponseCode());
            assertTrue(epochs.getErrorMessage().contains("only for controllerMode"), epochs.getErrorMessage());
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** A subscription group named {@code group}, copied from the system group every broker has. */
    private static void createGroup(DefaultMQAdminExt admin, String addr, String group) throws Exception {
        var config = admin.examineSubscriptionGroupConfig(addr, "TOOLS_CONSUMER");
        config.setGroupName(group);
        admin.createAndUpdateSubscriptionGroupConfig(addr, config);
    }

    @Test
    void consumeTimeSpanFollowsTheGroupsOffset() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String addr = theBroker(admin)[2];
            String topic = Compat.unique("t_span");
            String group = Compat.unique("cg_span");
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 1, 1, 6));
            createGroup(admin, addr, group);
            Compat.awaitRoute(producer, topic, 1);
            List<SendResult> sent = Compat.sendSync(producer,
                List.of(Compat.message(topic, "a", 0), Compat.message(topic, "a", 1), Compat.message(topic, "a", 2)));
            long[] stored = new long[3];
            for (int i = 0; i < 3; i++) {
                stored[i] = admin.viewMessage(topic, sent.get(i).getMsgId()).getStoreTimestamp();
            }
            MessageQueue mq = sent.get(0).getMessageQueue();
            Compat.await("3 messages in the consume queue", () -> {
                try {
                    return admin.maxOffset(mq) == 3;
                } catch (Exception e) {
                    return false;
                }
            });

            admin.updateConsumeOffset(addr, group, mq, 1);
            long before = System.currentTimeMillis();
            var spans = admin.queryConsumeTimeSpan(topic, group);
            long after = System.currentTimeMillis();
            assertEquals(1, spans.size(), spans.toString());
            var span = spans.get(0);
            assertEquals(mq, span.getMessageQueue());
            assertEquals(stored[0], span.getMinTimeStamp());
            assertEquals(stored[2], span.getMaxTimeStamp());
            assertEquals(stored[0], span.getConsumeTimeStamp());
            long delay = span.getDelayTime();
            assertTrue(delay >= before - stored[1] && delay <= after - stored[1],
                "delay " + delay + " of the message stored at " + stored[1] + ", asked in [" + before + ", " + after + "]");

            admin.updateConsumeOffset(addr, group, mq, 3);
            var caughtUp = admin.queryConsumeTimeSpan(topic, group).get(0);
            assertEquals(stored[2], caughtUp.getConsumeTimeStamp());
            assertEquals(0, caughtUp.getDelayTime());
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void deleteExpiredCommitLogKeepsLiveMessages() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String[] broker = theBroker(admin);
            String addr = broker[2];
            String topic = Compat.unique("t_delcl");
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 1, 1, 6));
            Compat.awaitRoute(producer, topic, 1);
            SendResult sent = Compat.sendSync(producer, List.of(Compat.message(topic, "a", 0))).get(0);

            assertTrue(admin.deleteExpiredCommitLogByAddr(addr));
            assertTrue(admin.deleteExpiredCommitLog(broker[0]));
            // The messages just written are within fileReservedTime: still there.
            assertEquals(Compat.bodyOf(Compat.message(topic, "a", 0)),
                Compat.bodyOf(admin.viewMessage(topic, sent.getMsgId())));
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }

    @Test
    void consumerStatusIsGatheredFromTheGroupsMembers() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            String addr = theBroker(admin)[2];
            String topic = Compat.unique("t_cstatus");
            String group = Compat.unique("cg_cstatus");
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 2, 2, 6));
            Compat.awaitRoute(producer, topic, 2);
            Compat.sendSync(producer, List.of(Compat.message(topic, "a", 0), Compat.message(topic, "a", 1)));

            MQClientException offline = assertThrows(MQClientException.class,
                () -> admin.getConsumeStatus(topic, group, ""));
            // Java's remark for a group it never saw is its NullPointerException; rmqd answers the remark Java
            // gives a known group without members.
            assertEquals(SYSTEM_ERROR, offline.getResponseCode());

            Received received = new Received();
            consumer = Compat.pushConsumer(group, topic, "*");
            consumer.registerMessageListener(received.listener());
            consumer.start();
            Compat.await("both messages consumed", () -> received.size() == 2);
            String clientId = consumer.buildMQClientId();
            // The client reports the offsets in its offset store: the next offset of each queue it consumed.
            Compat.await("the consumer's offsets of " + topic + " sum to 2", () -> {
                try {
                    var status = admin.getConsumeStatus(topic, group, "");
                    var offsets = status.get(clientId);
                    return status.keySet().equals(Set.of(clientId))
                        && offsets.values().stream().mapToLong(Long::longValue).sum() == 2
                        && offsets.keySet().stream().allMatch(mq -> mq.getTopic().equals(topic));
                } catch (Exception e) {
                    Compat.log("getConsumeStatus: %s", e);
                    return false;
                }
            });
            var one = admin.getConsumeStatus(topic, group, clientId);
            assertEquals(Set.of(clientId), one.keySet());
            assertTrue(admin.getConsumeStatus(topic, group, "no-such-client").isEmpty());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }
}
