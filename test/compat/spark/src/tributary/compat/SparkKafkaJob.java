package tributary.compat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;

/**
 * Spark's Kafka source and sink (spark-sql-kafka-0-10) against Tributary, Spark in local mode.
 * Runs the commands given after the common arguments, in order, in one Spark session, and prints
 * a JSON line for each command but conf and delete on stdout (spark.test.ts reads them and checks Tributary's side with
 * its own client):
 *
 * <ul>
 *   <li>{@code stream IN OUT CHECKPOINT}: a Structured Streaming word count. readStream from IN
 *       (startingOffsets earliest, which only counts when the checkpoint is new: a restarted query
 *       resumes from the offsets its checkpoint recorded), a stateful groupBy(word).count() in
 *       update mode, writeStream of each updated count (key word, value the count as text) to OUT.
 *       Trigger.AvailableNow: it processes what IN holds when it starts, then stops by itself.
 *       Prints the batches run, the input rows they read and the source's end offsets.
 *   <li>{@code conf KEY VALUE}: sets a SQL configuration for the commands after it (prints
 *       nothing).
 *   <li>{@code txn TOPIC PARTITIONS}: Kafka transactions into each partition of TOPIC, with the
 *       kafka-clients Spark brings: one committed (values c1-P-0..2), one aborted (a-P-0..2), one
 *       committed again (c2-P-0..1). What Spark reads of it with read_committed is checked against
 *       what Tributary's own client reads with read_uncommitted.
 *   <li>{@code delete TOPIC PARTITION OFFSET}: Admin.deleteRecords before OFFSET (prints nothing).
 *   <li>{@code batch TOPIC START END OPTIONS}: spark.read.format("kafka") of TOPIC between two
 *       offset specs ("earliest", "latest", Spark's JSON per partition, or ts:MILLIS), with
 *       includeHeaders and OPTIONS (source options key=value,key=value, or "-"); prints every row, in
 *       no particular order
 *       (keys, values and header values in base64, so bytes compare exactly), or the error's first
 *       line.
 * </ul>
 *
 * Usage: SparkKafkaJob BOOTSTRAP WORKDIR (stream IN OUT CHECKPOINT | conf KEY VALUE |
 * txn TOPIC PARTITIONS | delete TOPIC PARTITION OFFSET | batch TOPIC START END OPTIONS)...
 */
public final class SparkKafkaJob {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], work = args[1];
    SparkSession spark = SparkSession.builder()
        .appName("tributary-compat")
        .master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.local.dir", work + "/local")
        .config("spark.sql.warehouse.dir", work + "/warehouse")
        // Two shuffle partitions for the aggregation (200 by default: 200 state stores per batch).
        .config("spark.sql.shuffle.partitions", "2")
        // No background state store snapshots or cleanup during the few seconds a query runs.
        .config("spark.sql.streaming.stateStore.maintenanceInterval", "600s")
        // Small batch reads: no adaptive re-planning.
        .config("spark.sql.adaptive.enabled", "false")
        // Null columns printed as null rather than left out of toJSON's lines.
        .config("spark.sql.jsonGenerator.ignoreNullFields", "false")
        .getOrCreate();
    try {
      for (int i = 2; i < args.length;) {
        switch (args[i]) {
          case "stream" -> {
            stream(spark, bootstrap, args[i + 1], args[i + 2], args[i + 3]);
            i += 4;
          }
          case "conf" -> {
            spark.conf().set(args[i + 1], args[i + 2]);
            i += 3;
          }
          case "delete" -> {
            deleteRecords(bootstrap, args[i + 1], Integer.parseInt(args[i + 2]), Long.parseLong(args[i + 3]));
            i += 4;
          }
          case "txn" -> {
            transactions(bootstrap, args[i + 1], Integer.parseInt(args[i + 2]));
            i += 3;
          }
          case "batch" -> {
            batch(spark, bootstrap, args[i + 1], args[i + 2], args[i + 3], args[i + 4]);
            i += 5;
          }
          default -> throw new IllegalArgumentException("unknown command " + args[i]);
        }
      }
    } finally {
      spark.stop();
    }
    System.exit(0);
  }

  private static void stream(SparkSession spark, String bootstrap, String in, String out, String checkpoint) throws Exception {
    Dataset<Row> counts = spark.readStream()
        .format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", in)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("explode(split(CAST(value AS STRING), ' ')) AS word")
        .groupBy("word")
        .count();
    long t0 = System.nanoTime();
    StreamingQuery query = counts.selectExpr("word AS key", "CAST(count AS STRING) AS value")
        .writeStream()
        .format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("topic", out)
        .option("checkpointLocation", checkpoint)
        .outputMode("update")
        .trigger(Trigger.AvailableNow())
        .start();
    if (!query.awaitTermination(TimeUnit.MINUTES.toMillis(2))) {
      query.stop();
      throw new IllegalStateException("the AvailableNow query did not finish in 2 minutes");
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    long batches = 0, rows = 0;
    String endOffset = "null";
    for (StreamingQueryProgress p : query.recentProgress()) {
      batches++;
      rows += p.numInputRows();
      for (SourceProgress s : p.sources()) if (s.endOffset() != null) endOffset = s.endOffset();
    }
    System.out.println("{\"command\":\"stream\",\"batches\":" + batches + ",\"inputRows\":" + rows + ",\"endOffset\":" + endOffset
        + ",\"lastBatchId\":" + (query.lastProgress() == null ? -1 : query.lastProgress().batchId()) + ",\"ms\":" + ms + "}");
  }

  private static void transactions(String bootstrap, String topic, int partitions) {
    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("transactional.id", "spark-compat-" + topic);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
      p.initTransactions();
      String[][] txns = {{"c1", "3", "commit"}, {"a", "3", "abort"}, {"c2", "2", "commit"}};
      for (String[] t : txns) {
        p.beginTransaction();
        for (int part = 0; part < partitions; part++) {
          for (int i = 0; i < Integer.parseInt(t[1]); i++) p.send(new ProducerRecord<>(topic, part, t[0] + "-" + part, t[0] + "-" + part + "-" + i));
        }
        p.flush();
        if (t[2].equals("commit")) p.commitTransaction();
        else p.abortTransaction();
      }
    }
    System.out.println("{\"command\":\"txn\"}");
  }

  private static void deleteRecords(String bootstrap, String topic, int partition, long before) throws Exception {
    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      admin.deleteRecords(Map.of(new TopicPartition(topic, partition), RecordsToDelete.beforeOffset(before))).all().get();
    }
  }

  private static void batch(SparkSession spark, String bootstrap, String topic, String start, String end, String options) {
    Map<String, String> extra = new HashMap<>();
    if (!options.equals("-")) {
      for (String kv : options.split(",")) extra.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    List<String> rows;
    try {
      rows = spark.read()
          .format("kafka")
          .option("kafka.bootstrap.servers", bootstrap)
          .option("subscribe", topic)
          // "ts:<ms>": the offsets of the first records at or after that time (ListOffsets by time).
          .option(start.startsWith("ts:") ? "startingTimestamp" : "startingOffsets", start.replaceFirst("^ts:", ""))
          .option(end.startsWith("ts:") ? "endingTimestamp" : "endingOffsets", end.replaceFirst("^ts:", ""))
          .option("includeHeaders", "true")
          .options(extra)
          .load()
          .selectExpr(
              "partition",
              "offset",
              "base64(key) AS key",
              "base64(value) AS value",
              "unix_millis(timestamp) AS timestamp",
              "timestampType",
              "transform(headers, h -> named_struct('key', h.key, 'value', base64(h.value))) AS headers")
          .toJSON()
          .collectAsList();
    } catch (Exception e) {
      String first = String.valueOf(e.getMessage()).split("\n")[0];
      System.out.println("{\"command\":\"batch\",\"rows\":[],\"error\":\"" + first.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}");
      return;
    }
    System.out.println("{\"command\":\"batch\",\"rows\":[" + String.join(",", rows) + "]}");
  }
}
