package rmqgolden;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import com.alibaba.fastjson.parser.Feature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.remoting.CommandCustomHeader;
import org.apache.rocketmq.remoting.protocol.LanguageCode;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.SerializeType;

/**
 * Remoting frames. Every command is written twice per serialize type where the two Java paths differ:
 * {@code RemotingCommand.encode()} (length prefix included) and the Netty path ({@code fastEncodeHeader} + body,
 * what {@code NettyEncoder} really puts on the socket). For JSON both paths give the same bytes (checked here);
 * for ROCKETMQ the Netty path writes FastCodesHeader fields in declaration order before the extFields.
 */
final class RemotingVectors {
    /** Request codes and values used below; the manifest repeats them. */
    static final int SEND_MESSAGE_V2 = 310;
    static final int PULL_MESSAGE = 11;
    static final int UPDATE_CONSUMER_OFFSET = 15;

    interface Builder {
        RemotingCommand build() throws Exception;
    }

    private record Spec(String name, String description, Map<String, Object> header, Builder builder) {
    }

    private final Path dir;
    private final int version;
    private final List<Object> files;

    RemotingVectors(Path dir, int version, List<Object> files) {
        this.dir = dir;
        this.version = version;
        this.files = files;
    }

    void generate() throws Exception {
        for (Spec spec : specs()) {
            for (SerializeType type : SerializeType.values()) {
                RemotingCommand viaEncode = spec.builder.build();
                viaEncode.setSerializeTypeCurrentRPC(type);
                byte[] encoded = toArray(viaEncode.encode());
                byte[] netty = nettyEncode(spec.builder.build(), type);
                String base = spec.name + "." + type.name().toLowerCase();
                if (type == SerializeType.JSON) {
                    if (!Arrays.equals(encoded, netty)) {
                        throw new IllegalStateException(base + ": JSON encode() and NettyEncoder differ");
                    }
                    record(spec, base + ".bin", encoded, "RemotingCommand.encode() == NettyEncoder (identical for JSON)");
                } else {
                    record(spec, base + ".bin", encoded, "RemotingCommand.encode()");
                    record(spec, base + ".netty.bin", netty, "NettyEncoder (RemotingCommand.fastEncodeHeader + body)");
                }
            }
        }
        aclDuplicateKeys();
    }

    /**
     * An ACL-style RPC hook calls makeCustomHeaderToNet() and adds its keys before the Netty encoder runs, so a
     * FastCodesHeader's fields are written twice in the ROCKETMQ map section.
     */
    private void aclDuplicateKeys() throws Exception {
        Spec send = specs().get(0);
        RemotingCommand cmd = send.builder.build();
        cmd.makeCustomHeaderToNet();
        cmd.addExtField("AccessKey", "rocketmq2");
        cmd.addExtField("Signature", "c2lnbmF0dXJl");
        byte[] netty = nettyEncode(cmd, SerializeType.ROCKETMQ);
        Spec dup = new Spec("remoting_send_v2_acl_dup",
            "SEND_MESSAGE_V2 after an ACL hook copied the header into extFields: duplicate keys in the map section",
            send.header, send.builder);
        record(dup, "remoting_send_v2_acl_dup.rocketmq.netty.bin", netty,
            "NettyEncoder after makeCustomHeaderToNet() + addExtField (ACL hook)");
    }

    private List<Spec> specs() {
        List<Spec> specs = new ArrayList<>();
        Map<String, String> props = new LinkedHashMap<>();
        props.put("KEYS", "order-1 order-2");
        props.put("TAGS", "TagA");
        props.put("UNIQ_KEY", "7F0000010B5C18B4AAC27A7B3A0E0000");
        props.put("WAIT", "true");
        props.put("note", "say \"hi\" \\ 中文 é");
        String propertiesString = MessageDecoder.messageProperties2String(props);

        Map<String, Object> send = new LinkedHashMap<>();
        send.put("a", "golden_producer_group");
        send.put("b", "GoldenTopic");
        send.put("c", "TBW102");
        send.put("d", 4);
        send.put("e", 3);
        send.put("f", 0);
        send.put("g", 1700000000123L);
        send.put("h", 0);
        send.put("i", propertiesString);
        send.put("j", 0);
        send.put("k", Boolean.FALSE);
        send.put("m", Boolean.FALSE);
        specs.add(new Spec("remoting_send_v2",
            "SEND_MESSAGE_V2 (310) request, SendMessageRequestHeaderV2, body, opaque 7",
            send, () -> request(SEND_MESSAGE_V2, "SendMessageRequestHeaderV2", send, 7, body())));

        Map<String, Object> pull = new LinkedHashMap<>();
        pull.put("consumerGroup", "golden_consumer_group");
        pull.put("topic", "GoldenTopic");
        pull.put("queueId", 1);
        pull.put("queueOffset", 128L);
        pull.put("maxMsgNums", 32);
        pull.put("sysFlag", 3);
        pull.put("commitOffset", 100L);
        pull.put("suspendTimeoutMillis", 15000L);
        pull.put("subscription", "TagA || TagB");
        pull.put("subVersion", 1700000000000L);
        pull.put("expressionType", "TAG");
        specs.add(new Spec("remoting_pull",
            "PULL_MESSAGE (11) request, PullMessageRequestHeader, no body, opaque 8",
            pull, () -> request(PULL_MESSAGE, "PullMessageRequestHeader", pull, 8, null)));

        Map<String, Object> resp = new LinkedHashMap<>();
        resp.put("msgId", "0A00000500002A9F0000000000018A00");
        resp.put("queueId", 3);
        resp.put("queueOffset", 17L);
        resp.put("transactionId", "7F0000010B5C18B4AAC27A7B3A0E0000");
        specs.add(new Spec("remoting_send_response",
            "SUCCESS response, SendMessageResponseHeader + extFields MSG_REGION/TRACE_ON, remark ok, opaque 42",
            resp, this::sendResponse));

        specs.add(new Spec("remoting_error_response",
            "SYSTEM_ERROR (1) response, non-ASCII remark (CJK, Latin-1, BMP symbol, emoji), no extFields, null body",
            Map.of(), this::errorResponse));

        Map<String, Object> offset = new LinkedHashMap<>();
        offset.put("consumerGroup", "golden_consumer_group");
        offset.put("topic", "GoldenTopic");
        offset.put("queueId", 0);
        offset.put("commitOffset", 256L);
        specs.add(new Spec("remoting_oneway",
            "UPDATE_CONSUMER_OFFSET (15) oneway request (flag 2), language GO, opaque 44",
            offset, this::oneway));
        return specs;
    }

    static byte[] body() {
        return "Hello RocketMQ golden body é中".getBytes(StandardCharsets.UTF_8);
    }

    private RemotingCommand request(int code, String headerClass, Map<String, Object> fields, int opaque, byte[] body)
        throws Exception {
        Object header = Support.newInstance(Support.headerClass(headerClass), new Class<?>[0]);
        Support.setFields(header, fields);
        RemotingCommand cmd = RemotingCommand.createRequestCommand(code, (CommandCustomHeader) header);
        cmd.setVersion(version);
        cmd.setOpaque(opaque);
        cmd.setBody(body);
        return cmd;
    }

    @SuppressWarnings("unchecked")
    private RemotingCommand sendResponse() throws Exception {
        Class<? extends CommandCustomHeader> cls =
            (Class<? extends CommandCustomHeader>) Support.headerClass("SendMessageResponseHeader");
        RemotingCommand cmd = RemotingCommand.createResponseCommand(cls);
        Support.setFields(cmd.readCustomHeader(), specs().get(2).header);
        cmd.setCode(0);
        cmd.setRemark("ok");
        cmd.setVersion(version);
        cmd.setOpaque(42);
        cmd.addExtField("MSG_REGION", "DefaultRegion");
        cmd.addExtField("TRACE_ON", "true");
        return cmd;
    }

    private RemotingCommand errorResponse() {
        RemotingCommand cmd = RemotingCommand.createResponseCommand(1, "存储失败: Überprüfung ✓ 🚀");
        cmd.setVersion(version);
        cmd.setOpaque(43);
        return cmd;
    }

    private RemotingCommand oneway() throws Exception {
        RemotingCommand cmd = request(UPDATE_CONSUMER_OFFSET, "UpdateConsumerOffsetRequestHeader",
            specs().get(4).header, 44, null);
        cmd.markOnewayRPC();
        cmd.setLanguage(LanguageCode.GO);
        return cmd;
    }

    private static byte[] nettyEncode(RemotingCommand cmd, SerializeType type) {
        cmd.setSerializeTypeCurrentRPC(type);
        ByteBuf out = Unpooled.buffer();
        cmd.fastEncodeHeader(out);
        if (cmd.getBody() != null) {
            out.writeBytes(cmd.getBody());
        }
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return bytes;
    }

    private static byte[] toArray(ByteBuffer buf) {
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        return bytes;
    }

    /** The expected values come from the Java decoder reading the bytes back, plus the builder's inputs. */
    private void record(Spec spec, String file, byte[] bytes, String producer) throws Exception {
        Map<String, Object> e = Support.writeVector(dir, file, bytes);
        e.put("kind", "remoting");
        e.put("description", spec.description);
        e.put("producer", producer);
        RemotingCommand back = RemotingCommand.decode(Arrays.copyOfRange(bytes, 4, bytes.length));
        int typeAndLen = ByteBuffer.wrap(bytes, 4, 4).getInt();
        int headerLen = typeAndLen & 0xFFFFFF;
        byte[] header = Arrays.copyOfRange(bytes, 8, 8 + headerLen);
        SerializeType type = back.getSerializeTypeCurrentRPC();
        e.put("serialize_type", type.name());
        e.put("header_len", headerLen);
        e.put("code", back.getCode());
        e.put("language", back.getLanguage().name());
        e.put("language_code", (int) back.getLanguage().getCode());
        e.put("version", back.getVersion());
        e.put("opaque", back.getOpaque());
        e.put("flag", back.getFlag());
        e.put("remark", back.getRemark());
        e.put("ext_fields", back.getExtFields() == null ? null : new TreeMap<>(back.getExtFields()));
        if (type == SerializeType.JSON) {
            JSONObject obj = JSON.parseObject(new String(header, StandardCharsets.UTF_8), Feature.OrderedField);
            e.put("json_key_order", new ArrayList<>(obj.keySet()));
            JSONObject ext = obj.getJSONObject("extFields");
            List<List<String>> written = new ArrayList<>();
            if (ext != null) {
                ext.forEach((k, v) -> written.add(List.of(k, String.valueOf(v))));
            }
            e.put("ext_written", written);
        } else {
            e.put("ext_written", binaryExtOrder(header));
        }
        e.put("body_hex", back.getBody() == null ? null : Support.hex(back.getBody()));
        e.put("header", spec.header);
        files.add(e);
    }

    /** Map section of a ROCKETMQ header in written order, duplicates kept (Java's decoder keeps the last). */
    private static List<List<String>> binaryExtOrder(byte[] header) {
        ByteBuffer buf = ByteBuffer.wrap(header);
        buf.position(2 + 1 + 2 + 4 + 4);
        int remarkLen = buf.getInt();
        buf.position(buf.position() + remarkLen);
        int extLen = buf.getInt();
        int end = buf.position() + extLen;
        List<List<String>> out = new ArrayList<>();
        while (buf.position() < end) {
            byte[] k = new byte[buf.getShort()];
            buf.get(k);
            byte[] v = new byte[buf.getInt()];
            buf.get(v);
            out.add(List.of(new String(k, StandardCharsets.UTF_8), new String(v, StandardCharsets.UTF_8)));
        }
        return out;
    }
}
