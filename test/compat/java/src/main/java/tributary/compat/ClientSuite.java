package tributary.compat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.quota.*;
import org.apache.kafka.common.serialization.*;

/**
 * The Java client against a broker: an idempotent producer with every codec, transactions with
 * sendOffsetsToTransaction, a classic consumer group, and the AdminClient calls. Compiled against
 * the newest kafka-clients and run on it and on 3.9 (older request versions), so it sticks to API
 * both have. Usage: ClientSuite <bootstrap> <label>; prints one RESULT line per check.
 */
public final class ClientSuite {
  static String bootstrap;
  static String label;
  static final Duration T = Duration.ofSeconds(30);

  public static void main(String[] args) throws Exception {
    bootstrap = args[0];
    label = args[1];
    System.out.println("CLIENT_VERSION\t" + AppInfoVersion.get());
    try (Admin admin = Admin.create(common())) {
      for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
        Check.run("produce-" + codec, () -> codecRoundTrip(admin, codec));
      }
      Check.run("transactions", () -> transactions(admin));
      Check.run("classic-group", () -> classicGroup(admin));
      Check.run("admin-topics", () -> adminTopics(admin));
      Check.run("admin-configs", () -> adminConfigs(admin));
      Check.run("admin-offsets-records", () -> adminOffsetsAndRecords(admin));
      Check.run("admin-groups", () -> adminGroups(admin));
      Check.run("admin-cluster-logdirs", () -> adminClusterAndLogDirs(admin));
      Check.run("admin-quotas", () -> adminQuotas(admin));
      Check.run("admin-transactions-producers", () -> adminTransactions(admin));
      Check.run("admin-elect-reassign", () -> adminElectAndReassign(admin));
    }
    System.out.println("DONE");
  }

  static final class AppInfoVersion {
    // AppInfoParser moved between 3.9 and 4.x.
    static String get() {
      for (String cls : List.of("org.apache.kafka.common.utils.AppInfoParser", "org.apache.kafka.common.utils.internals.AppInfoParser")) {
        try {
          return (String) Class.forName(cls).getMethod("getVersion").invoke(null);
        } catch (ReflectiveOperationException e) {
          // try the next name
        }
      }
      return "unknown";
    }
  }

  static Properties common() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", "compat-" + label);
    return p;
  }

  static String topic(String base) { return base + "-" + label; }

  static void createTopic(Admin admin, String name, int partitions, Map<String, String> configs) throws Exception {
    admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get(30, TimeUnit.SECONDS);
  }

  static KafkaProducer<String, String> producer(Map<String, Object> extra) {
    Properties p = common();
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    p.put("enable.idempotence", "true");
    p.put("linger.ms", "5");
    p.putAll(extra);
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<String, String> consumer(Map<String, Object> extra) {
    Properties p = common();
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.putAll(extra);
    return new KafkaConsumer<>(p);
  }

  /** Everything in the given partitions from the beginning up to their end offsets. */
  static List<ConsumerRecord<String, String>> readAll(String topic, int partitions, String isolation) throws Exception {
    List<TopicPartition> tps = new ArrayList<>();
    for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = consumer(Map.of("isolation.level", isolation))) {
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps, T);
      long deadline = System.nanoTime() + T.toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        Check.that(System.nanoTime() < deadline, "timed out reading " + topic + " up to " + end);
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) out.add(r);
      }
    }
    return out;
  }

  static String codecRoundTrip(Admin admin, String codec) throws Exception {
    String t = topic("codec-" + codec);
    createTopic(admin, t, 3, Map.of());
    int n = 600;
    List<RecordMetadata> acks = new ArrayList<>();
    try (KafkaProducer<String, String> p = producer(Map.of("compression.type", codec, "batch.size", "16384"))) {
      List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        ProducerRecord<String, String> r = new ProducerRecord<>(t, "key-" + (i % 17), "value-" + i + "-" + "x".repeat(i % 50));
        r.headers().add("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
        fs.add(p.send(r));
      }
      p.flush();
      for (var f : fs) acks.add(f.get());
    }
    List<ConsumerRecord<String, String>> got = readAll(t, 3, "read_uncommitted");
    Check.equal(n, got.size(), "records read back");
    Map<Integer, Long> lastOffset = new HashMap<>();
    Set<Integer> seen = new HashSet<>();
    for (ConsumerRecord<String, String> r : got) {
      Header h = r.headers().lastHeader("seq");
      Check.that(h != null, "header seq missing");
      int i = Integer.parseInt(new String(h.value(), StandardCharsets.UTF_8));
      Check.equal("key-" + (i % 17), r.key(), "key of " + i);
      Check.equal("value-" + i + "-" + "x".repeat(i % 50), r.value(), "value of " + i);
      Check.equal(acks.get(i).offset(), r.offset(), "offset of " + i);
      Check.equal(acks.get(i).partition(), r.partition(), "partition of " + i);
      Long prev = lastOffset.put(r.partition(), r.offset());
      Check.that(prev == null || prev < r.offset(), "offsets increase");
      seen.add(i);
    }
    Check.equal(n, seen.size(), "distinct records");
    // Keys land where the default partitioner (murmur2) puts them: one key, one partition.
    Map<String, Set<Integer>> keyParts = new HashMap<>();
    for (ConsumerRecord<String, String> r : got) keyParts.computeIfAbsent(r.key(), k -> new HashSet<>()).add(r.partition());
    Check.that(keyParts.values().stream().allMatch(s -> s.size() == 1), "a key maps to one partition");
    return n + " records over " + keyParts.values().stream().flatMap(Set::stream).distinct().count() + " partitions";
  }

  static String transactions(Admin admin) throws Exception {
    String in = topic("txn-in"), out = topic("txn-out"), group = topic("txn-group");
    createTopic(admin, in, 2, Map.of());
    createTopic(admin, out, 2, Map.of());
    int n = 100;
    try (KafkaProducer<String, String> p = producer(Map.of())) {
      for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(in, "k" + i, "in-" + i));
      p.flush();
    }
    int processed = 0;
    try (KafkaProducer<String, String> tp = producer(Map.of("transactional.id", topic("txn-id"), "transaction.timeout.ms", "30000"));
         KafkaConsumer<String, String> c = consumer(Map.of("group.id", group, "isolation.level", "read_committed"))) {
      tp.initTransactions();
      // An aborted transaction first: its records must never be read with read_committed.
      tp.beginTransaction();
      for (int i = 0; i < 10; i++) tp.send(new ProducerRecord<>(out, "aborted", "aborted-" + i));
      tp.flush();
      tp.abortTransaction();
      c.subscribe(List.of(in));
      long deadline = System.nanoTime() + T.toNanos();
      while (processed < n) {
        Check.that(System.nanoTime() < deadline, "timed out consuming the input (" + processed + "/" + n + ")");
        ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
        if (recs.isEmpty()) continue;
        tp.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : recs) {
          tp.send(new ProducerRecord<>(out, r.key(), r.value().toUpperCase()));
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          processed++;
        }
        tp.sendOffsetsToTransaction(offsets, c.groupMetadata());
        tp.commitTransaction();
      }
    }
    List<ConsumerRecord<String, String>> committed = readAll(out, 2, "read_committed");
    Set<String> values = committed.stream().map(ConsumerRecord::value).collect(Collectors.toSet());
    Check.equal(n, committed.size(), "committed output records");
    for (int i = 0; i < n; i++) Check.that(values.contains("IN-" + i), "output IN-" + i);
    List<ConsumerRecord<String, String>> all = readAll(out, 2, "read_uncommitted");
    long abortedSeen = all.stream().filter(r -> r.value().startsWith("aborted-")).count();
    Check.equal(10L, abortedSeen, "aborted records visible to read_uncommitted");
    Map<TopicPartition, OffsetAndMetadata> groupOffsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    long total = groupOffsets.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
    Check.equal((long) n, total, "offsets committed through the transaction");
    return n + " records transformed exactly once, 10 aborted hidden";
  }

  static String classicGroup(Admin admin) throws Exception {
    String t = topic("group"), group = topic("group-g");
    createTopic(admin, t, 4, Map.of());
    int n = 400;
    try (KafkaProducer<String, String> p = producer(Map.of())) {
      for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(t, "k" + i, "v" + i));
      p.flush();
    }
    Map<String, Object> cfg = Map.of("group.id", group, "group.protocol", "classic", "max.poll.records", "20");
    Set<String> values = new HashSet<>();
    int[] counts = new int[2];
    try (KafkaConsumer<String, String> a = consumer(cfg); KafkaConsumer<String, String> b = consumer(cfg)) {
      a.subscribe(List.of(t));
      b.subscribe(List.of(t));
      List<KafkaConsumer<String, String>> cs = List.of(a, b);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      // Poll both in turn until both hold partitions and everything was consumed.
      while (values.size() < n || a.assignment().isEmpty() || b.assignment().isEmpty()) {
        Check.that(System.nanoTime() < deadline, "timed out: " + values.size() + "/" + n + " assignments " + a.assignment() + " " + b.assignment());
        for (int i = 0; i < 2; i++) {
          for (ConsumerRecord<String, String> r : cs.get(i).poll(Duration.ofMillis(100))) {
            values.add(r.value());
            counts[i]++;
          }
          cs.get(i).commitSync();
        }
      }
      Set<TopicPartition> union = new HashSet<>(a.assignment());
      Check.that(Collections.disjoint(a.assignment(), b.assignment()), "assignments overlap: " + a.assignment() + " " + b.assignment());
      union.addAll(b.assignment());
      Check.equal(4, union.size(), "partitions assigned");
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group);
      Check.equal(2, d.members().size(), "members described");
      Check.equal("range", d.partitionAssignor(), "assignor");
      return "members " + a.assignment().size() + "+" + b.assignment().size() + " partitions, records " + counts[0] + "+" + counts[1];
    }
  }

  static String adminTopics(Admin admin) throws Exception {
    String t = topic("admin-topic");
    CreateTopicsResult cr = admin.createTopics(List.of(new NewTopic(t, 2, (short) 1).configs(Map.of("cleanup.policy", "compact", "retention.ms", "3600000"))));
    cr.all().get(30, TimeUnit.SECONDS);
    Check.equal(2, cr.numPartitions(t).get(), "numPartitions from CreateTopics");
    Uuid id = cr.topicId(t).get();
    Check.that(id != null && !id.equals(Uuid.ZERO_UUID), "topic id");
    try {
      admin.createTopics(List.of(new NewTopic(t, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
      throw new Check.Failure("creating an existing topic succeeded");
    } catch (java.util.concurrent.ExecutionException e) {
      Check.that(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException, "TopicExistsException, got " + e.getCause());
    }
    Check.that(admin.listTopics().names().get().contains(t), "listTopics has the topic");
    Check.that(!admin.listTopics().names().get().contains("__consumer_offsets"), "internal topics hidden by default");
    admin.createPartitions(Map.of(t, NewPartitions.increaseTo(5))).all().get(30, TimeUnit.SECONDS);
    TopicDescription d = admin.describeTopics(List.of(t)).allTopicNames().get(30, TimeUnit.SECONDS).get(t);
    Check.equal(5, d.partitions().size(), "partitions after createPartitions");
    Check.equal(id, d.topicId(), "described topic id");
    for (TopicPartitionInfo p : d.partitions()) {
      Check.that(p.leader() != null && p.replicas().size() == 1 && p.isr().size() == 1, "partition " + p.partition() + " leader/replicas/isr");
    }
    TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get(30, TimeUnit.SECONDS).get(id);
    Check.equal(t, byId.name(), "describe by id");
    try {
      admin.describeTopics(List.of(topic("no-such-topic"))).allTopicNames().get(30, TimeUnit.SECONDS);
      throw new Check.Failure("describing a missing topic succeeded");
    } catch (java.util.concurrent.ExecutionException e) {
      Check.that(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException, "UnknownTopicOrPartitionException, got " + e.getCause());
    }
    // Many partitions: describeTopics pages through DescribeTopicPartitions where it is advertised.
    String big = topic("admin-many");
    createTopic(admin, big, 120, Map.of());
    Check.equal(120, admin.describeTopics(List.of(big)).allTopicNames().get(30, TimeUnit.SECONDS).get(big).partitions().size(), "120 partitions described");
    admin.deleteTopics(List.of(t, big)).all().get(30, TimeUnit.SECONDS);
    Check.waitFor(() -> {
      try { return !admin.listTopics().names().get().contains(t); } catch (Exception e) { return false; }
    }, T, "topic gone after deleteTopics");
    return "create/list/describe(by name, by id, 120 partitions)/partitions/delete";
  }

  static String adminConfigs(Admin admin) throws Exception {
    String t = topic("admin-configs");
    createTopic(admin, t, 1, Map.of("retention.ms", "7200000"));
    ConfigResource tr = new ConfigResource(ConfigResource.Type.TOPIC, t);
    Config c = admin.describeConfigs(List.of(tr)).all().get(30, TimeUnit.SECONDS).get(tr);
    Check.equal("7200000", c.get("retention.ms").value(), "retention.ms");
    Check.equal(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, c.get("retention.ms").source(), "retention.ms source");
    Check.that(c.get("cleanup.policy") != null && "delete".equals(c.get("cleanup.policy").value()), "default cleanup.policy");
    admin.incrementalAlterConfigs(Map.of(tr, List.of(
        new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET),
        new AlterConfigOp(new ConfigEntry("retention.ms", null), AlterConfigOp.OpType.DELETE)))).all().get(30, TimeUnit.SECONDS);
    c = admin.describeConfigs(List.of(tr)).all().get(30, TimeUnit.SECONDS).get(tr);
    Check.equal("compact", c.get("cleanup.policy").value(), "cleanup.policy after SET");
    Check.that(c.get("retention.ms").source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "retention.ms back to default");
    admin.incrementalAlterConfigs(Map.of(tr, List.of(new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.APPEND)))).all().get(30, TimeUnit.SECONDS);
    c = admin.describeConfigs(List.of(tr)).all().get(30, TimeUnit.SECONDS).get(tr);
    Check.equal("compact,delete", c.get("cleanup.policy").value(), "cleanup.policy after APPEND");
    try {
      admin.incrementalAlterConfigs(Map.of(tr, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "banana"), AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
      throw new Check.Failure("an invalid value was accepted");
    } catch (java.util.concurrent.ExecutionException e) {
      Check.that(e.getCause() instanceof org.apache.kafka.common.errors.InvalidConfigurationException
          || e.getCause() instanceof org.apache.kafka.common.errors.InvalidRequestException, "invalid config error, got " + e.getCause());
    }
    // AlterConfigs, the non-incremental form: Admin.alterConfigs is gone from 4.x, 3.9 still has it.
    // It replaces the whole set of overrides.
    String legacy = "";
    java.lang.reflect.Method alterConfigs = null;
    for (java.lang.reflect.Method m : Admin.class.getMethods()) if (m.getName().equals("alterConfigs") && m.getParameterCount() == 1) alterConfigs = m;
    if (alterConfigs != null) {
      Object res = alterConfigs.invoke(admin, Map.of(tr, new Config(List.of(new ConfigEntry("retention.ms", "1000")))));
      ((KafkaFuture<?>) res.getClass().getMethod("all").invoke(res)).get(30, TimeUnit.SECONDS);
      c = admin.describeConfigs(List.of(tr)).all().get(30, TimeUnit.SECONDS).get(tr);
      Check.equal("1000", c.get("retention.ms").value(), "retention.ms after alterConfigs");
      Check.equal("delete", c.get("cleanup.policy").value(), "alterConfigs replaced the other overrides");
      legacy = ", legacy alterConfigs";
    }
    Node node = admin.describeCluster().nodes().get().iterator().next();
    ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, node.idString());
    Config bc = admin.describeConfigs(List.of(br), new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true)).all().get(30, TimeUnit.SECONDS).get(br);
    Check.that(bc.get("num.partitions") != null, "broker config num.partitions described");
    Check.that(bc.get("log.retention.hours") != null || bc.get("log.retention.ms") != null, "broker retention described");
    // A dynamic broker config, set and removed.
    admin.incrementalAlterConfigs(Map.of(br, List.of(new AlterConfigOp(new ConfigEntry("message.max.bytes", "2000000"), AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
    bc = admin.describeConfigs(List.of(br)).all().get(30, TimeUnit.SECONDS).get(br);
    Check.equal("2000000", bc.get("message.max.bytes").value(), "dynamic message.max.bytes");
    admin.incrementalAlterConfigs(Map.of(br, List.of(new AlterConfigOp(new ConfigEntry("message.max.bytes", null), AlterConfigOp.OpType.DELETE)))).all().get(30, TimeUnit.SECONDS);
    return "describe (topic, broker with synonyms), incremental SET/DELETE/APPEND, invalid value refused" + legacy;
  }

  static String adminOffsetsAndRecords(Admin admin) throws Exception {
    String t = topic("admin-offsets");
    createTopic(admin, t, 1, Map.of());
    TopicPartition tp = new TopicPartition(t, 0);
    long base = System.currentTimeMillis() - 100_000;
    try (KafkaProducer<String, String> p = producer(Map.of())) {
      for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(t, 0, base + i * 1000L, "k", "v" + i)).get();
    }
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> r;
    r = admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get(30, TimeUnit.SECONDS);
    Check.equal(0L, r.get(tp).offset(), "earliest");
    r = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS);
    Check.equal(10L, r.get(tp).offset(), "latest");
    r = admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 4500))).all().get(30, TimeUnit.SECONDS);
    Check.equal(5L, r.get(tp).offset(), "offset for timestamp");
    r = admin.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all().get(30, TimeUnit.SECONDS);
    Check.equal(9L, r.get(tp).offset(), "offset of max timestamp");
    Check.equal(base + 9000, r.get(tp).timestamp(), "max timestamp");
    r = admin.listOffsets(Map.of(tp, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(30, TimeUnit.SECONDS);
    Check.equal(10L, r.get(tp).offset(), "latest read_committed");
    DeletedRecords dr = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get(30, TimeUnit.SECONDS);
    Check.equal(4L, dr.lowWatermark(), "low watermark after deleteRecords");
    r = admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get(30, TimeUnit.SECONDS);
    Check.equal(4L, r.get(tp).offset(), "earliest after deleteRecords");
    try {
      admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(50))).all().get(30, TimeUnit.SECONDS);
      throw new Check.Failure("deleting past the end succeeded");
    } catch (java.util.concurrent.ExecutionException e) {
      Check.that(e.getCause() instanceof org.apache.kafka.common.errors.OffsetOutOfRangeException, "OffsetOutOfRangeException, got " + e.getCause());
    }
    return "earliest/latest/timestamp/maxTimestamp/read_committed, deleteRecords";
  }

  @SuppressWarnings("deprecation")
  static String adminGroups(Admin admin) throws Exception {
    String t = topic("admin-groups"), group = topic("admin-group");
    createTopic(admin, t, 2, Map.of());
    try (KafkaProducer<String, String> p = producer(Map.of())) {
      for (int i = 0; i < 20; i++) p.send(new ProducerRecord<>(t, i % 2, "k", "v" + i));
      p.flush();
    }
    try (KafkaConsumer<String, String> c = consumer(Map.of("group.id", group))) {
      c.subscribe(List.of(t));
      int got = 0;
      long deadline = System.nanoTime() + T.toNanos();
      while (got < 20) {
        Check.that(System.nanoTime() < deadline, "timed out consuming");
        got += c.poll(Duration.ofMillis(200)).count();
      }
      c.commitSync();
      Collection<ConsumerGroupListing> listed = admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS);
      Check.that(listed.stream().anyMatch(g -> g.groupId().equals(group)), "listConsumerGroups has the group");
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group);
      Check.equal(1, d.members().size(), "one member");
      Check.equal(2, d.members().iterator().next().assignment().topicPartitions().size(), "member assignment");
      Check.that(d.coordinator() != null, "coordinator described");
      try {
        admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
        throw new Check.Failure("deleting a non-empty group succeeded");
      } catch (java.util.concurrent.ExecutionException e) {
        Check.that(e.getCause() instanceof org.apache.kafka.common.errors.GroupNotEmptyException, "GroupNotEmptyException, got " + e.getCause());
      }
    }
    TopicPartition p0 = new TopicPartition(t, 0), p1 = new TopicPartition(t, 1);
    Map<TopicPartition, OffsetAndMetadata> offs = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    Check.equal(10L, offs.get(p0).offset(), "committed offset p0");
    Check.equal(10L, offs.get(p1).offset(), "committed offset p1");
    admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(3, "reset"))).all().get(30, TimeUnit.SECONDS);
    offs = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    Check.equal(3L, offs.get(p0).offset(), "altered offset");
    Check.equal("reset", offs.get(p0).metadata(), "offset metadata");
    admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get(30, TimeUnit.SECONDS);
    offs = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
    Check.that(!offs.containsKey(p1) || offs.get(p1) == null, "offset of p1 deleted: " + offs);
    admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
    Collection<ConsumerGroupListing> after = admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS);
    Check.that(after.stream().noneMatch(g -> g.groupId().equals(group)), "group gone after delete");
    return "list/describe/offsets list-alter-delete/delete (and GroupNotEmpty)";
  }

  static String adminClusterAndLogDirs(Admin admin) throws Exception {
    DescribeClusterResult dc = admin.describeCluster();
    Collection<Node> nodes = dc.nodes().get(30, TimeUnit.SECONDS);
    Check.equal(1, nodes.size(), "one node");
    Node n = nodes.iterator().next();
    Check.equal(n, dc.controller().get(), "controller");
    Check.that(dc.clusterId().get() != null && !dc.clusterId().get().isEmpty(), "cluster id");
    String t = topic("admin-logdirs");
    createTopic(admin, t, 2, Map.of());
    try (KafkaProducer<String, String> p = producer(Map.of())) {
      for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(t, 0, "k", "x".repeat(100))).get();
    }
    Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(n.id())).allDescriptions().get(30, TimeUnit.SECONDS).get(n.id());
    Check.that(!dirs.isEmpty(), "a log dir");
    LogDirDescription dir = dirs.values().iterator().next();
    Check.that(dir.error() == null, "log dir error " + dir.error());
    ReplicaInfo ri = dir.replicaInfos().get(new TopicPartition(t, 0));
    Check.that(ri != null && ri.size() > 1000, "replica size of " + t + "-0: " + ri);
    TopicPartitionReplica rep = new TopicPartitionReplica(t, 0, n.id());
    DescribeReplicaLogDirsResult.ReplicaLogDirInfo rl = admin.describeReplicaLogDirs(List.of(rep)).all().get(30, TimeUnit.SECONDS).get(rep);
    Check.equal(dirs.keySet().iterator().next(), rl.getCurrentReplicaLogDir(), "replica log dir");
    FeatureMetadata fm = admin.describeFeatures().featureMetadata().get(30, TimeUnit.SECONDS);
    Check.that(fm != null, "features");
    return "describeCluster, describeLogDirs, describeReplicaLogDirs, describeFeatures";
  }

  static String adminQuotas(Admin admin) throws Exception {
    ClientQuotaEntity e = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, topic("quota-client")));
    admin.alterClientQuotas(List.of(new ClientQuotaAlteration(e, List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1048576.0))))).all().get(30, TimeUnit.SECONDS);
    Map<ClientQuotaEntity, Map<String, Double>> q = admin.describeClientQuotas(ClientQuotaFilter.containsOnly(List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, topic("quota-client"))))).entities().get(30, TimeUnit.SECONDS);
    Check.equal(Map.of("producer_byte_rate", 1048576.0), q.get(e), "quota described");
    admin.alterClientQuotas(List.of(new ClientQuotaAlteration(e, List.of(new ClientQuotaAlteration.Op("producer_byte_rate", null))))).all().get(30, TimeUnit.SECONDS);
    q = admin.describeClientQuotas(ClientQuotaFilter.all()).entities().get(30, TimeUnit.SECONDS);
    Check.that(!q.containsKey(e), "quota removed");
    return "alter/describe/remove client quota";
  }

  static String adminTransactions(Admin admin) throws Exception {
    String t = topic("admin-txn"), txId = topic("admin-txn-id");
    createTopic(admin, t, 1, Map.of());
    TopicPartition tp = new TopicPartition(t, 0);
    try (KafkaProducer<String, String> p = producer(Map.of("transactional.id", txId))) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>(t, 0, "k", "open")).get();
      Collection<TransactionListing> listed = admin.listTransactions().all().get(30, TimeUnit.SECONDS);
      TransactionListing l = listed.stream().filter(x -> x.transactionalId().equals(txId)).findFirst().orElseThrow(() -> new Check.Failure("listTransactions lacks " + txId));
      Check.equal(TransactionState.ONGOING, l.state(), "listed state");
      TransactionDescription d = admin.describeTransactions(List.of(txId)).all().get(30, TimeUnit.SECONDS).get(txId);
      Check.equal(TransactionState.ONGOING, d.state(), "described state");
      Check.that(d.topicPartitions().contains(tp), "described partitions " + d.topicPartitions());
      DescribeProducersResult.PartitionProducerState ps = admin.describeProducers(List.of(tp)).all().get(30, TimeUnit.SECONDS).get(tp);
      Check.equal(1, ps.activeProducers().size(), "active producers");
      ProducerState s = ps.activeProducers().get(0);
      Check.equal(d.producerId(), s.producerId(), "producer id");
      Check.equal(OptionalLong.of(0), s.currentTransactionStartOffset(), "transaction start offset");
      p.commitTransaction();
    }
    TransactionDescription done = admin.describeTransactions(List.of(txId)).all().get(30, TimeUnit.SECONDS).get(txId);
    Check.that(done.state() == TransactionState.COMPLETE_COMMIT || done.state() == TransactionState.EMPTY, "state after commit " + done.state());
    // A hanging transaction ended by hand (what kafka-transactions abort does).
    try (KafkaProducer<String, String> p = producer(Map.of("transactional.id", topic("admin-txn-hang"), "transaction.timeout.ms", "600000"))) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>(t, 0, "k", "hanging")).get();
      DescribeProducersResult.PartitionProducerState ps = admin.describeProducers(List.of(tp)).all().get(30, TimeUnit.SECONDS).get(tp);
      ProducerState s = ps.activeProducers().stream().filter(x -> x.currentTransactionStartOffset().isPresent()).findFirst().orElseThrow();
      admin.abortTransaction(new AbortTransactionSpec(tp, s.producerId(), (short) s.producerEpoch(), s.coordinatorEpoch().orElse(-1))).all().get(30, TimeUnit.SECONDS);
      ListOffsetsResult.ListOffsetsResultInfo lso = admin.listOffsets(Map.of(tp, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(30, TimeUnit.SECONDS).get(tp);
      ListOffsetsResult.ListOffsetsResultInfo hw = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS).get(tp);
      Check.equal(hw.offset(), lso.offset(), "last stable offset released by the abort");
    }
    return "listTransactions, describeTransactions, describeProducers, abortTransaction";
  }

  static String adminElectAndReassign(Admin admin) throws Exception {
    String t = topic("admin-elect");
    createTopic(admin, t, 2, Map.of());
    TopicPartition tp = new TopicPartition(t, 0);
    Map<TopicPartition, Optional<Throwable>> e = admin.electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions().get(30, TimeUnit.SECONDS);
    Check.that(e.containsKey(tp), "election result for " + tp);
    Check.that(e.get(tp).isEmpty() || e.get(tp).get() instanceof org.apache.kafka.common.errors.ElectionNotNeededException, "preferred election: " + e.get(tp));
    int node = admin.describeCluster().nodes().get().iterator().next().id();
    admin.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(List.of(node))))).all().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, PartitionReassignment> ongoing = admin.listPartitionReassignments().reassignments().get(30, TimeUnit.SECONDS);
    Check.that(!ongoing.containsKey(tp), "no ongoing reassignment on a single node: " + ongoing);
    return "electLeaders(PREFERRED), alter/listPartitionReassignments";
  }
}
