package rmqd.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.message.MessageExt;

/** Collects consumed messages by their unique body and remembers every duplicate delivery. */
final class Received {
    private final Map<String, MessageExt> byBody = new ConcurrentHashMap<>();
    private final List<String> duplicates = new ArrayList<>();
    private final long createdNanos = System.nanoTime();
    private volatile long firstNanos;

    void add(MessageExt msg) {
        if (firstNanos == 0) {
            firstNanos = System.nanoTime();
        }
        String body = Compat.bodyOf(msg);
        if (byBody.putIfAbsent(body, msg) != null) {
            synchronized (duplicates) {
                duplicates.add(body + " (queue " + msg.getQueueId() + " offset " + msg.getQueueOffset() + ")");
            }
        }
    }

    void addAll(Collection<MessageExt> msgs) {
        msgs.forEach(this::add);
    }

    MessageListenerConcurrently listener() {
        return (msgs, context) -> {
            addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
    }

    Map<String, MessageExt> messages() {
        return byBody;
    }

    int size() {
        return byBody.size();
    }

    boolean containsAll(Collection<String> bodies) {
        return byBody.keySet().containsAll(bodies);
    }

    /** Milliseconds from creating this collector (just before the consumer started) to the first message. */
    long millisToFirst() {
        return firstNanos == 0 ? -1 : (firstNanos - createdNanos) / 1_000_000;
    }

    /** Waits for all expected bodies, listens a little longer, then requires exactly that set, each once. */
    void awaitExactly(Collection<String> expected, String what) {
        Compat.await(what + ": " + expected.size() + " messages", () -> containsAll(expected),
            () -> "(got " + size() + ", missing " + missing(expected) + ")");
        Compat.sleep(Compat.QUIET_MS);
        assertNoDuplicates(what);
        Set<String> extra = new TreeSet<>(byBody.keySet());
        extra.removeAll(expected);
        assertTrue(extra.isEmpty(), what + ": unexpected messages " + extra);
        assertEquals(expected.size(), size(), what + ": count");
    }

    void assertNoDuplicates(String what) {
        synchronized (duplicates) {
            assertTrue(duplicates.isEmpty(), what + ": delivered more than once: " + duplicates);
        }
    }

    private Set<String> missing(Collection<String> expected) {
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(byBody.keySet());
        if (missing.size() > 10) {
            Set<String> some = new TreeSet<>();
            missing.stream().limit(10).forEach(some::add);
            some.add("... " + (missing.size() - 10) + " more");
            return some;
        }
        return missing;
    }
}
