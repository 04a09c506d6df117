package tributary.compat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.mirror.RemoteClusterUtils;

/**
 * What a Kafka user on the target cluster asks MirrorMaker 2's client library: the upstream
 * clusters it sees (from the heartbeats), how many hops away the source is, and a consumer group's
 * offsets translated from the source's checkpoints. One line per answer on stdout:
 *   UPSTREAM <alias>
 *   HOPS <n>
 *   OFFSET <topic> <partition> <offset>
 * Arguments: target bootstrap servers, source cluster alias, consumer group.
 */
public final class MirrorOffsets {
  public static void main(String[] args) throws Exception {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", args[0]);
    for (String upstream : RemoteClusterUtils.upstreamClusters(props)) System.out.println("UPSTREAM " + upstream);
    System.out.println("HOPS " + RemoteClusterUtils.replicationHops(props, args[1]));
    Map<TopicPartition, OffsetAndMetadata> translated = RemoteClusterUtils.translateOffsets(props, args[1], args[2], Duration.ofSeconds(30));
    Map<String, Long> sorted = new TreeMap<>();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : translated.entrySet()) {
      sorted.put(e.getKey().topic() + " " + e.getKey().partition(), e.getValue().offset());
    }
    for (Map.Entry<String, Long> e : sorted.entrySet()) System.out.println("OFFSET " + e.getKey() + " " + e.getValue());
    System.out.flush();
  }
}
