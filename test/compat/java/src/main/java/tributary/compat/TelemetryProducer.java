package tributary.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A producer with KIP-714 telemetry on (enable.metrics.push=true, the Java client's default):
 * sends a record every 100 ms and prints its client instance id, until stdin closes or the time
 * limit passes; then closes, which sends the terminating push.
 * Usage: TelemetryProducer <bootstrap> <topic> <client.id> <seconds>
 */
public final class TelemetryProducer {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("client.id", args[2]);
    p.put("enable.metrics.push", "true");
    p.put("linger.ms", "5");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    long deadline = System.currentTimeMillis() + Long.parseLong(args[3]) * 1000L;
    AtomicBoolean stop = new AtomicBoolean(false);
    Thread stdin = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        while (r.readLine() != null) {}
      } catch (Exception e) {
        // closed
      }
      stop.set(true);
    });
    stdin.setDaemon(true);
    stdin.start();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.send(new ProducerRecord<>(args[1], "k", "first")).get();
      System.out.println("instance " + producer.clientInstanceId(Duration.ofSeconds(10)));
      System.out.flush();
      int i = 0;
      while (!stop.get() && System.currentTimeMillis() < deadline) {
        producer.send(new ProducerRecord<>(args[1], "k", "v" + i++));
        Thread.sleep(100);
      }
    }
    System.out.println("closed");
  }
}
