package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * GET_BROKER_RUNTIME_INFO (28) as mqadmin brokerStatus prints it: every key of Java's
 * AdminBrokerProcessor.prepareRuntimeInfo / DefaultMessageStore.getRuntimeInfo / StoreStatsService.getRuntimeInfo
 * is present with a value of its shape, and the put/get counters move with sends and pulls.
 */
class RuntimeInfoTest {
    /** Keys 4.9.7 and 5.3.3 both report, holding a whole number. */
    private static final String[] NUMBER_KEYS = {
        "putMessageEntireTimeMax", "putMessageTimesTotal", "putMessageFailedTimes", "putMessageSizeTotal",
        "dispatchMaxBuffer", "getMessageEntireTimeMax", "commitLogMaxOffset",
        "remainTransientStoreBufferNumbs", "dispatchBehindBytes", "pageCacheLockTimeMills",
        "sendThreadPoolQueueSize", "sendThreadPoolQueueCapacity", "pullThreadPoolQueueSize",
        "pullThreadPoolQueueCapacity", "queryThreadPoolQueueSize", "queryThreadPoolQueueCapacity",
        "EndTransactionQueueSize", "EndTransactionThreadPoolQueueCapacity", "msgPutTotalTodayNow",
        "msgGetTotalTodayNow", "startAcceptSendRequestTimeStamp"};
    /** Keys only 5.x reports, holding a whole number. */
    private static final String[] NUMBER_KEYS_5X = {
        "litePullThreadPoolQueueSize", "litePullThreadPoolQueueCapacity", "ackThreadPoolQueueSize",
        "ackThreadPoolQueueCapacity", "litePullThreadPoolQueueHeadWaitTimeMills",
        "ackThreadPoolQueueHeadWaitTimeMills", "timerReadBehind", "timerOffsetBehind", "timerCongestNum"};
    /** "tps10 tps60 tps600": doubles, a window without its samples yet left empty. */
    private static final String[] TPS_KEYS = {"putTps", "getFoundTps", "getMissTps", "getTotalTps"};

    private static Map<String, String> runtimeInfo(DefaultMQAdminExt admin, String addr) throws Exception {
        return admin.fetchBrokerRuntimeStats(addr).getTable();
    }

    private static String brokerAddr(DefaultMQAdminExt admin) throws Exception {
        for (var data : admin.examineBrokerClusterInfo().getBrokerAddrTable().values()) {
            return data.getBrokerAddrs().get(0L);
        }
        throw new AssertionError("no broker");
    }

    private static String value(Map<String, String> table, String key) {
        String value = table.get(key);
        assertNotNull(value, () -> key + " in runtime info " + table.keySet());
        return value;
    }

    private static long number(Map<String, String> table, String key) {
        return Long.parseLong(value(table, key));
    }

    private static double decimal(Map<String, String> table, String key) {
        return Double.parseDouble(value(table, key));
    }

    private static void assertShapes(Map<String, String> table) {
        boolean v5 = value(table, "brokerVersionDesc").startsWith("V5_");
        for (String key : NUMBER_KEYS) {
            assertTrue(number(table, key) >= 0, key + "=" + table.get(key));
        }
        if (v5) {
            for (String key : NUMBER_KEYS_5X) {
                assertTrue(number(table, key) >= 0, key + "=" + table.get(key));
            }
            assertTrue(decimal(table, "timerEnqueueTps") >= 0, "timerEnqueueTps");
            assertTrue(decimal(table, "timerDequeueTps") >= 0, "timerDequeueTps");
            assertTrue(decimal(table, "consumeQueueDiskRatio") <= 1, "consumeQueueDiskRatio");
        }
        for (String key : TPS_KEYS) {
            for (String rate : value(table, key).split(" ")) {
                assertTrue(rate.isEmpty() || Double.parseDouble(rate) >= 0, key + "=" + table.get(key));
            }
        }
        // -1 while the store has no commit-log file (CommitLog.getMinOffset).
        assertTrue(number(table, "commitLogMinOffset") >= -1, "commitLogMinOffset");
        assertTrue(decimal(table, "putMessageAverageSize") >= 0, "putMessageAverageSize");
        assertTrue(decimal(table, "putLatency99") >= 0, "putLatency99");
        assertTrue(decimal(table, "putLatency999") >= 0, "putLatency999");
        double ratio = decimal(table, "commitLogDiskRatio");
        assertTrue(ratio >= 0 && ratio <= 1, "commitLogDiskRatio " + ratio);
        // "null" until the broker's first minute has passed, then 13 "[range]:count" figures.
        String distribution = value(table, "putMessageDistributeTime");
        assertTrue(distribution.equals("null") || distribution.trim().split(" ").length == 13,
            "putMessageDistributeTime " + distribution);
        assertTrue(value(table, "remainHowManyDataToFlush").matches("\\d+ B|\\d+\\.\\d [KMGTPE]iB"),
            "remainHowManyDataToFlush " + table.get("remainHowManyDataToFlush"));
        assertTrue(value(table, "commitLogDirCapacity").matches("Total : .+, Free : .+\\."),
            "commitLogDirCapacity " + table.get("commitLogDirCapacity"));
    }

    @Test
    void everyKeyIsReportedAndCountersMoveWithSendsAndPulls() throws Exception {
        String topic = Compat.unique("t_rt");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPushConsumer consumer = null;
        try {
            String addr = brokerAddr(admin);
            Map<String, String> before = runtimeInfo(admin, addr);
            assertShapes(before);

            int sends = 3;
            for (int i = 0; i < sends; i++) {
                Compat.assertSendOk(producer.send(Compat.message(topic, "TagR", i)));
            }
            Map<String, String> sent = runtimeInfo(admin, addr);
            assertShapes(sent);
            // putMessageTimesTotal reads 1 before the first put (Java divides by it), so compare the real total.
            assertTrue(number(sent, "msgPutTotalTodayNow") >= number(before, "msgPutTotalTodayNow") + sends,
                () -> "msgPutTotalTodayNow " + before.get("msgPutTotalTodayNow") + " -> " + sent.get("msgPutTotalTodayNow"));
            assertTrue(number(sent, "putMessageTimesTotal") >= number(before, "msgPutTotalTodayNow") + sends,
                "putMessageTimesTotal");
            assertTrue(number(sent, "putMessageSizeTotal") > number(before, "putMessageSizeTotal"),
                "putMessageSizeTotal grows with the sends");
            assertTrue(decimal(sent, "putMessageAverageSize") > 0, "putMessageAverageSize");
            assertTrue(number(sent, "commitLogMinOffset") >= 0, "commitLogMinOffset once a message is stored");
            assertEquals(number(before, "putMessageFailedTimes"), number(sent, "putMessageFailedTimes"),
                "no failed put");

            Set<String> received = ConcurrentHashMap.newKeySet();
            consumer = Compat.startCollectingConsumer(Compat.unique("cg_rt"), topic, received);
            Compat.await("the pushed messages", () -> received.size() >= sends);
            Map<String, String> pulled = runtimeInfo(admin, addr);
            assertShapes(pulled);
            Compat.log("runtime info %s", new TreeMap<>(pulled));
            assertTrue(number(pulled, "msgGetTotalTodayNow") >= number(sent, "msgGetTotalTodayNow") + sends,
                () -> "msgGetTotalTodayNow " + sent.get("msgGetTotalTodayNow") + " -> "
                    + pulled.get("msgGetTotalTodayNow"));
            assertTrue(number(pulled, "getMessageEntireTimeMax") >= 0, "getMessageEntireTimeMax");
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }
}
