package rmqgolden;

import java.io.File;
import org.apache.rocketmq.store.index.IndexFile;

/**
 * Writes the two index files that store/src/index/testdata/java-4.9.8-*.idx hold, with the real 4.9.8
 * {@code IndexFile}: 4 hash slots, 8 entries. Standalone (not part of Generator); run against the 4.9.8 classpath:
 * {@code java -cp target/4.9.8/classes:$(cat target/4.9.8/classpath.txt) rmqgolden.IndexFileGolden <dir>},
 * then copy {@code <dir>/20240101000000000} to java-4.9.8-full.idx and {@code ...001} to java-4.9.8-continued.idx.
 */
public final class IndexFileGolden {
    public static void main(String[] args) throws Exception {
        String dir = args[0];
        new File(dir).mkdirs();
        // Keys that share slots, a Java hash collision (xAa/xBB), Integer.MIN_VALUE's hash, and a put into a full file.
        IndexFile f = new IndexFile(dir + "/20240101000000000", 4, 8, 0, 0);
        String[] keys = {"TopicA#U1", "TopicA#order-1", "TopicA#U2", "TopicA#order-1", "T#xAa", "T#xBB",
            "polygenelubricants", "TopicA#U3"};
        long t0 = 1700000000000L;
        for (int i = 0; i < keys.length; i++) {
            // Offsets above 2^32 check the high word of the 8-byte field.
            boolean ok = f.putKey(keys[i], 1000L * (i + 1) + (1L << 33), t0 + 1500L * i);
            System.out.println(keys[i] + " " + ok);
        }
        f.flush();
        // A continuation file, seeded with the first file's end offset and timestamp as IndexService does.
        IndexFile g = new IndexFile(dir + "/20240101000000001", 4, 8, f.getEndPhyOffset(), f.getEndTimestamp());
        g.putKey("TopicA#U9", 99999L, f.getEndTimestamp() + 2500L);
        g.putKey("TopicA#U10", 100000L, f.getEndTimestamp() + 4000L);
        g.flush();
    }
}
