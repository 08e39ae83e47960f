// Sends the messages of the Java-written store fixture (see generate.sh next to this file).
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.common.message.Message;

public class Produce {
    public static void main(String[] args) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("ha_fixture_pg");
        p.setNamesrvAddr(args[0]);
        p.start();
        MessageQueueSelector byArg = (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size());
        StringBuilder pad = new StringBuilder();
        for (int n = 0; n < 90; n++) {
            pad.setLength(0);
            for (int i = 0; i < (n * 37) % 300; i++) pad.append('b');
            String topic = n % 3 == 2 ? "FixB" : "FixA";
            Message m = new Message(topic, "Tag" + (n % 3), "k" + n + " shared", (n + ":" + pad).getBytes("UTF-8"));
            if (n % 11 == 4) m.setDelayTimeLevel(3);
            System.out.println(p.send(m, byArg, n).getSendStatus());
        }
        p.shutdown();
    }
}
