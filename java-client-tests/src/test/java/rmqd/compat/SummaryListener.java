package rmqd.compat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints one summary line per run, tagged with the client version. CI runs the suite with mvn -q, which hides
 * surefire's own "Tests run:" lines when everything passes; this line shows what ran either way.
 * Registered through META-INF/services.
 */
public class SummaryListener implements TestExecutionListener {
    private final AtomicInteger passed = new AtomicInteger();
    private final AtomicInteger skipped = new AtomicInteger();
    private final List<String> failed = new ArrayList<>();
    private long startNanos;

    @Override
    public void testPlanExecutionStarted(TestPlan plan) {
        startNanos = System.nanoTime();
    }

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        if (test.isTest()) {
            skipped.incrementAndGet();
        }
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (!test.isTest()) {
            return;
        }
        if (result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
            passed.incrementAndGet();
        } else if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            skipped.incrementAndGet(); // failed assumption, e.g. RMQ_RESTART_CMD not set
        } else {
            synchronized (failed) {
                failed.add(test.getDisplayName());
            }
        }
    }

    @Override
    public void testPlanExecutionFinished(TestPlan plan) {
        int failures;
        synchronized (failed) {
            failures = failed.size();
        }
        System.out.printf("[client %s] SUMMARY tests run: %d, passed: %d, failed: %d, skipped: %d (%d s)%s%n",
            System.getProperty("rmq.client.version", "?"), passed.get() + failures + skipped.get(), passed.get(),
            failures, skipped.get(), (System.nanoTime() - startNanos) / 1_000_000_000L,
            failures == 0 ? "" : " failed: " + failed);
    }
}
