package tributary.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Flink's Kafka connector against Tributary, in a local mini-cluster: a bounded KafkaSource reads
 * the input topic, a map upper-cases each record, and an exactly-once KafkaSink (Kafka
 * transactions committed on checkpoints) writes the output topic. Afterwards a read_committed and
 * a read_uncommitted consumer read the output back. Prints one JSON summary line.
 *
 * Usage: FlinkKafkaJob BOOTSTRAP IN_TOPIC OUT_TOPIC COUNT
 */
public final class FlinkKafkaJob {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], in = args[1], out = args[2];
    int n = Integer.parseInt(args[3]);

    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      admin.createTopics(List.of(new NewTopic(in, 3, (short) 1), new NewTopic(out, 3, (short) 1))).all().get();
    }
    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
      for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(in, i % 3, null, "record-" + i));
      p.flush();
    }

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    env.enableCheckpointing(500, CheckpointingMode.EXACTLY_ONCE);
    KafkaSource<String> source = KafkaSource.<String>builder()
        .setBootstrapServers(bootstrap)
        .setTopics(in)
        .setGroupId("flink-compat")
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setBounded(OffsetsInitializer.latest())
        .setValueOnlyDeserializer(new SimpleStringSchema())
        .build();
    KafkaSink<String> sink = KafkaSink.<String>builder()
        .setBootstrapServers(bootstrap)
        .setRecordSerializer(KafkaRecordSerializationSchema.builder().setTopic(out).setValueSerializationSchema(new SimpleStringSchema()).build())
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix("flink-compat-" + out)
        // Below the broker's transaction.max.timeout.ms (Flink's default is an hour).
        .setProperty("transaction.timeout.ms", "60000")
        .build();
    env.fromSource(source, WatermarkStrategy.noWatermarks(), "tributary-in")
        .map(String::toUpperCase)
        .sinkTo(sink);
    long t0 = System.nanoTime();
    env.execute("tributary-compat");
    long jobMs = (System.nanoTime() - t0) / 1_000_000;

    List<String> committed = readAll(bootstrap, out, "read_committed", Duration.ofSeconds(20), n);
    List<String> uncommitted = readAll(bootstrap, out, "read_uncommitted", Duration.ofSeconds(5), Integer.MAX_VALUE);
    Set<String> distinct = new HashSet<>(committed);
    // The exactly-once sink wrote through transactional ids of its prefix, all of them ended.
    long txnIds, openTxns;
    try (Admin admin = Admin.create(ap)) {
      var listed = admin.listTransactions().all().get();
      txnIds = listed.stream().filter(t -> t.transactionalId().startsWith("flink-compat-" + out)).count();
      openTxns = listed.stream().filter(t -> t.transactionalId().startsWith("flink-compat-" + out) && t.state() == TransactionState.ONGOING).count();
    }
    boolean upper = committed.stream().allMatch(v -> v.startsWith("RECORD-"));
    System.out.println("{\"committed\":" + committed.size() + ",\"distinct\":" + distinct.size() + ",\"uncommitted\":" + uncommitted.size()
         + ",\"upper\":" + upper + ",\"txnIds\":" + txnIds + ",\"openTxns\":" + openTxns + ",\"jobMs\":" + jobMs + "}");
    System.exit(0);
  }

  private static List<String> readAll(String bootstrap, String topic, String isolation, Duration max, int want) {
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("isolation.level", isolation);
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(topic).forEach(pi -> parts.add(new TopicPartition(topic, pi.partition())));
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + max.toNanos();
      while (values.size() < want && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) values.add(r.value());
      }
    }
    return values;
  }
}
