package rmqd.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.TransactionChecker;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * Shared helpers of the gRPC suite: the endpoint (RMQ_GRPC_ENDPOINT), topics and groups created through the
 * name server (NAMESRV_ADDR) with DefaultMQAdminExt, clients of rocketmq-client-java, polling waits.
 */
final class Grpc {
    /** Upper bound for one wait; a broken endpoint fails the test after this instead of hanging it. */
    static final long WAIT_MS = 90_000;
    /** The smallest invisible duration Java's proxy accepts on ReceiveMessage (ProxyConfig
     *  minInvisibleTimeMillsForRecv, 10 s); smaller ones are refused with ILLEGAL_INVISIBLE_TIME. */
    static final Duration MIN_INVISIBLE = Duration.ofSeconds(10);
    /** SimpleConsumer long-polling time per receive. */
    static final Duration AWAIT = Duration.ofSeconds(5);

    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    private static final AtomicLong SEQ = new AtomicLong();
    private static final String RUN_ID = Long.toString(System.currentTimeMillis(), 36);

    private Grpc() {}

    static String env(String name, String example) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            fail(name + " is not set (e.g. " + name + "=" + example + "); see java-client-tests/grpc/README.md");
        }
        return v.trim();
    }

    static String endpoint() {
        return env("RMQ_GRPC_ENDPOINT", "127.0.0.1:8081");
    }

    static String namesrvAddr() {
        return env("NAMESRV_ADDR", "127.0.0.1:9876");
    }

    /** Names unique per call and per run, so the tests share one broker and can be re-run. */
    static String unique(String prefix) {
        return prefix + "_" + RUN_ID + "_" + SEQ.incrementAndGet() + "_"
            + UUID.randomUUID().toString().substring(0, 8);
    }

    static ClientConfiguration config() {
        return ClientConfiguration.newBuilder()
            .setEndpoints(endpoint())
            .enableSsl(false)
            .setRequestTimeout(Duration.ofSeconds(10))
            .build();
    }

    static Producer producer(String... topics) throws Exception {
        return PROVIDER.newProducerBuilder().setClientConfiguration(config()).setTopics(topics).build();
    }

    static Producer transactionalProducer(TransactionChecker checker, String... topics) throws Exception {
        return PROVIDER.newProducerBuilder().setClientConfiguration(config()).setTopics(topics)
            .setTransactionChecker(checker).build();
    }

    static SimpleConsumer simpleConsumer(String group, String topic) throws Exception {
        return PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(config()).setConsumerGroup(group)
            .setAwaitDuration(AWAIT).setSubscriptionExpressions(subscription(topic)).build();
    }

    static Map<String, FilterExpression> subscription(String topic) {
        return Collections.singletonMap(topic, new FilterExpression("*", FilterExpressionType.TAG));
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String body(MessageView view) {
        byte[] b = new byte[view.getBody().remaining()];
        view.getBody().duplicate().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------------------- admin

    static DefaultMQAdminExt startAdmin() throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(5_000);
        admin.setNamesrvAddr(namesrvAddr());
        admin.setInstanceName(unique("admin"));
        admin.start();
        return admin;
    }

    /** The master address of every broker of the cluster. */
    static List<String> masterAddrs(DefaultMQAdminExt admin) throws Exception {
        List<String> addrs = new ArrayList<>();
        for (BrokerData bd : admin.examineBrokerClusterInfo().getBrokerAddrTable().values()) {
            String master = bd.getBrokerAddrs().get(0L);
            if (master != null) {
                addrs.add(master);
            }
        }
        assertTrue(!addrs.isEmpty(), "no master broker registered with " + namesrvAddr());
        return addrs;
    }

    /**
     * Creates a topic with 4 queues and the message.type attribute (NORMAL, FIFO, DELAY, TRANSACTION), as
     * {@code mqadmin updateTopic -a +message.type=FIFO} sends it (UPDATE_AND_CREATE_TOPIC with attributes
     * {"+message.type": "FIFO"}), then waits until the name server routes it.
     */
    static String createTopic(String prefix, String messageType) throws Exception {
        String topic = unique(prefix);
        DefaultMQAdminExt admin = startAdmin();
        try {
            TopicConfig config = new TopicConfig(topic, 4, 4, 6);
            Map<String, String> attributes = new HashMap<>();
            attributes.put("+message.type", messageType);
            config.setAttributes(attributes);
            for (String addr : masterAddrs(admin)) {
                admin.createAndUpdateTopicConfig(addr, config);
            }
            await("route of " + topic, () -> {
                try {
                    return !admin.examineTopicRouteInfo(topic).getQueueDatas().isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
        } finally {
            admin.shutdown();
        }
        return topic;
    }

    /** A subscription group; {@code fifo} = consumeMessageOrderly (what makes a gRPC consumer group FIFO);
     *  retryMaxTimes + 1 = the max delivery attempts Java's proxy gives the group's clients. */
    static String createGroup(String prefix, boolean fifo, int retryMaxTimes) throws Exception {
        String group = unique(prefix);
        DefaultMQAdminExt admin = startAdmin();
        try {
            SubscriptionGroupConfig config = new SubscriptionGroupConfig();
            config.setGroupName(group);
            config.setConsumeMessageOrderly(fifo);
            config.setRetryMaxTimes(retryMaxTimes);
            for (String addr : masterAddrs(admin)) {
                admin.createAndUpdateSubscriptionGroupConfig(addr, config);
            }
        } finally {
            admin.shutdown();
        }
        return group;
    }

    static String createGroup(String prefix) throws Exception {
        return createGroup(prefix, false, 16);
    }

    // ------------------------------------------------------------------------------------------- waits

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(what, WAIT_MS, condition);
    }

    static void await(String what, long waitMs, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + waitMs + " ms waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    /** Receives (and hands to {@code sink}) until {@code done} holds, failing after {@code waitMs}. */
    static void receiveUntil(SimpleConsumer consumer, Duration invisible, long waitMs, ViewSink sink,
                             BooleanSupplier done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + waitMs + " ms receiving");
            }
            for (MessageView view : consumer.receive(16, invisible)) {
                sink.accept(view);
            }
        }
    }

    /** Receives for {@code ms} and returns everything that arrived (to prove that nothing does). */
    static List<MessageView> receiveFor(SimpleConsumer consumer, Duration invisible, long ms) throws Exception {
        List<MessageView> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (System.nanoTime() < deadline) {
            got.addAll(consumer.receive(16, invisible));
        }
        return got;
    }

    static String restartCommandOrSkip() {
        String restart = System.getenv("RMQ_RESTART_CMD");
        assumeTrue(restart != null && !restart.isBlank(), "RMQ_RESTART_CMD not set: broker restart test skipped");
        return restart;
    }

    static void log(String format, Object... args) {
        System.out.printf("[grpc] %s%n", String.format(format, args));
    }

    @FunctionalInterface
    interface ViewSink {
        void accept(MessageView view) throws Exception;
    }
}
