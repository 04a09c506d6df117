// Kafka's ConfigSource codes as DescribeConfigs answers them (org.apache.kafka.common.requests.
// DescribeConfigsResponse.ConfigSource), by the names kafka-configs prints: the client library
// and the admin API show them alike.

export const CONFIG_SOURCE_NAMES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  // The wire enum says CLIENT_METRICS_CONFIG and GROUP_CONFIG; the admin client and its tools
  // (ConfigEntry.ConfigSource) print these.
  7: 'DYNAMIC_CLIENT_METRICS_CONFIG',
  8: 'DYNAMIC_GROUP_CONFIG',
};

/** A ConfigSource code's name; an unknown code as its number. */
export const configSourceName = (code: number): string => CONFIG_SOURCE_NAMES[code] ?? String(code);
