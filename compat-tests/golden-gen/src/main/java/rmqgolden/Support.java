package rmqgolden;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reflection, hex, sha256 and file helpers shared by the vector builders. */
final class Support {
    private Support() {
    }

    /** The first class that exists: 5.x moved many protocol classes, so callers list both package names. */
    static Class<?> findClass(String... names) {
        for (String name : names) {
            try {
                return Class.forName(name);
            } catch (ClassNotFoundException ignored) {
                // try the next package
            }
        }
        throw new IllegalStateException("none of these classes exist: " + String.join(", ", names));
    }

    static Class<?> headerClass(String simpleName) {
        return findClass("org.apache.rocketmq.remoting.protocol.header." + simpleName,
            "org.apache.rocketmq.common.protocol.header." + simpleName);
    }

    static Field findField(Class<?> cls, String name) {
        for (Class<?> c = cls; c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException ignored) {
                // look in the superclass
            }
        }
        throw new IllegalStateException("no field " + name + " in " + cls.getName());
    }

    /** Sets fields by their Java name, so one source works for 4.x (boolean k) and 5.x (Boolean k). */
    static void setFields(Object target, Map<String, Object> values) throws IllegalAccessException {
        for (Map.Entry<String, Object> e : values.entrySet()) {
            findField(target.getClass(), e.getKey()).set(target, e.getValue());
        }
    }

    static Object newInstance(Class<?> cls, Class<?>[] types, Object... args) throws ReflectiveOperationException {
        var ctor = cls.getDeclaredConstructor(types);
        ctor.setAccessible(true);
        return ctor.newInstance(args);
    }

    static Object call(Object target, String name, Object... args) throws ReflectiveOperationException {
        for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.getName().equals(name) && m.getParameterCount() == args.length && accepts(m, args)) {
                    m.setAccessible(true);
                    return m.invoke(target, args);
                }
            }
        }
        throw new IllegalStateException("no method " + name + "/" + args.length + " on " + target.getClass());
    }

    private static boolean accepts(Method m, Object[] args) {
        Class<?>[] types = m.getParameterTypes();
        for (int i = 0; i < args.length; i++) {
            if (args[i] != null && !types[i].isPrimitive() && !types[i].isInstance(args[i])) {
                return false;
            }
        }
        return true;
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    static String sha256(byte[] bytes) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A literal IP never triggers a DNS lookup. */
    static InetSocketAddress addr(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Rust `SocketAddr` syntax: `1.2.3.4:5` or `[::1]:5`. */
    static String hostString(String ip, int port) {
        return ip.contains(":") ? "[" + ip + "]:" + port : ip + ":" + port;
    }

    static List<List<String>> pairs(Map<String, String> map) {
        List<List<String>> out = new ArrayList<>();
        map.forEach((k, v) -> out.add(List.of(k, v)));
        return out;
    }

    /** Writes one vector file and returns the manifest entry that describes it (name, size, sha256). */
    static Map<String, Object> writeVector(Path dir, String name, byte[] bytes) throws IOException {
        Files.write(dir.resolve(name), bytes);
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("file", name);
        entry.put("size", bytes.length);
        entry.put("sha256", sha256(bytes));
        return entry;
    }
}
