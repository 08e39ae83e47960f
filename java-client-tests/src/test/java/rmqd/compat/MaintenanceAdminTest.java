package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * Operator maintenance calls of DefaultMQAdminExt: cloneGroupOffset (CLONE_GROUP_OFFSET, 314).
 */
class MaintenanceAdminTest {
    private static void createGroup(DefaultMQAdminExt admin, String addr, String group) throws Exception {
        var config = admin.examineSubscriptionGroupConfig(addr, "TOOLS_CONSUMER");
        config.setGroupName(group);
        admin.createAndUpdateSubscriptionGroupConfig(addr, config);
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
            String addr = admin.examineTopicRouteInfo(topic).getBrokerDatas().get(0).selectBrokerAddr();
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
}
