package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
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
 * Plain ACL (aclEnable=true) with clients signing through AclClientRPCHook. Needs a broker started with
 * src/test/resources/acl-test-plain_acl.yml (scripts/acl-test.sh does it), so it only runs with RMQ_ACL_TEST=1.
 * A refusal must look like Java's: response code SYSTEM_ERROR (1), remark "...AclException: <reason>, ...".
 */
class AclTest {
    private static final int SYSTEM_ERROR = 1;
    private final List<Runnable> cleanup = new ArrayList<>();

    @BeforeEach
    void onlyWithAclBroker() {
        assumeTrue("1".equals(System.getenv("RMQ_ACL_TEST")),
            "needs a broker with aclEnable=true and acl-test-plain_acl.yml (scripts/acl-test.sh)");
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

    private static RPCHook user() {
        return hook("rmqdUser1", "userSecret1");
    }

    private DefaultMQProducer producer(RPCHook rpcHook) throws Exception {
        DefaultMQProducer producer = rpcHook == null
            ? new DefaultMQProducer(Compat.unique("pg"))
            : new DefaultMQProducer(Compat.unique("pg"), rpcHook);
        producer.setNamesrvAddr(Compat.namesrvAddr());
        producer.setInstanceName(Compat.unique("inst"));
        producer.setSendMsgTimeout(5_000);
        producer.start();
        cleanup.add(producer::shutdown);
        return producer;
    }

    private DefaultMQAdminExt admin(RPCHook rpcHook) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(rpcHook);
        admin.setNamesrvAddr(Compat.namesrvAddr());
        admin.setInstanceName(Compat.unique("admin"));
        admin.start();
        cleanup.add(admin::shutdown);
        return admin;
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

    private interface Call {
        void run() throws Exception;
    }

    /** The failure text of every exception in the chain, and the response code the client reports. */
    private static void assertRefused(Call call, String reason) {
        try {
            call.run();
        } catch (Throwable t) {
            StringBuilder text = new StringBuilder();
            int code = -1;
            for (Throwable c = t; c != null; c = c.getCause()) {
                text.append(c).append(" | ");
                if (c instanceof MQBrokerException && code == -1) {
                    code = ((MQBrokerException) c).getResponseCode();
                } else if (c instanceof MQClientException && ((MQClientException) c).getResponseCode() > 0
                    && code == -1) {
                    code = ((MQClientException) c).getResponseCode();
                }
            }
            assertTrue(text.indexOf("AclException") >= 0 && text.indexOf(reason) >= 0,
                "expected an AclException with \"" + reason + "\", got: " + text);
            assertEquals(SYSTEM_ERROR, code, "response code of the refusal: " + text);
            return;
        }
        fail("expected a refusal with \"" + reason + "\" but the call succeeded");
    }

    private static Message msg(String topic, String body) {
        return new Message(topic, "acl", body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void signedProducerAndConsumerWork() throws Exception {
        String topic = Compat.unique("acl_ok");
        DefaultMQProducer producer = producer(user());
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String body = "body-" + topic + "#" + i;
            Compat.assertSendOk(producer.send(msg(topic, body)));
            bodies.add(body);
        }
        Received received = new Received();
        DefaultMQPushConsumer consumer =
            new DefaultMQPushConsumer(Compat.unique("acl_cg"), user(), new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        consumer.start();
        cleanup.add(consumer::shutdown);
        received.awaitExactly(bodies, topic);
    }

    @Test
    void wrongSecretIsRefused() throws Exception {
        DefaultMQProducer producer = producer(hook("rmqdUser1", "not-the-secret"));
        assertRefused(() -> producer.send(msg(Compat.unique("acl_sig"), "x")),
            "Check signature failed for accessKey=rmqdUser1");
    }

    @Test
    void unknownAccessKeyIsRefused() throws Exception {
        DefaultMQProducer producer = producer(hook("rmqdNobody1", "whatever1"));
        assertRefused(() -> producer.send(msg(Compat.unique("acl_unknown"), "x")), "No acl config for rmqdNobody1");
    }

    @Test
    void unsignedClientIsRefused() throws Exception {
        DefaultMQProducer producer = producer(null);
        assertRefused(() -> producer.send(msg(Compat.unique("acl_unsigned"), "x")), "No accessKey is configured");
    }

    @Test
    void topicWithoutPubIsRefused() throws Exception {
        DefaultMQProducer producer = producer(user());
        // Create the topics first (admin), so the refusal is the ACL's and not a missing route.
        DefaultMQAdminExt admin = admin(hook("rmqdAdmin1", "adminSecret1"));
        String addr = brokerAddr(admin);
        for (String topic : new String[] {"aclDeniedTopic", "aclSubOnlyTopic"}) {
            admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 4, 4, 6));
        }
        String strictTopic = Compat.unique("acl_strict");
        admin.createAndUpdateTopicConfig(addr, new TopicConfig(strictTopic, 4, 4, 6));
        assertRefused(() -> producer.send(msg("aclDeniedTopic", "x")), "No default permission for topic:aclDeniedTopic");
        assertRefused(() -> producer.send(msg("aclSubOnlyTopic", "x")), "No default permission for topic:aclSubOnlyTopic");
        DefaultMQProducer strict = producer(hook("rmqdStrict1", "strictSecret1"));
        assertRefused(() -> strict.send(msg(strictTopic, "x")), "No default permission for topic:" + strictTopic);
    }

    @Test
    void groupWithoutSubIsRefused() throws Exception {
        DefaultMQProducer producer = producer(user());
        DefaultMQAdminExt admin = admin(user());
        String addr = brokerAddr(admin);
        var api = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
        assertRefused(() -> api.getConsumerIdListByGroup(addr, "aclDeniedGroup", 5_000),
            "No default permission for group:aclDeniedGroup");
        // An allowed group passes the ACL; with no consumer online the broker then answers on its own.
        try {
            api.getConsumerIdListByGroup(addr, Compat.unique("acl_free_group"), 5_000);
        } catch (MQBrokerException e) {
            assertFalse(String.valueOf(e.getErrorMessage()).contains("AclException"), e.toString());
        }
    }

    @Test
    void adminRequestsNeedAnAdminAccount() throws Exception {
        DefaultMQAdminExt userAdmin = admin(user());
        String addr = brokerAddr(userAdmin);
        String topic = Compat.unique("acl_admin");
        assertRefused(() -> userAdmin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 2, 2, 6)),
            "Need admin permission for request code=17, but accessKey=rmqdUser1 is not");
        DefaultMQAdminExt admin = admin(hook("rmqdAdmin1", "adminSecret1"));
        admin.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 2, 2, 6));
        var route = admin.examineTopicRouteInfo(topic);
        assertNotNull(route);
        assertEquals(2, route.getQueueDatas().get(0).getWriteQueueNums(), "the admin's topic exists");
    }
}
