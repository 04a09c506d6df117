package tributary.compat;

import java.io.File;
import java.io.FileReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateDelegationTokenOptions;
import org.apache.kafka.clients.admin.ExpireDelegationTokenOptions;
import org.apache.kafka.clients.admin.RenewDelegationTokenOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.token.delegation.DelegationToken;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client over Tributary's secured listeners, in one JVM: each `<name>.properties` file of
 * the directory given is one check printing a RESULT line (Check.run). A file holds client
 * settings (security.protocol, ssl.*, sasl.*) and `check.*` keys saying what to do:
 * <ul>
 *   <li>default: produce one record to `check.topic` and consume it back;</li>
 *   <li>`check.expect=auth-failure`: an admin call must fail with SaslAuthenticationException;</li>
 *   <li>`check.reauth=true`: a producer keeps sending on a listener with a short
 *       connections.max.reauth.ms until its connection has re-authenticated (KIP-368), every send
 *       succeeding;</li>
 *   <li>`check.token=true`: the admin settings (`admin.*`) create a delegation token, a client
 *       authenticates with it (SCRAM, tokenauth) from the `token.*` settings and produces and
 *       consumes, describes, renews, cannot create tokens with the token, expires it, and then
 *       the token no longer authenticates.</li>
 * </ul>
 */
public final class SecurityClients {
  private SecurityClients() {}

  public static void main(String[] args) throws Exception {
    File[] files = new File(args[0]).listFiles((d, n) -> n.endsWith(".properties"));
    Arrays.sort(files);
    boolean ok = true;
    for (File f : files) {
      Properties p = new Properties();
      try (FileReader r = new FileReader(f)) {
        p.load(r);
      }
      String name = f.getName().replace(".properties", "");
      if ("true".equals(p.getProperty("check.token"))) ok &= Check.run(name, () -> tokenFlow(p));
      else if ("true".equals(p.getProperty("check.reauth"))) ok &= Check.run(name, () -> reauthenticates(settings(p, ""), p.getProperty("check.topic")));
      else if ("auth-failure".equals(p.getProperty("check.expect"))) ok &= Check.run(name, () -> authFails(settings(p, "")));
      else ok &= Check.run(name, () -> roundTrip(settings(p, ""), p.getProperty("check.topic"), name));
    }
    System.exit(ok ? 0 : 1);
  }

  /** The client settings of a file: keys with the prefix (stripped), never the check.* ones. */
  static Properties settings(Properties p, String prefix) {
    Properties out = new Properties();
    for (String k : p.stringPropertyNames()) {
      if (k.startsWith("check.")) continue;
      if (prefix.isEmpty() ? (!k.startsWith("admin.") && !k.startsWith("token.")) : k.startsWith(prefix)) out.setProperty(k.substring(prefix.length()), p.getProperty(k));
    }
    return out;
  }

  static String roundTrip(Properties base, String topic, String value) throws Exception {
    Properties pp = new Properties();
    pp.putAll(base);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    pp.put("acks", "all");
    pp.put("delivery.timeout.ms", "20000");
    pp.put("request.timeout.ms", "10000");
    long offset;
    long t0 = System.nanoTime();
    long sent;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      offset = producer.send(new ProducerRecord<>(topic, "k", value)).get(30, TimeUnit.SECONDS).offset();
      sent = System.nanoTime();
    }
    long closed = System.nanoTime();
    Properties cp = new Properties();
    cp.putAll(base);
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    cp.put("enable.auto.commit", "false");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(Collections.singletonList(tp));
      consumer.seek(tp, offset);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          Check.equal(value, r.value(), "the record consumed back");
          return "offset " + offset + " (produce " + (sent - t0) / 1_000_000 + " ms, producer close " + (closed - sent) / 1_000_000 + " ms, consume " + (System.nanoTime() - closed) / 1_000_000 + " ms)";
        }
      }
    }
    throw new Check.Failure("the record produced at offset " + offset + " was not consumed back");
  }

  static String reauthenticates(Properties base, String topic) throws Exception {
    Properties pp = new Properties();
    pp.putAll(base);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    pp.put("acks", "all");
    pp.put("delivery.timeout.ms", "20000");
    pp.put("request.timeout.ms", "10000");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      int sent = 0;
      while (System.nanoTime() < deadline) {
        producer.send(new ProducerRecord<>(topic, "k", "r" + sent)).get(20, TimeUnit.SECONDS);
        sent++;
        double reauths = 0;
        for (java.util.Map.Entry<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> e : producer.metrics().entrySet()) {
          if (e.getKey().name().equals("successful-reauthentication-total") && e.getKey().group().equals("producer-metrics")) reauths = (Double) e.getValue().metricValue();
        }
        if (reauths >= 1) return sent + " sends, " + (long) reauths + " re-authentication(s)";
        Thread.sleep(200);
      }
      throw new Check.Failure("no re-authentication within 30 s (" + sent + " sends)");
    }
  }

  static String authFails(Properties base) throws Exception {
    Properties ap = new Properties();
    ap.putAll(base);
    ap.put("default.api.timeout.ms", "15000");
    ap.put("request.timeout.ms", "10000");
    try (Admin admin = Admin.create(ap)) {
      admin.describeCluster().clusterId().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Check.that(e.getCause() instanceof SaslAuthenticationException, "expected SaslAuthenticationException, got " + e.getCause());
      return e.getCause().getMessage();
    }
    throw new Check.Failure("the client authenticated");
  }

  static String tokenFlow(Properties p) throws Exception {
    Properties ap = settings(p, "admin.");
    ap.put("default.api.timeout.ms", "20000");
    ap.put("request.timeout.ms", "10000");
    String topic = p.getProperty("check.topic");
    List<String> done = new ArrayList<>();
    try (Admin admin = Admin.create(ap)) {
      DelegationToken token = admin.createDelegationToken(new CreateDelegationTokenOptions().maxLifetimeMs(3_600_000)).delegationToken().get();
      Check.equal("User:" + p.getProperty("check.owner"), token.tokenInfo().owner().toString(), "the token owner");
      Properties tp = settings(p, "token.");
      tp.put(
          "sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
              + token.tokenInfo().tokenId()
              + "\" password=\""
              + token.hmacAsBase64String()
              + "\" tokenauth=\"true\";");
      roundTrip(tp, topic, "with-token");
      done.add("produced and consumed with the token");

      List<DelegationToken> described = admin.describeDelegationToken().delegationTokens().get();
      Check.that(described.stream().anyMatch(t -> t.tokenInfo().tokenId().equals(token.tokenInfo().tokenId())), "describe lists the token");
      long before = token.tokenInfo().expiryTimestamp();
      long renewed = admin.renewDelegationToken(token.hmac(), new RenewDelegationTokenOptions().renewTimePeriodMs(120_000)).expiryTimestamp().get();
      Check.that(renewed > System.currentTimeMillis() + 100_000 && renewed <= System.currentTimeMillis() + 120_000, "renewed for 120 s: " + renewed + " (was " + before + ")");
      done.add("described and renewed");

      // A connection authenticated with a token may not create tokens (DELEGATION_TOKEN_REQUEST_NOT_ALLOWED).
      Properties tap = new Properties();
      tap.putAll(tp);
      tap.put("default.api.timeout.ms", "15000");
    tap.put("request.timeout.ms", "10000");
      try (Admin tokenAdmin = Admin.create(tap)) {
        tokenAdmin.createDelegationToken().delegationToken().get();
        throw new Check.Failure("a token-authenticated admin created a token");
      } catch (ExecutionException e) {
        Check.that(e.getCause().getClass().getSimpleName().equals("UnsupportedByAuthenticationException"), "expected UnsupportedByAuthenticationException, got " + e.getCause());
      }
      done.add("the token cannot create tokens");

      admin.expireDelegationToken(token.hmac(), new ExpireDelegationTokenOptions().expiryTimePeriodMs(-1)).expiryTimestamp().get();
      authFails(tap);
      done.add("expired, then refused");
    }
    return String.join("; ", done);
  }
}
