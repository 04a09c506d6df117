package tributary.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.*;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * A Kafka Streams application with exactly_once_v2: a word count (a repartition by word and a
 * count store with its changelog) and a one-minute windowed sum per key (a window store).
 * Usage: StreamsApp <bootstrap> <application.id> <state.dir> [group.protocol [application.server]].
 * Prints STATE lines, RESTORED lines (records restored from a changelog), and answers stdin
 * commands: `tasks` (TASKS <active> <state>), `standby` (STANDBY <standby tasks>), `count <word>`
 * (COUNT <word> <n>, read from the store), `progress` (PROGRESS <words read>) and `hosts` (HOSTS
 * then one HOST <host:port> <active partitions> <standby partitions> line per instance the
 * interactive-query metadata knows, then END).
 */
public final class StreamsApp {
  /** Words this instance has read (since its start), for `progress`. */
  static final java.util.concurrent.atomic.AtomicLong WORDS_SEEN = new java.util.concurrent.atomic.AtomicLong();

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    // A killed instance leaves the group within seconds, not the default 45 s.
    p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 6000);
    p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), 1000);
    p.put(StreamsConfig.consumerPrefix("max.poll.records"), 100);
    // The streams rebalance protocol (KIP-1071) when asked; the classic protocol otherwise.
    if (args.length > 3) p.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, args[3]);
    if (args.length > 4) p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, args[4]);

    StreamsBuilder b = new StreamsBuilder();
    b.stream("words-in", Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((k, w) -> !w.isEmpty())
        .peek((k, w) -> WORDS_SEEN.incrementAndGet())
        .groupBy((k, w) -> w, Grouped.as("by-word"))
        .count(Materialized.as("word-counts"))
        .toStream()
        .to("word-counts-out", Produced.with(Serdes.String(), Serdes.Long()));
    b.stream("amounts-in", Consumed.with(Serdes.String(), Serdes.String()))
        .mapValues(v -> Long.parseLong(v))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.Long()))
        .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMinutes(1)))
        .reduce(Long::sum, Materialized.as("window-sums"))
        .toStream()
        .map((wk, sum) -> KeyValue.pair(wk.key() + "@" + wk.window().start(), sum))
        .to("window-sums-out", Produced.with(Serdes.String(), Serdes.Long()));

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    streams.setStateListener((now, before) -> out("STATE " + now));
    streams.setGlobalStateRestoreListener(new StateRestoreListener() {
      @Override public void onRestoreStart(TopicPartition tp, String store, long start, long end) { }
      @Override public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long n) { }
      @Override public void onRestoreEnd(TopicPartition tp, String store, long total) {
        out("RESTORED " + store + " " + tp + " " + total);
      }
    });
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> { streams.close(Duration.ofSeconds(20)); done.countDown(); }));
    streams.start();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] cmd = line.trim().split(" ");
      try {
        if (cmd[0].equals("tasks")) {
          int active = streams.metadataForLocalThreads().stream().mapToInt(t -> t.activeTasks().size()).sum();
          out("TASKS " + active + " " + streams.state());
        } else if (cmd[0].equals("standby")) {
          int standby = streams.metadataForLocalThreads().stream().mapToInt(t -> t.standbyTasks().size()).sum();
          out("STANDBY " + standby);
        } else if (cmd[0].equals("hosts")) {
          StringBuilder sb = new StringBuilder("HOSTS");
          for (org.apache.kafka.streams.StreamsMetadata m : streams.metadataForAllStreamsClients()) {
            sb.append("\nHOST ").append(m.host()).append(':').append(m.port())
              .append(' ').append(m.topicPartitions().size()).append(' ').append(m.standbyTopicPartitions().size());
          }
          out(sb.append("\nEND").toString());
        } else if (cmd[0].equals("progress")) {
          out("PROGRESS " + WORDS_SEEN.get());
        } else if (cmd[0].equals("count")) {
          ReadOnlyKeyValueStore<String, Long> store = streams.store(StoreQueryParameters.fromNameAndType("word-counts", QueryableStoreTypes.keyValueStore()));
          Long n = store.get(cmd[1]);
          out("COUNT " + cmd[1] + " " + (n == null ? 0 : n));
        }
      } catch (Exception e) {
        out("ERROR " + cmd[0] + " " + e);
      }
    }
    streams.close(Duration.ofSeconds(20));
    out("CLOSED");
  }

  static synchronized void out(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
