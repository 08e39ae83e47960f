package rmqgolden;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes golden vectors produced by the real Java RocketMQ libraries into {@code <outDir>} plus
 * {@code manifest.json}. Usage: {@code Generator <outDir> <rocketmqVersion> <mqVersionOrdinal>}.
 * Everything that normally varies (opaque, version, language, timestamps, addresses) is fixed, so two runs give
 * identical bytes.
 */
public final class Generator {
    static final String GENERATOR_VERSION = "rmqd-golden-gen 1.0.0";

    private Generator() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Generator <outDir> <rocketmqVersion> <mqVersionOrdinal>");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        String libVersion = args[1];
        int ordinal = Integer.parseInt(args[2]);
        Files.createDirectories(dir);

        List<Object> files = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        notes.add("remoting *.bin files are whole frames, 4-byte length prefix included");
        notes.add("stored_message files come from MessageDecoder.encode (client-side encoder, V1 magic); "
            + "store_* files from the broker's store encoder");
        notes.add("ext_fields is the map Java decodes; ext_written is the order (and duplicates) in the bytes");
        new RemotingVectors(dir, ordinal, files).generate();
        new MessageVectors(dir, files).generate();
        new StoreVectors(dir, files, notes).generate();

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("generator", GENERATOR_VERSION);
        manifest.put("rocketmq_version", libVersion);
        manifest.put("remoting_version_ordinal", ordinal);
        manifest.put("java_version", System.getProperty("java.version"));
        manifest.put("notes", notes);
        manifest.put("files", files);
        manifest.put("functions", FunctionVectors.generate());
        Files.writeString(dir.resolve("manifest.json"), Json.write(manifest), StandardCharsets.UTF_8);
        System.out.println("wrote " + files.size() + " vectors to " + dir);
    }
}
