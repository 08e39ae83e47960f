package rmqgolden.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes one fully populated instance of every message of apache.rocketmq.v2 (definition.proto and
 * service.proto), built with the generated Java builders of rocketmq-proto, to {@code <out>/<Message>.bin};
 * a message with a oneof gets one file per arm, {@code <Message>-<arm>.bin}.
 *
 * <p>Every field is set by a rule (see {@link #RULES}), so a Rust test can spot-check values without a
 * table: strings are the field's path from the top message, numbers derive from the field number, enums take
 * their last value, repeated fields and maps get two entries. Nested oneofs take their first arm. Bytes use
 * deterministic serialization (map entries in key order).
 */
public final class GrpcGenerator {
    static final String RULES = "string = path from the top message (repeated: path[i]); "
        + "bytes = UTF-8 of the path + 00 ff; int32/sint32 = 100 + field number; "
        + "int64 = 10000000000 + field number; float = field number + 0.25; bool = true; "
        + "enum = its last value (repeated: value #1, then the last); "
        + "repeated/map = 2 entries; map key = path.k1/.k2, value = path.v1/.v2 + space + u-umlaut; "
        + "nested oneofs = first arm";

    private GrpcGenerator() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Paths.get(args[0]);
        String library = args[1];
        Files.createDirectories(out);
        List<Descriptor> types = new ArrayList<>();
        types.addAll(apache.rocketmq.v2.MQDomain.getDescriptor().getMessageTypes());
        types.addAll(apache.rocketmq.v2.MQService.getDescriptor().getMessageTypes());
        StringBuilder files = new StringBuilder();
        int count = 0;
        for (Descriptor type : types) {
            for (Map<OneofDescriptor, FieldDescriptor> arms : variants(type)) {
                Message message = build(type, arms);
                checkEveryFieldSet(message, arms);
                String name = type.getName() + arms.values().stream()
                    .map(f -> "-" + f.getName()).reduce("", String::concat);
                byte[] bytes = deterministic(message);
                Files.write(out.resolve(name + ".bin"), bytes);
                if (count++ > 0) {
                    files.append(",\n");
                }
                files.append(String.format("    {\"file\": \"%s.bin\", \"message\": \"%s\", \"size\": %d, \"sha256\": \"%s\"}",
                    name, type.getName(), bytes.length, sha256(bytes)));
            }
        }
        String manifest = "{\n  \"library\": \"" + library + "\",\n"
            + "  \"rules\": \"" + RULES + "\",\n  \"rpcs\": [\n" + rpcs() + "\n  ],\n"
            + "  \"files\": [\n" + files + "\n  ]\n}\n";
        Files.write(out.resolve("manifest.json"), manifest.getBytes(StandardCharsets.UTF_8));
        System.out.println(out + ": " + count + " messages");
    }

    /**
     * The RPCs of MessagingService in declaration order: the path grpc-java's generated stub calls
     * ({@code MessagingServiceGrpc}), its method type, and the protobuf input and output messages.
     */
    static String rpcs() {
        ServiceDescriptor service = apache.rocketmq.v2.MQService.getDescriptor().findServiceByName("MessagingService");
        StringBuilder rpcs = new StringBuilder();
        for (MethodDescriptor method : service.getMethods()) {
            io.grpc.MethodDescriptor<?, ?> stub = apache.rocketmq.v2.MessagingServiceGrpc.getServiceDescriptor()
                .getMethods().stream()
                .filter(m -> m.getBareMethodName().equals(method.getName()))
                .findFirst().orElseThrow();
            if (rpcs.length() > 0) {
                rpcs.append(",\n");
            }
            rpcs.append(String.format("    {\"path\": \"/%s\", \"type\": \"%s\", \"input\": \"%s\", \"output\": \"%s\"}",
                stub.getFullMethodName(), stub.getType(), method.getInputType().getName(),
                method.getOutputType().getName()));
        }
        return rpcs.toString();
    }

    /** One choice of arms per variant: each arm of each real oneof once, the other oneofs at their first arm. */
    static List<Map<OneofDescriptor, FieldDescriptor>> variants(Descriptor type) {
        List<Map<OneofDescriptor, FieldDescriptor>> variants = new ArrayList<>();
        List<OneofDescriptor> oneofs = type.getRealOneofs();
        if (oneofs.isEmpty()) {
            variants.add(new LinkedHashMap<>());
        }
        for (OneofDescriptor oneof : oneofs) {
            for (FieldDescriptor arm : oneof.getFields()) {
                Map<OneofDescriptor, FieldDescriptor> choice = new LinkedHashMap<>();
                for (OneofDescriptor o : oneofs) {
                    choice.put(o, o == oneof ? arm : o.getField(0));
                }
                variants.add(choice);
            }
        }
        return variants;
    }

    static Message build(Descriptor type, Map<OneofDescriptor, FieldDescriptor> arms) throws ReflectiveOperationException {
        Class<?> cls = Class.forName("apache.rocketmq.v2." + type.getName());
        Message.Builder builder = (Message.Builder) cls.getMethod("newBuilder").invoke(null);
        fill(builder, type.getName(), arms);
        Message message = builder.build();
        if (message.getClass() != cls) {
            throw new IllegalStateException("not the generated class: " + message.getClass());
        }
        return message;
    }

    /** Sets every field of {@code builder} whose oneof (if any) chose it; nested oneofs take their first arm. */
    static void fill(Message.Builder builder, String path, Map<OneofDescriptor, FieldDescriptor> arms) {
        for (FieldDescriptor field : builder.getDescriptorForType().getFields()) {
            OneofDescriptor oneof = field.getRealContainingOneof();
            if (oneof != null && arms.getOrDefault(oneof, oneof.getField(0)) != field) {
                continue;
            }
            String fieldPath = path + "." + field.getName();
            if (field.isMapField()) {
                for (int i = 1; i <= 2; i++) {
                    Message.Builder entry = builder.newBuilderForField(field);
                    Descriptor entryType = entry.getDescriptorForType();
                    entry.setField(entryType.findFieldByNumber(1), fieldPath + ".k" + i);
                    entry.setField(entryType.findFieldByNumber(2), fieldPath + ".v" + i + " \u00fc");
                    builder.addRepeatedField(field, entry.build());
                }
            } else if (field.isRepeated()) {
                for (int i = 0; i < 2; i++) {
                    builder.addRepeatedField(field, value(builder, field, fieldPath + "[" + i + "]", i));
                }
            } else {
                builder.setField(field, value(builder, field, fieldPath, -1));
            }
        }
    }

    /** The rule value of one field (index: position in a repeated field, -1 for a singular one). */
    static Object value(Message.Builder parent, FieldDescriptor field, String path, int index) {
        int number = field.getNumber();
        switch (field.getJavaType()) {
            case STRING:
                return path;
            case BYTE_STRING:
                return ByteString.copyFrom(path, StandardCharsets.UTF_8).concat(ByteString.copyFrom(new byte[] {0, (byte) 0xff}));
            case INT:
                return 100 + number;
            case LONG:
                return 10_000_000_000L + number;
            case FLOAT:
                return number + 0.25f;
            case DOUBLE:
                return number + 0.25;
            case BOOLEAN:
                return true;
            case ENUM:
                List<EnumValueDescriptor> values = field.getEnumType().getValues();
                return index == 0 ? values.get(1) : values.get(values.size() - 1);
            case MESSAGE:
                Message.Builder nested = parent.newBuilderForField(field);
                fill(nested, path, Map.of());
                return nested.build();
            default:
                throw new IllegalStateException("unhandled type of " + path);
        }
    }

    /** Fails if a field that should be set is absent or at its default, or a repeated field lacks 2 entries. */
    static void checkEveryFieldSet(Message message, Map<OneofDescriptor, FieldDescriptor> arms) {
        for (FieldDescriptor field : message.getDescriptorForType().getFields()) {
            OneofDescriptor oneof = field.getRealContainingOneof();
            boolean chosen = oneof == null || arms.getOrDefault(oneof, oneof.getField(0)) == field;
            boolean set = field.isRepeated() ? message.getRepeatedFieldCount(field) == 2 : message.hasField(field);
            if (chosen != set) {
                throw new IllegalStateException(message.getDescriptorForType().getName() + "." + field.getName()
                    + (chosen ? " not set" : " set outside its oneof arm"));
            }
            if (set && field.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !field.isMapField()) {
                Object v = field.isRepeated() ? message.getRepeatedField(field, 0) : message.getField(field);
                checkEveryFieldSet((Message) v, Map.of());
            }
        }
    }

    static byte[] deterministic(Message message) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        CodedOutputStream output = CodedOutputStream.newInstance(buffer);
        output.useDeterministicSerialization();
        message.writeTo(output);
        output.flush();
        byte[] bytes = buffer.toByteArray();
        if (!java.util.Arrays.equals(bytes, message.toByteArray())) {
            throw new IllegalStateException(message.getDescriptorForType().getName()
                + ": deterministic and default serialization differ");
        }
        return bytes;
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
