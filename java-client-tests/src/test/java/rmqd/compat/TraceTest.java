package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.trace.TraceBean;
import org.apache.rocketmq.client.trace.TraceContext;
import org.apache.rocketmq.client.trace.TraceDataEncoder;
import org.apache.rocketmq.client.trace.TraceType;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;

/**
 * Message trace: a producer and a push consumer with trace enabled send their Pub/SubBefore/SubAfter records
 * to the trace topic, keyed by the traced message's msgId, where a query by that key finds them (what mqadmin
 * queryMsgTraceById does).
 */
class TraceTest {
    private static final String DEFAULT_TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC";

    @Test
    void traceRecordsGoToTheDefaultTraceTopic() throws Exception {
        traceRoundTrip(null);
    }

    @Test
    void traceRecordsGoToACustomTraceTopic() throws Exception {
        traceRoundTrip(Compat.unique("t_mytrace"));
    }

    private static void traceRoundTrip(String customTraceTopic) throws Exception {
        String traceTopic = customTraceTopic == null ? DEFAULT_TRACE_TOPIC : customTraceTopic;
        String topic = Compat.unique("t_traced");
        String producerGroup = Compat.unique("pg_trace");
        String consumerGroup = Compat.unique("cg_trace");
        // A null custom topic means RMQ_SYS_TRACE_TOPIC (5.x has no (group, boolean) constructor).
        DefaultMQProducer producer = new DefaultMQProducer(producerGroup, true, customTraceTopic);
        producer.setNamesrvAddr(Compat.namesrvAddr());
        producer.setInstanceName(Compat.unique("inst"));
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(consumerGroup, true, customTraceTopic);
        consumer.setNamesrvAddr(Compat.namesrvAddr());
        consumer.setInstanceName(Compat.unique("inst"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        Received received = new Received();
        consumer.registerMessageListener(received.listener());
        DefaultMQAdminExt admin = new DefaultMQAdminExt();
        admin.setNamesrvAddr(Compat.namesrvAddr());
        admin.setInstanceName(Compat.unique("admin"));
        long begin = System.currentTimeMillis() - 60_000;
        producer.start();
        admin.start();
        try {
            List<SendResult> results = new ArrayList<>();
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Message msg = new Message(topic, "TagT", "key-trace-" + i,
                    ("body-" + topic + "#" + i).getBytes(StandardCharsets.UTF_8));
                SendResult r = producer.send(msg);
                Compat.assertSendOk(r);
                results.add(r);
                bodies.add(Compat.bodyOf(msg));
            }
            consumer.start();
            received.awaitExactly(bodies, "traced messages");

            for (int i = 0; i < results.size(); i++) {
                String msgId = results.get(i).getMsgId();
                String keys = "key-trace-" + i;
                Set<TraceType> seen = EnumSet.noneOf(TraceType.class);
                List<String> records = new ArrayList<>();
                Compat.await("Pub, SubBefore and SubAfter records of " + msgId + " in " + traceTopic, () -> {
                    seen.clear();
                    records.clear();
                    for (TraceContext ctx : traceRecords(admin, traceTopic, msgId, begin, records)) {
                        TraceBean bean = ctx.getTraceBeans().get(0);
                        if (!msgId.equals(bean.getMsgId())) {
                            continue; // another message of the same trace batch
                        }
                        switch (ctx.getTraceType()) {
                            case Pub:
                                assertEquals(topic, bean.getTopic(), "Pub topic");
                                assertEquals(producerGroup, ctx.getGroupName(), "Pub group");
                                assertEquals(keys, bean.getKeys(), "Pub keys");
                                assertTrue(ctx.isSuccess(), "Pub success");
                                seen.add(TraceType.Pub);
                                break;
                            case SubBefore:
                                assertEquals(consumerGroup, ctx.getGroupName(), "SubBefore group");
                                seen.add(TraceType.SubBefore);
                                break;
                            case SubAfter:
                                assertTrue(ctx.isSuccess(), "SubAfter success");
                                seen.add(TraceType.SubAfter);
                                break;
                            default:
                                break;
                        }
                    }
                    return seen.containsAll(EnumSet.of(TraceType.Pub, TraceType.SubBefore, TraceType.SubAfter));
                }, () -> "(seen " + seen + " in " + records + ")");
            }
        } finally {
            consumer.shutdown();
            producer.shutdown();
            admin.shutdown();
        }
    }

    /** QUERY_MESSAGE on the trace topic by the traced msgId, every record of every stored trace message. */
    private static List<TraceContext> traceRecords(DefaultMQAdminExt admin, String traceTopic, String msgId,
        long begin, List<String> raw) {
        List<TraceContext> out = new ArrayList<>();
        try {
            QueryResult q = admin.queryMessage(traceTopic, msgId, 64, begin, System.currentTimeMillis() + 60_000);
            for (MessageExt m : q.getMessageList()) {
                String data = new String(m.getBody(), StandardCharsets.UTF_8);
                raw.add(data.replace('\u0001', '|').replace('\u0002', ';'));
                out.addAll(TraceDataEncoder.decoderFromTraceDataString(data));
            }
        } catch (Exception e) {
            // Not indexed yet, or the trace topic not routed yet: the caller polls.
        }
        return out;
    }
}
