package rmqgolden;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageId;

/** Scalar results (no binary file): CRC, tag hash, offset message ids, property strings. */
final class FunctionVectors {
    private FunctionVectors() {
    }

    static Map<String, Object> generate() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("crc32", crc32());
        out.put("string_hash", stringHash());
        out.put("offset_msg_id", offsetMsgIds());
        out.put("properties_to_string", propertiesToString());
        out.put("string_to_properties", stringToProperties());
        return out;
    }

    /** {@code UtilAll.crc32}: java.util.zip.CRC32 masked with 0x7FFFFFFF. */
    private static List<Object> crc32() {
        byte[] pattern = new byte[1000];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i % 251);
        }
        byte[][] inputs = {new byte[0], utf8("a"), utf8("123456789"), RemotingVectors.body(), pattern,
            new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}};
        List<Object> out = new ArrayList<>();
        for (byte[] in : inputs) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("input_hex", Support.hex(in));
            e.put("value", UtilAll.crc32(in));
            out.add(e);
        }
        return out;
    }

    /** {@code String.hashCode} (the consume-queue tagsCode): computed over UTF-16 code units, not code points. */
    private static List<Object> stringHash() {
        String[] inputs = {"", "TagA", "TagB", "*", "标签B", "🚀", "é",
            "a-very-long-tag-name-that-overflows-the-32-bit-hash-many-times"};
        List<Object> out = new ArrayList<>();
        for (String in : inputs) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("input", in);
            e.put("value", in.hashCode());
            out.add(e);
        }
        return out;
    }

    private static List<Object> offsetMsgIds() throws Exception {
        Object[][] inputs = {
            {"10.0.0.5", 10911, 98765L}, {"2001:db8::2", 10911, 4096L}, {"127.0.0.1", 0, 0L},
            {"255.255.255.255", 65535, Long.MAX_VALUE}, {"192.168.1.20", 54321, -1L},
        };
        List<Object> out = new ArrayList<>();
        for (Object[] in : inputs) {
            String ip = (String) in[0];
            int port = (Integer) in[1];
            long offset = (Long) in[2];
            String id = MessageDecoder.createMessageId(Support.addr(ip, port), offset);
            MessageId back = MessageDecoder.decodeMessageId(id);
            InetSocketAddress a = (InetSocketAddress) back.getAddress();
            if (a.getPort() != port || back.getOffset() != offset) {
                throw new IllegalStateException("decodeMessageId does not round-trip " + id);
            }
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("store_host", Support.hostString(ip, port));
            e.put("commit_log_offset", offset);
            e.put("id", id);
            out.add(e);
        }
        return out;
    }

    /** 4.9.8 drops the separator after the last pair; 5.x keeps it. */
    private static List<Object> propertiesToString() {
        List<Map<String, String>> inputs = new ArrayList<>();
        inputs.add(new LinkedHashMap<>());
        Map<String, String> one = new LinkedHashMap<>();
        one.put("TAGS", "TagA");
        inputs.add(one);
        Map<String, String> three = new LinkedHashMap<>();
        three.put("KEYS", "k1 k2");
        three.put("UNIQ_KEY", "7F0000010B5C18B4AAC27A7B3A0E0000");
        three.put("中文", "值");
        inputs.add(three);
        List<Object> out = new ArrayList<>();
        for (Map<String, String> in : inputs) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("pairs", Support.pairs(in));
            e.put("value", MessageDecoder.messageProperties2String(in));
            out.add(e);
        }
        return out;
    }

    /** {@code string2messageProperties} on well-formed and malformed strings (empty keys/values are dropped). */
    private static List<Object> stringToProperties() {
        String[] inputs = {
            "", "a\u0001b", "a\u0001b\u0002", "a\u0001b\u0002c\u0001d", "\u0001b\u0002k\u0001v\u0002",
            "k\u0001\u0002x\u0001y\u0002", "ab\u0002cd\u0002", "k\u0001v\u0001w\u0002", "\u0002\u0002a\u0001b",
            "KEYS\u0001k1 k2\u0002TAGS\u0001标签\u0002",
        };
        List<Object> out = new ArrayList<>();
        for (String in : inputs) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("input", in);
            e.put("value", new TreeMap<>(MessageDecoder.string2messageProperties(in)));
            out.add(e);
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
