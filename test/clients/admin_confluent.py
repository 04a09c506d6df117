"""Topic administration through confluent-kafka-python's AdminClient (librdkafka): create,
partitions, configs, with the error cases. Prints one JSON summary line."""
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})
out = {}


def error_name(future):
    try:
        future.result(15)
        return "NONE"
    except KafkaException as e:
        return e.args[0].name()


out["create"] = error_name(admin.create_topics([NewTopic(topic, 2, 1, config={"retention.ms": "3600000"})])[topic])
out["create_again"] = error_name(admin.create_topics([NewTopic(topic, 2, 1)])[topic])
out["create_bad_config"] = error_name(admin.create_topics([NewTopic(topic + "-bad", 1, 1, config={"retention.ms": "soon"})])[topic + "-bad"])

out["grow"] = error_name(admin.create_partitions([NewPartitions(topic, 4)])[topic])
out["shrink"] = error_name(admin.create_partitions([NewPartitions(topic, 3)])[topic])
out["grow_validate_only"] = error_name(admin.create_partitions([NewPartitions(topic, 8)], validate_only=True)[topic])
out["partitions"] = len(admin.list_topics(topic, timeout=10).topics[topic].partitions)
out["grow_unknown"] = error_name(admin.create_partitions([NewPartitions(topic + "-nope", 4)])[topic + "-nope"])

resource = ConfigResource("topic", topic)
configs = admin.describe_configs([resource])[resource].result(15)
out["retention_ms"] = configs["retention.ms"].value
out["retention_source"] = configs["retention.ms"].source
out["segment_bytes_default"] = configs["segment.bytes"].is_default

alter = ConfigResource("topic", topic, set_config={"retention.ms": "7200000", "cleanup.policy": "compact"})
out["alter"] = error_name(admin.alter_configs([alter])[alter])
configs = admin.describe_configs([resource])[resource].result(15)
out["retention_after"] = configs["retention.ms"].value
out["policy_after"] = configs["cleanup.policy"].value

bad = ConfigResource("topic", topic, set_config={"retention.ms": "soon"})
out["alter_bad"] = error_name(admin.alter_configs([bad])[bad])
unknown = ConfigResource("topic", topic + "-nope")
out["describe_unknown"] = error_name(admin.describe_configs([unknown])[unknown])
broker = ConfigResource("broker", "1")
out["broker_num_partitions"] = admin.describe_configs([broker])[broker].result(15)["num.partitions"].value
print(json.dumps(out))
