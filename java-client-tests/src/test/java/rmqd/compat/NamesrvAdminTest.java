package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * mqadmin's name-server commands (getNamesrvConfig / updateNamesrvConfig, wipeWritePerm / addWritePerm) and
 * the broker version clusterList prints. Every call used here exists in the 4.9.x and 5.x tools alike.
 */
class NamesrvAdminTest {
    /** RequestCode.GET_BROKER_RUNTIME_INFO. */
    private static final int GET_BROKER_RUNTIME_INFO = 28;
    /** ResponseCode.NO_PERMISSION. */
    private static final int NO_PERMISSION = 16;
    /** PermName.PERM_READ | PermName.PERM_WRITE. */
    private static final int READ_WRITE = 6;
    private static final int PERM_WRITE = 2;
    /** The topic every broker with autoCreateTopicEnable serves. */
    private static final String DEFAULT_TOPIC = "TBW102";

    private static String firstNamesrv() {
        return Compat.namesrvAddr().split(";")[0];
    }

    /** Broker name and master address of the suite's single broker. */
    private static String[] theBroker(DefaultMQAdminExt admin) throws Exception {
        var info = admin.examineBrokerClusterInfo();
        for (var entry : info.getBrokerAddrTable().entrySet()) {
            String master = entry.getValue().getBrokerAddrs().get(0L);
            if (master != null) {
                return new String[] {entry.getKey(), master};
            }
        }
        throw new AssertionError("no master in " + info.getBrokerAddrTable());
    }

    /** The perm of brokerName's queues of topic in the name server's route. */
    private static int permInRoute(DefaultMQAdminExt admin, String topic, String brokerName) throws Exception {
        var route = admin.examineTopicRouteInfo(topic);
        for (var queues : route.getQueueDatas()) {
            if (queues.getBrokerName().equals(brokerName)) {
                return queues.getPerm();
            }
        }
        throw new AssertionError(brokerName + " not in the route of " + topic + ": " + route.getQueueDatas());
    }

    @Test
    void nameServerConfigIsReadAndUpdated() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        String namesrv = firstNamesrv();
        List<String> servers = List.of(namesrv);
        try {
            Map<String, Properties> configs = admin.getNameServerConfig(servers);
            Properties before = configs.get(namesrv);
            assertNotNull(before, () -> "config of " + namesrv + " in " + configs.keySet());
            assertEquals(namesrv.substring(namesrv.lastIndexOf(':') + 1), before.getProperty("listenPort"),
                "listenPort");
            assertNotNull(before.getProperty("kvConfigPath"), "kvConfigPath");
            String original = before.getProperty("productEnvName");
            assertNotNull(original, () -> "productEnvName in " + before.stringPropertyNames());

            String changed = Compat.unique("env");
            Properties update = new Properties();
            update.setProperty("productEnvName", changed);
            admin.updateNameServerConfig(update, servers);
            try {
                Properties after = admin.getNameServerConfig(servers).get(namesrv);
                assertEquals(changed, after.getProperty("productEnvName"));
                assertEquals(before.getProperty("listenPort"), after.getProperty("listenPort"));
            } finally {
                Properties restore = new Properties();
                restore.setProperty("productEnvName", original);
                admin.updateNameServerConfig(restore, servers);
            }
            assertEquals(original, admin.getNameServerConfig(servers).get(namesrv).getProperty("productEnvName"));

            // The store paths may not be changed remotely (4.9.x: "Can not update config path", 5.x: the black list).
            Properties path = new Properties();
            path.setProperty("kvConfigPath", "/tmp/rmqd-namesrv-admin-test/kv.json");
            MQClientException refused = assertThrows(MQClientException.class,
                () -> admin.updateNameServerConfig(path, servers));
            assertEquals(NO_PERMISSION, refused.getResponseCode(), refused::getMessage);
            assertEquals(before.getProperty("kvConfigPath"),
                admin.getNameServerConfig(servers).get(namesrv).getProperty("kvConfigPath"));
        } finally {
            admin.shutdown();
        }
    }

    @Test
    void writePermOfABrokerIsWipedAndAddedBack() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        String namesrv = firstNamesrv();
        try {
            String brokerName = theBroker(admin)[0];
            assertTrue((permInRoute(admin, DEFAULT_TOPIC, brokerName) & PERM_WRITE) != 0, "writable at first");
            int wiped = admin.wipeWritePermOfBroker(namesrv, brokerName);
            int added;
            try {
                assertTrue(wiped >= 1, () -> "wiped topics: " + wiped);
                assertEquals(0, permInRoute(admin, DEFAULT_TOPIC, brokerName) & PERM_WRITE,
                    "the route shows the broker without write permission");
            } finally {
                added = admin.addWritePermOfBroker(namesrv, brokerName);
            }
            assertEquals(wiped, added, "the same topics get the permission back");
            // Java sets read-write, whatever the perm had before (TBW102's inherit bit is gone from the route).
            assertEquals(READ_WRITE, permInRoute(admin, DEFAULT_TOPIC, brokerName));
            assertEquals(0, admin.wipeWritePermOfBroker(namesrv, Compat.unique("no_such_broker")));
        } finally {
            admin.shutdown();
        }
    }

    /**
     * clusterList's #Version column is GET_BROKER_RUNTIME_INFO's brokerVersionDesc; the broker's responses carry
     * the same version as their {@code version}, which clients record as the broker version. With
     * RMQ_EXPECTED_BROKER_VERSION (e.g. V4_9_8) the version itself is checked too.
     */
    @Test
    void theBrokerReportsTheVersionItSpeaks() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        try {
            String addr = theBroker(admin)[1];
            Map<String, String> stats = admin.fetchBrokerRuntimeStats(addr).getTable();
            String desc = stats.get("brokerVersionDesc");
            String version = stats.get("brokerVersion");
            assertNotNull(desc, () -> "brokerVersionDesc in " + stats.keySet());
            assertNotNull(version, () -> "brokerVersion in " + stats.keySet());

            // DefaultMQAdminExt hides its client API in 4.9.8; a producer's is the same class.
            var remoting = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl()
                .getRemotingClient();
            RemotingCommand response = remoting.invokeSync(addr,
                RemotingCommand.createRequestCommand(GET_BROKER_RUNTIME_INFO, null), 5_000);
            assertEquals(0, response.getCode(), () -> "GET_BROKER_RUNTIME_INFO: " + response);
            assertEquals(String.valueOf(response.getVersion()), version, "brokerVersion = response version");
            assertEquals(MQVersion.getVersionDesc(response.getVersion()), desc, "brokerVersionDesc");
            assertFalse(desc.equals("HIGHER_VERSION"), desc);

            String expected = System.getenv("RMQ_EXPECTED_BROKER_VERSION");
            if (expected != null && !expected.isBlank()) {
                assertEquals(expected.trim(), desc, "RMQ_EXPECTED_BROKER_VERSION");
            }
        } finally {
            producer.shutdown();
            admin.shutdown();
        }
    }
}
