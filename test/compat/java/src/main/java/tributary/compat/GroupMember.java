package tributary.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One consumer group member that keeps polling until told to stop on stdin ("close": leave
 * the group; "exit": stop without leaving). Prints, one line each and flushed at once:
 * ASSIGNED/REVOKED/LOST &lt;topic-partition,...&gt; from its rebalance listener, RECORD &lt;partition&gt;
 * &lt;offset&gt; &lt;value&gt; per record, COMMITTED after each synchronous commit, CLOSED at the end.
 * Usage: GroupMember &lt;bootstrap&gt; &lt;group&gt; &lt;topic&gt; &lt;group.protocol&gt; [group.instance.id|-] [assignor|-]
 */
public final class GroupMember {
  private static void out(String s) {
    synchronized (System.out) {
      System.out.println(s);
      System.out.flush();
    }
  }

  private static String names(Collection<TopicPartition> parts) {
    StringBuilder b = new StringBuilder();
    for (TopicPartition tp : parts) {
      if (b.length() > 0) b.append(',');
      b.append(tp.topic()).append('-').append(tp.partition());
    }
    return b.toString();
  }

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("group.id", args[1]);
    p.put("group.protocol", args[3]);
    if (args.length > 4 && !args[4].equals("-")) p.put("group.instance.id", args[4]);
    if (args.length > 5 && !args[5].equals("-")) p.put("group.remote.assignor", args[5]);
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    AtomicBoolean stop = new AtomicBoolean(false);
    AtomicBoolean leave = new AtomicBoolean(true);
    Thread input = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.trim().equals("exit")) leave.set(false);
          if (line.trim().equals("close") || line.trim().equals("exit")) break;
        }
      } catch (Exception e) {
        // stdin closed: stop as well
      }
      stop.set(true);
    });
    input.setDaemon(true);
    input.start();
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
    consumer.subscribe(List.of(args[2]), new ConsumerRebalanceListener() {
      @Override
      public void onPartitionsRevoked(Collection<TopicPartition> parts) {
        if (!parts.isEmpty()) consumer.commitSync();
        out("REVOKED " + names(parts));
      }

      @Override
      public void onPartitionsAssigned(Collection<TopicPartition> parts) {
        out("ASSIGNED " + names(parts));
      }

      @Override
      public void onPartitionsLost(Collection<TopicPartition> parts) {
        out("LOST " + names(parts));
      }
    });
    out("STARTED " + consumer.groupMetadata().memberId());
    while (!stop.get()) {
      ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
      for (ConsumerRecord<String, String> r : records) out("RECORD " + r.partition() + " " + r.offset() + " " + r.value());
      if (!records.isEmpty()) {
        consumer.commitSync();
        out("COMMITTED");
      }
    }
    if (leave.get()) consumer.close();
    else consumer.close(org.apache.kafka.clients.consumer.CloseOptions.groupMembershipOperation(org.apache.kafka.clients.consumer.CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP));
    out("CLOSED");
  }
}
