package tributary.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transactional producers driven from stdin, one command per line, one answer line each:
 * <pre>
 *   init NAME TXN_ID [timeout.ms]   a producer NAME; initTransactions     → READY NAME tv2=BOOL PID EPOCH
 *   commit NAME TOPIC N PREFIX      one transaction of N records over all partitions, committed
 *                                                                           → COMMITTED NAME PID EPOCH
 *   abort NAME TOPIC N PREFIX       the same, flushed then aborted          → ABORTED NAME PID EPOCH
 *   open NAME TOPIC N PREFIX        begin, send and flush, left open        → OPEN NAME PID EPOCH
 *   resume NAME TOPIC N PREFIX      N more records in the open transaction, committed → COMMITTED ...
 *   offsets NAME GROUP TOPIC P OFF  one record and sendOffsetsToTransaction (no AddOffsetsToTxn
 *                                   with V2), committed                     → OFFSETS NAME PID EPOCH
 *   close NAME                      close the producer                      → CLOSED NAME
 *   read TOPIC                      read_committed, every partition from the start up to the
 *                                   end offsets (the LSO)                   → READ N v1,v2,...
 *   committed GROUP TOPIC P         the group's committed offset            → OFFSET N
 * </pre>
 * A failure answers ERROR NAME ExceptionClass message. "tv2", PID and EPOCH are read from the
 * producer's TransactionManager (not public API) so the test sees what the client really uses.
 * Usage: TxnDriver BOOTSTRAP
 */
public final class TxnDriver {
  private static void out(String s) {
    System.out.println(s);
    System.out.flush();
  }

  private static Object field(Object o, String name) throws Exception {
    Field f = o.getClass().getDeclaredField(name);
    f.setAccessible(true);
    return f.get(o);
  }

  /** "tv2=true 1000 3": what the producer's transaction manager holds. */
  private static String state(KafkaProducer<String, String> p) throws Exception {
    Object tm = field(p, "transactionManager");
    boolean tv2 = (Boolean) tm.getClass().getMethod("isTransactionV2Enabled").invoke(tm);
    Object pe = field(tm, "producerIdAndEpoch");
    long pid = pe.getClass().getField("producerId").getLong(pe);
    short epoch = pe.getClass().getField("epoch").getShort(pe);
    return "tv2=" + tv2 + " " + pid + " " + epoch;
  }

  private static String ids(KafkaProducer<String, String> p) throws Exception {
    String s = state(p);
    return s.substring(s.indexOf(' ') + 1);
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    Map<String, KafkaProducer<String, String>> producers = new HashMap<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    while ((line = in.readLine()) != null) {
      String[] a = line.trim().split(" ");
      if (a.length == 0 || a[0].isEmpty()) continue;
      String name = a.length > 1 ? a[1] : "-";
      try {
        switch (a[0]) {
          case "init": {
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
            p.put("transactional.id", a[2]);
            if (a.length > 3) p.put("transaction.timeout.ms", a[3]);
            p.put("key.serializer", StringSerializer.class.getName());
            p.put("value.serializer", StringSerializer.class.getName());
            p.put("max.block.ms", "30000");
            p.put("delivery.timeout.ms", "30000");
            p.put("request.timeout.ms", "10000");
            KafkaProducer<String, String> producer = new KafkaProducer<>(p);
            producers.put(name, producer);
            producer.initTransactions();
            out("READY " + name + " " + state(producer));
            break;
          }
          case "commit":
          case "abort":
          case "open":
          case "resume": {
            KafkaProducer<String, String> p = producers.get(name);
            int n = Integer.parseInt(a[3]);
            int partitions = p.partitionsFor(a[2]).size();
            if (!a[0].equals("resume")) p.beginTransaction();
            // Spread over every partition: each one is added to the transaction by its first produce.
            for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(a[2], i % partitions, null, a[4] + "-" + i));
            p.flush();
            if (a[0].equals("commit") || a[0].equals("resume")) {
              p.commitTransaction();
              out("COMMITTED " + name + " " + ids(p));
            } else if (a[0].equals("abort")) {
              p.abortTransaction();
              out("ABORTED " + name + " " + ids(p));
            } else {
              out("OPEN " + name + " " + ids(p));
            }
            break;
          }
          case "offsets": {
            KafkaProducer<String, String> p = producers.get(name);
            p.beginTransaction();
            p.send(new ProducerRecord<>(a[3], null, "offsets-" + a[5]));
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            offsets.put(new TopicPartition(a[3], Integer.parseInt(a[4])), new OffsetAndMetadata(Long.parseLong(a[5])));
            p.sendOffsetsToTransaction(offsets, new ConsumerGroupMetadata(a[2]));
            p.commitTransaction();
            out("OFFSETS " + name + " " + ids(p));
            break;
          }
          case "close": {
            KafkaProducer<String, String> p = producers.remove(name);
            if (p != null) p.close(Duration.ofSeconds(5));
            out("CLOSED " + name);
            break;
          }
          case "read": {
            Properties c = new Properties();
            c.put("bootstrap.servers", bootstrap);
            c.put("isolation.level", "read_committed");
            c.put("key.deserializer", StringDeserializer.class.getName());
            c.put("value.deserializer", StringDeserializer.class.getName());
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
              List<TopicPartition> parts = new ArrayList<>();
              for (PartitionInfo pi : consumer.partitionsFor(a[1])) parts.add(new TopicPartition(a[1], pi.partition()));
              consumer.assign(parts);
              consumer.seekToBeginning(parts);
              Map<TopicPartition, Long> end = consumer.endOffsets(parts);
              List<String> values = new ArrayList<>();
              long deadline = System.currentTimeMillis() + 20_000;
              while (System.currentTimeMillis() < deadline) {
                boolean done = true;
                for (TopicPartition tp : parts) if (consumer.position(tp) < end.get(tp)) done = false;
                if (done) break;
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) values.add(r.value());
              }
              out("READ " + values.size() + " " + String.join(",", values));
            }
            break;
          }
          case "committed": {
            Properties c = new Properties();
            c.put("bootstrap.servers", bootstrap);
            c.put("group.id", a[1]);
            c.put("key.deserializer", StringDeserializer.class.getName());
            c.put("value.deserializer", StringDeserializer.class.getName());
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
              TopicPartition tp = new TopicPartition(a[2], Integer.parseInt(a[3]));
              OffsetAndMetadata m = consumer.committed(java.util.Set.of(tp)).get(tp);
              out("OFFSET " + (m == null ? -1 : m.offset()));
            }
            break;
          }
          default:
            out("ERROR " + name + " unknown command " + a[0]);
        }
      } catch (Exception e) {
        out("ERROR " + name + " " + e.getClass().getSimpleName() + " " + String.valueOf(e.getMessage()).replace('\n', ' '));
      }
    }
    for (KafkaProducer<String, String> p : producers.values()) p.close(Duration.ofSeconds(2));
  }
}
