package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.util.List;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * mqadmin's subscription group commands (updateSubGroup, consumerProgress' group lookup, deleteSubGroup):
 * UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200), GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP
 * (207), the 5.x UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225), and what consumeEnable=false does to a pull. SubscriptionGroupConfig moved packages between 4.x and
 * 5.x, so a config is obtained from the broker (a system group's) and held in {@code var}; the 5.x-only
 * properties are set and read through reflection.
 */
class GroupAdminTest {
    static final int NO_PERMISSION = 16;
    static final int SUBSCRIPTION_GROUP_NOT_EXIST = 26;

    /** The master address of the suite's single broker. */
    static String brokerAddr(DefaultMQAdminExt admin) throws Exception {
        var info = admin.examineBrokerClusterInfo();
        for (var data : info.getBrokerAddrTable().values()) {
            String master = data.getBrokerAddrs().get(0L);
            if (master != null) {
                return master;
            }
        }
        throw new AssertionError("no master in " + info.getBrokerAddrTable());
    }

    /** A pull consumer that pulls chosen queues itself (PULL_MESSAGE with the subscription in the header). */
    static DefaultMQPullConsumer startPullConsumer(String group) throws Exception {
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer(group);
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("pull"));
        consumer.start();
        return consumer;
    }

    private static void setIfPresent(Object bean, String setter, Class<?> type, Object value) throws Exception {
        try {
            bean.getClass().getMethod(setter, type).invoke(bean, value);
        } catch (NoSuchMethodException e) {
            // a 4.x SubscriptionGroupConfig: the property does not exist there
        }
    }

    private static Object getIfPresent(Object bean, String getter) throws Exception {
        try {
            Method m = bean.getClass().getMethod(getter);
            return m.invoke(bean);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    @Test
    void groupIsCreatedListedEnforcedAndDeleted() throws Exception {
        String topic = Compat.unique("t_grpadm");
        String group = Compat.unique("cg_grpadm");
        DefaultMQAdminExt admin = Compat.startAdmin();
        DefaultMQProducer producer = Compat.startProducer();
        DefaultMQPullConsumer consumer = null;
        try {
            String addr = brokerAddr(admin);
            SendResult sent = Compat.sendSync(producer, List.of(Compat.message(topic, "A", 0))).get(0);
            MessageQueue mq = sent.getMessageQueue();

            var config = admin.examineSubscriptionGroupConfig(addr, "TOOLS_CONSUMER");
            assertNotNull(config, "the system group TOOLS_CONSUMER");
            config.setGroupName(group);
            config.setConsumeEnable(false);
            config.setConsumeFromMinEnable(false);
            config.setConsumeBroadcastEnable(false);
            config.setRetryQueueNums(2);
            config.setRetryMaxTimes(3);
            config.setWhichBrokerWhenConsumeSlowly(2);
            config.setNotifyConsumerIdsChangedEnable(false);
            setIfPresent(config, "setConsumeMessageOrderly", boolean.class, true);
            setIfPresent(config, "setConsumeTimeoutMinute", int.class, 7);
            setIfPresent(config, "setGroupSysFlag", int.class, 1);
            admin.createAndUpdateSubscriptionGroupConfig(addr, config);

            var shown = admin.examineSubscriptionGroupConfig(addr, group);
            assertNotNull(shown, () -> group + " after createAndUpdateSubscriptionGroupConfig");
            assertEquals(group, shown.getGroupName());
            assertFalse(shown.isConsumeEnable(), "consumeEnable");
            assertFalse(shown.isConsumeFromMinEnable(), "consumeFromMinEnable");
            assertFalse(shown.isConsumeBroadcastEnable(), "consumeBroadcastEnable");
            assertEquals(2, shown.getRetryQueueNums(), "retryQueueNums");
            assertEquals(3, shown.getRetryMaxTimes(), "retryMaxTimes");
            assertEquals(0L, shown.getBrokerId(), "brokerId");
            assertEquals(2L, shown.getWhichBrokerWhenConsumeSlowly(), "whichBrokerWhenConsumeSlowly");
            assertFalse(shown.isNotifyConsumerIdsChangedEnable(), "notifyConsumerIdsChangedEnable");
            Object orderly = getIfPresent(shown, "isConsumeMessageOrderly");
            if (orderly != null) { // 5.x
                assertEquals(Boolean.TRUE, orderly, "consumeMessageOrderly");
                assertEquals(7, getIfPresent(shown, "getConsumeTimeoutMinute"), "consumeTimeoutMinute");
                assertEquals(1, getIfPresent(shown, "getGroupSysFlag"), "groupSysFlag");
                assertNotNull(getIfPresent(shown, "getGroupRetryPolicy"), "groupRetryPolicy");
            }
            var wrapper = admin.getAllSubscriptionGroup(addr, 5_000);
            assertTrue(wrapper.getSubscriptionGroupTable().containsKey(group), "listed by getAllSubscriptionGroup");
            assertTrue(wrapper.getSubscriptionGroupTable().containsKey("TOOLS_CONSUMER"), "system groups listed");
            assertNotNull(wrapper.getDataVersion(), "dataVersion");

            consumer = startPullConsumer(group);
            DefaultMQPullConsumer pulling = consumer;
            MQBrokerException refused = assertThrows(MQBrokerException.class,
                () -> pulling.pull(mq, "*", 0, 32), "pull while consumeEnable=false");
            assertEquals(NO_PERMISSION, refused.getResponseCode(), () -> "answer " + refused);

            config.setConsumeEnable(true);
            admin.createAndUpdateSubscriptionGroupConfig(addr, config);
            PullResult pulled = consumer.pull(mq, "*", sent.getQueueOffset(), 32);
            assertEquals(PullStatus.FOUND, pulled.getPullStatus(), () -> "pull after consumeEnable=true: " + pulled);
            consumer.shutdown();
            consumer = null;

            admin.deleteSubscriptionGroup(addr, group, true);
            assertNull(admin.examineSubscriptionGroupConfig(addr, group), "deleted group");
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** 5.x tools only: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225). */
    @Test
    void aListOfGroupsIsCreatedInOneRequest() throws Exception {
        Method createList = null;
        try {
            createList = DefaultMQAdminExt.class.getMethod("createAndUpdateSubscriptionGroupConfigList",
                String.class, List.class);
        } catch (NoSuchMethodException e) {
            // 4.x tools send one UPDATE_AND_CREATE_SUBSCRIPTIONGROUP per group
        }
        assumeTrue(createList != null, "createAndUpdateSubscriptionGroupConfigList needs 5.x tools");
        DefaultMQAdminExt admin = Compat.startAdmin();
        String first = Compat.unique("cg_list");
        String second = Compat.unique("cg_list");
        try {
            String addr = brokerAddr(admin);
            var a = admin.examineSubscriptionGroupConfig(addr, "TOOLS_CONSUMER");
            a.setGroupName(first);
            a.setRetryMaxTimes(5);
            var b = admin.examineSubscriptionGroupConfig(addr, "TOOLS_CONSUMER");
            b.setGroupName(second);
            b.setConsumeEnable(false);
            createList.invoke(admin, addr, List.of(a, b));
            var shownA = admin.examineSubscriptionGroupConfig(addr, first);
            var shownB = admin.examineSubscriptionGroupConfig(addr, second);
            assertNotNull(shownA, first);
            assertNotNull(shownB, second);
            assertEquals(5, shownA.getRetryMaxTimes(), "retryMaxTimes of " + first);
            assertFalse(shownB.isConsumeEnable(), "consumeEnable of " + second);
            admin.deleteSubscriptionGroup(addr, first);
            admin.deleteSubscriptionGroup(addr, second);
        } finally {
            admin.shutdown();
        }
    }

    @Test
    void deletingAnUnknownGroupSucceeds() throws Exception {
        DefaultMQAdminExt admin = Compat.startAdmin();
        try {
            String addr = brokerAddr(admin);
            String group = Compat.unique("cg_never");
            admin.deleteSubscriptionGroup(addr, group);
            assertNull(admin.examineSubscriptionGroupConfig(addr, group));
        } finally {
            admin.shutdown();
        }
    }
}
