package tributary.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One KafkaShareConsumer (KIP-932) member that polls until told to stop on stdin ("close").
 * With explicit acknowledgement it answers every record it gets with the action it was started
 * with: accept, release, reject, or hold (never acknowledges: the test kills the JVM). Prints,
 * flushed at once: STARTED, RECORD &lt;partition&gt; &lt;offset&gt; &lt;delivery count&gt; &lt;value&gt; per
 * record, ACKED after each commitSync, CLOSED at the end.
 * Usage: ShareMember &lt;bootstrap&gt; &lt;group&gt; &lt;topic&gt; &lt;accept|release|reject|hold&gt;
 */
public final class ShareMember {
  private static void out(String s) {
    synchronized (System.out) {
      System.out.println(s);
      System.out.flush();
    }
  }

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("group.id", args[1]);
    p.put("share.acknowledgement.mode", "explicit");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    String action = args[3];
    AtomicBoolean stop = new AtomicBoolean(false);
    Thread input = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.trim().equals("close")) break;
        }
      } catch (Exception e) {
        // stdin closed: stop as well
      }
      stop.set(true);
    });
    input.setDaemon(true);
    input.start();
    try (KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(p)) {
      consumer.subscribe(List.of(args[2]));
      out("STARTED");
      while (!stop.get()) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, String> r : records) {
          out("RECORD " + r.partition() + " " + r.offset() + " " + r.deliveryCount().map(String::valueOf).orElse("-") + " " + r.value());
          switch (action) {
            case "accept" -> consumer.acknowledge(r, AcknowledgeType.ACCEPT);
            case "release" -> consumer.acknowledge(r, AcknowledgeType.RELEASE);
            case "reject" -> consumer.acknowledge(r, AcknowledgeType.REJECT);
            default -> { }
          }
        }
        if (!records.isEmpty() && action.equals("hold")) {
          // Holds what it acquired without acknowledging (explicit mode forbids another poll).
          out("HOLDING");
          while (!stop.get()) Thread.sleep(50);
          break;
        }
        if (!records.isEmpty()) {
          consumer.commitSync();
          out("ACKED");
        }
      }
    }
    out("CLOSED");
  }
}
