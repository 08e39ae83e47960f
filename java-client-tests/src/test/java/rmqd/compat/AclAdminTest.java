package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ACL 1.0 administration through DefaultMQAdminExt (4.9.x tools; 5.3.3 removed these methods and the broker
 * side, so the class skips with a 5.3.3 client): UPDATE_AND_CREATE_ACL_CONFIG (50), DELETE_ACL_CONFIG (51),
 * GET_BROKER_CLUSTER_ACL_INFO (52), UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53). (GET_BROKER_CLUSTER_ACL_CONFIG 54 is gone
 * from the 4.9.8 tools and broker.) What the broker wrote is read back with the Java broker's own reader,
 * AclUtils.getYamlDataObject.
 * Needs the broker of scripts/acl-test.sh (RMQ_ACL_TEST=1) and the path of the plain_acl.yml it reads in
 * RMQ_ACL_FILE. The admin signs as rmqdAdmin1; created access keys are unique per run.
 */
class AclAdminTest {
    private static final int SYSTEM_ERROR = 1;
    /** 4.x ResponseCode UPDATE_AND_CREATE_ACL_CONFIG_FAILED, DELETE_ACL_CONFIG_FAILED, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED. */
    private static final int CREATE_FAILED = 209;
    private static final int DELETE_FAILED = 210;
    private static final int WHITE_FAILED = 211;
    private static final String CONFIG_CLASS = "org.apache.rocketmq.common.PlainAccessConfig";

    private final List<Runnable> cleanup = new ArrayList<>();
    private String aclFile;

    @BeforeEach
    void onlyWithAclBroker() {
        assumeTrue("1".equals(System.getenv("RMQ_ACL_TEST")),
            "needs a broker with aclEnable=true and acl-test-plain_acl.yml (scripts/acl-test.sh)");
        aclFile = System.getenv("RMQ_ACL_FILE");
        assertNotNull(aclFile, "RMQ_ACL_FILE must name the broker's plain_acl.yml");
        try {
            Class.forName(CONFIG_CLASS);
        } catch (ClassNotFoundException e) {
            assumeTrue(false, "client " + Compat.clientVersion() + " has no ACL 1.0 admin API (removed in 5.3.3)");
        }
    }

    @AfterEach
    void stop() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).run();
        }
    }

    private static RPCHook hook(String accessKey, String secretKey) {
        return new AclClientRPCHook(new SessionCredentials(accessKey, secretKey));
    }

    private DefaultMQAdminExt admin(RPCHook rpcHook) throws Exception {
        DefaultMQAdminExt admin = rpcHook == null ? new DefaultMQAdminExt() : new DefaultMQAdminExt(rpcHook);
        admin.setNamesrvAddr(Compat.namesrvAddr());
        admin.setInstanceName(Compat.unique("admin"));
        admin.start();
        cleanup.add(admin::shutdown);
        return admin;
    }

    private DefaultMQAdminExt rootAdmin() throws Exception {
        return admin(hook("rmqdAdmin1", "adminSecret1"));
    }

    private DefaultMQProducer producer(RPCHook rpcHook) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(Compat.unique("pg"), rpcHook);
        producer.setNamesrvAddr(Compat.namesrvAddr());
        producer.setInstanceName(Compat.unique("inst"));
        producer.setSendMsgTimeout(5_000);
        producer.start();
        cleanup.add(producer::shutdown);
        return producer;
    }

    private static String brokerAddr(DefaultMQAdminExt admin) throws Exception {
        var info = admin.examineBrokerClusterInfo();
        for (var data : info.getBrokerAddrTable().values()) {
            String master = data.getBrokerAddrs().get(0L);
            if (master != null) {
                return master;
            }
        }
        throw new AssertionError("no broker master in " + info.getBrokerAddrTable());
    }

    // --- reflection: these types and methods exist only in the 4.x (and <= 5.3.2) tools ---

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
        throw new AssertionError("no method " + name + "/" + args.length + " on " + target.getClass());
    }

    private static Object accessConfig(String accessKey, String secretKey, String defaultTopicPerm,
        String defaultGroupPerm, List<String> topicPerms) throws Exception {
        Object cfg = Class.forName(CONFIG_CLASS).getConstructor().newInstance();
        call(cfg, "setAccessKey", accessKey);
        call(cfg, "setSecretKey", secretKey);
        call(cfg, "setAdmin", false);
        call(cfg, "setDefaultTopicPerm", defaultTopicPerm);
        call(cfg, "setDefaultGroupPerm", defaultGroupPerm);
        call(cfg, "setTopicPerms", topicPerms);
        return cfg;
    }

    /** The ACL file as the Java broker reads it (AclUtils.getYamlDataObject, snakeyaml into LinkedHashMaps). */
    private Map<?, ?> aclFileAsJavaReadsIt() throws Exception {
        Method read = Class.forName("org.apache.rocketmq.acl.common.AclUtils")
            .getMethod("getYamlDataObject", String.class, Class.class);
        return (Map<?, ?>) read.invoke(null, aclFile, Map.class);
    }

    private Map<?, ?> accountInFile(String accessKey) throws Exception {
        Object accounts = aclFileAsJavaReadsIt().get("accounts");
        for (Object account : accounts == null ? List.of() : (List<?>) accounts) {
            if (accessKey.equals(((Map<?, ?>) account).get("accessKey"))) {
                return (Map<?, ?>) account;
            }
        }
        return null;
    }

    private static long counter(Object dataVersion) throws Exception {
        return ((Number) call(dataVersion, "getCounter")).longValue();
    }

    private interface Call {
        void run() throws Exception;
    }

    /** The response code the client reports for a failed call, and the text of the whole chain. */
    private static void assertFails(Call call, int expectedCode, String reason) {
        try {
            call.run();
        } catch (Throwable t) {
            StringBuilder text = new StringBuilder();
            int code = -1;
            for (Throwable c = t; c != null; c = c.getCause()) {
                text.append(c).append(" | ");
                if (code == -1 && c instanceof MQBrokerException) {
                    code = ((MQBrokerException) c).getResponseCode();
                } else if (code == -1 && c instanceof MQClientException
                    && ((MQClientException) c).getResponseCode() > 0) {
                    code = ((MQClientException) c).getResponseCode();
                }
            }
            assertTrue(text.indexOf(reason) >= 0, "expected \"" + reason + "\", got: " + text);
            assertEquals(expectedCode, code, "response code: " + text);
            return;
        }
        fail("expected a failure with \"" + reason + "\" but the call succeeded");
    }

    private static Message msg(String topic, String body) {
        return new Message(topic, "acl", body.getBytes(StandardCharsets.UTF_8));
    }

    private String aclFileText() throws Exception {
        return new String(Files.readAllBytes(Paths.get(aclFile)), StandardCharsets.UTF_8);
    }

    @Test
    void createdAccountWorksUpdatedPermsApplyAndDeletedAccountIsRefused() throws Exception {
        DefaultMQAdminExt admin = rootAdmin();
        String addr = brokerAddr(admin);
        String topic = Compat.unique("acl_adm");
        admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 2, 2, 6));
        String key = Compat.unique("aclNew").replace('-', '_');
        String secret = "secret_" + key;

        call(admin, "createAndUpdatePlainAccessConfig", addr,
            accessConfig(key, secret, "DENY", "SUB", List.of(topic + "=PUB|SUB")));
        String text = aclFileText();
        assertTrue(text.contains("accessKey: " + key) && text.contains("- " + topic + "=PUB|SUB"),
            "the new account is in " + aclFile + ":\n" + text);

        Map<?, ?> written = accountInFile(key);
        assertNotNull(written, "the new account is in " + aclFile + ":\n" + text);
        // PlainPermissionManager.createAclAccessConfigMap: these keys in this order, null ones left out.
        assertEquals(List.of("accessKey", "secretKey", "admin", "defaultTopicPerm", "defaultGroupPerm", "topicPerms"),
            new ArrayList<>(written.keySet()));
        assertEquals(secret, written.get("secretKey"));
        assertEquals(Boolean.FALSE, written.get("admin"));
        assertEquals("DENY", written.get("defaultTopicPerm"));
        assertEquals("SUB", written.get("defaultGroupPerm"));
        assertEquals(List.of(topic + "=PUB|SUB"), written.get("topicPerms"));
        List<?> versions = (List<?>) aclFileAsJavaReadsIt().get("dataVersion");
        assertEquals(1, versions.size(), "one dataVersion entry: " + text);
        assertEquals(List.of("counter", "timestamp"), new ArrayList<>(((Map<?, ?>) versions.get(0)).keySet()));

        // The new account sends and consumes at once.
        RPCHook newHook = hook(key, secret);
        DefaultMQProducer producer = producer(newHook);
        String body = "body-" + topic;
        Compat.assertSendOk(producer.send(msg(topic, body)));
        Received received = new Received();
        DefaultMQPushConsumer consumer =
            new DefaultMQPushConsumer(Compat.unique("acl_adm_cg"), newHook, new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        cleanup.add(consumer::shutdown);
        received.awaitExactly(List.of(body), topic);

        // Updated perms apply at once: SUB only on the topic.
        call(admin, "createAndUpdatePlainAccessConfig", addr,
            accessConfig(key, secret, "DENY", "SUB", List.of(topic + "=SUB")));
        AclTestRefusal.assertRefused(() -> producer.send(msg(topic, "refused")),
            "No default permission for topic:" + topic);
        assertEquals(List.of(topic + "=SUB"), accountInFile(key).get("topicPerms"));
        List<?> accounts = (List<?>) aclFileAsJavaReadsIt().get("accounts");
        assertEquals(key, ((Map<?, ?>) accounts.get(accounts.size() - 1)).get("accessKey"),
            "an updated account moves to the end of the list");

        // A deleted account is refused at once and gone from the file.
        call(admin, "deletePlainAccessConfig", addr, key);
        AclTestRefusal.assertRefused(() -> producer.send(msg(topic, "refused")), "No acl config for " + key);
        assertNull(accountInFile(key), "deleted from " + aclFile);
    }

    @Test
    void versionInfoFollowsTheFile() throws Exception {
        DefaultMQAdminExt admin = rootAdmin();
        String addr = brokerAddr(admin);
        Object before = call(admin, "examineBrokerClusterAclVersionInfo", addr);
        var cluster = admin.examineBrokerClusterInfo();
        String brokerName = (String) call(before, "getBrokerName");
        assertEquals(addr, call(before, "getBrokerAddr"));
        assertTrue(cluster.getBrokerAddrTable().containsKey(brokerName), brokerName + " in " + cluster.getBrokerAddrTable());
        assertEquals(cluster.getBrokerAddrTable().get(brokerName).getCluster(), call(before, "getClusterName"));
        Map<?, ?> all = (Map<?, ?>) call(before, "getAllAclConfigDataVersion");
        assertEquals(List.of(aclFile), new ArrayList<>(all.keySet()), "one ACL file, keyed by its path");
        long start = counter(all.get(aclFile));

        String key = Compat.unique("aclVer").replace('-', '_');
        call(admin, "createAndUpdatePlainAccessConfig", addr, accessConfig(key, "secret_" + key, "SUB", "SUB", null));
        // Java bumps the file's version at once and its own (aclConfigDataVersion) when its file watcher
        // re-reads the file.
        Compat.await("the ACL version to count the update", () -> {
            try {
                Object now = call(admin, "examineBrokerClusterAclVersionInfo", addr);
                Object fileVersion = ((Map<?, ?>) call(now, "getAllAclConfigDataVersion")).get(aclFile);
                Object version = call(now, "getAclConfigDataVersion");
                return counter(fileVersion) == start + 1 && counter(version) == start + 1
                    && call(version, "getTimestamp").equals(call(fileVersion, "getTimestamp"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(aclFileText().contains("counter: " + (start + 1)), "dataVersion in the file");
        call(admin, "deletePlainAccessConfig", addr, key);
    }

    @Test
    void globalWhiteListIsWrittenToTheFile() throws Exception {
        DefaultMQAdminExt admin = rootAdmin();
        String addr = brokerAddr(admin);
        // 127.0.0.1 must stay out: AclTest expects unsigned local clients to be refused.
        String list = "10.10.103.*,192.168.0.*";
        call(admin, "updateGlobalWhiteAddrConfig", addr, list, aclFile);
        assertEquals(Arrays.asList(list.split(",")), aclFileAsJavaReadsIt().get("globalWhiteRemoteAddresses"));
        assertTrue(aclFileText().contains("globalWhiteRemoteAddresses:\n- 10.10.103.*\n- 192.168.0.*\n"), aclFileText());
        // Without aclFileFullPath (@CFNotNull, but Java's header decoding only logs a missing field): the
        // broker's own ACL file.
        String other = "10.10.104.*";
        call(admin, "updateGlobalWhiteAddrConfig", addr, other);
        assertEquals(List.of(other), aclFileAsJavaReadsIt().get("globalWhiteRemoteAddresses"));
        call(admin, "updateGlobalWhiteAddrConfig", addr, list, aclFile);
        assertFails(() -> call(admin, "updateGlobalWhiteAddrConfig", addr, list, "/nonexistent/other_acl.yml"),
            WHITE_FAILED, "The globalWhiteAddresses[" + list + "] has been updated failed.");
    }

    @Test
    void badRequestsFailWithJavasCodes() throws Exception {
        DefaultMQAdminExt admin = rootAdmin();
        String addr = brokerAddr(admin);
        assertFails(() -> call(admin, "createAndUpdatePlainAccessConfig", addr,
                accessConfig("aclShortSecret1", "abc", "SUB", "SUB", null)), CREATE_FAILED,
            "The accessKey=aclShortSecret1 and secretKey=abc cannot be null and length should longer than 6");
        assertFails(() -> call(admin, "createAndUpdatePlainAccessConfig", addr,
                accessConfig("aclBadPerm1", "aclBadPerm1", "SUB", "SUB", List.of("topicA=ALL"))), CREATE_FAILED,
            "Parse resource permission error for topicA=ALL.");
        String missing = Compat.unique("aclMissing");
        assertFails(() -> call(admin, "deletePlainAccessConfig", addr, missing), DELETE_FAILED,
            "The accesskey[" + missing + "] corresponding to accessConfig has been deleted failed.");
    }

    @Test
    void aclAdminNeedsASignatureButNotAnAdminAccount() throws Exception {
        // Permission.ADMIN_CODE does not list 50-54: any signed account may use them.
        DefaultMQAdminExt user = admin(hook("rmqdUser1", "userSecret1"));
        String addr = brokerAddr(user);
        assertNotNull(call(user, "examineBrokerClusterAclVersionInfo", addr));
        DefaultMQAdminExt unsigned = admin(null);
        AclTestRefusal.assertRefused(() -> call(unsigned, "examineBrokerClusterAclVersionInfo", addr),
            "No accessKey is configured");
    }

    /** AclTest's check of a refusal: SYSTEM_ERROR with the AclException text. */
    private static final class AclTestRefusal {
        static void assertRefused(Call call, String reason) {
            assertFails(call, SYSTEM_ERROR, "AclException: " + reason);
        }
    }
}
