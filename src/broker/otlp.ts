// Decodes the OpenTelemetry metrics payload of a KIP-714 PushTelemetry request (an OTLP
// `MetricsData` protobuf message) into flat samples. protobufjs (loaded on first use, so a broker
// that never receives telemetry does not carry it) reads the message against the subset of
// opentelemetry/proto/metrics/v1/metrics.proto written out below: the field numbers are the OTLP
// wire format's.
import type { Root, Type } from 'protobufjs';

const METRICS_PROTO = `
syntax = "proto3";
package otlp;
message MetricsData { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
  repeated KeyValue metadata = 12;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { int32 aggregation_temporality = 2; }
message Summary { }
message NumberDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  uint32 flags = 8;
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  uint32 flags = 10; optional double min = 11; optional double max = 12;
}
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
`;

/** One decoded data point. Histograms give their cumulative buckets, sum and count. */
export interface OtlpSample {
  /** The metric's OTLP name, e.g. org.apache.kafka.producer.record.queue.time.avg. */
  name: string;
  description: string;
  kind: 'gauge' | 'counter' | 'histogram';
  /** The data point's attributes (and none of the resource's). */
  attributes: Record<string, string>;
  value: number;
  /** Histograms only. */
  histogram?: { bounds: number[]; counts: number[]; sum: number; count: number };
}

export interface OtlpMetrics {
  /** Resource attributes (client_id, client_instance_id, ... as the client sets them). */
  resource: Record<string, string>;
  samples: OtlpSample[];
}

let metricsData: Promise<Type> | null = null;

function loadType(): Promise<Type> {
  metricsData ??= import('protobufjs').then((mod) => {
    const protobuf = (mod as unknown as { default?: typeof mod }).default ?? mod;
    const root: Root = protobuf.parse(METRICS_PROTO, { keepCase: true }).root;
    return root.lookupType('otlp.MetricsData');
  });
  return metricsData;
}

interface AnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: number | { toNumber(): number };
  double_value?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
type Long = number | { toNumber(): number } | undefined;

const num = (v: Long): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

function attributes(list: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const v = kv.value;
    if (!v) continue;
    if (v.string_value !== undefined) out[kv.key] = v.string_value;
    else if (v.bool_value !== undefined) out[kv.key] = String(v.bool_value);
    else if (v.int_value !== undefined) out[kv.key] = String(num(v.int_value));
    else if (v.double_value !== undefined) out[kv.key] = String(v.double_value);
  }
  return out;
}

interface NumberPoint {
  attributes?: KeyValue[];
  as_double?: number;
  as_int?: Long;
}
interface HistogramPoint {
  attributes?: KeyValue[];
  count?: Long;
  sum?: number;
  bucket_counts?: Long[];
  explicit_bounds?: number[];
}
interface Metric {
  name: string;
  description?: string;
  gauge?: { data_points?: NumberPoint[] };
  sum?: { data_points?: NumberPoint[]; aggregation_temporality?: number; is_monotonic?: boolean };
  histogram?: { data_points?: HistogramPoint[]; aggregation_temporality?: number };
}
interface MetricsData {
  resource_metrics?: { resource?: { attributes?: KeyValue[] }; scope_metrics?: { metrics?: Metric[] }[] }[];
}

/** OTLP AggregationTemporality: 1 delta, 2 cumulative. */
export const AGGREGATION_DELTA = 1;

/**
 * Decodes a MetricsData message. Throws on bytes that are not one (the caller answers
 * INVALID_RECORD). Delta sums and histograms are returned as they are; the caller asked the client
 * for cumulative ones (GetTelemetrySubscriptions delta_temporality=false).
 */
export async function decodeOtlpMetrics(payload: Uint8Array): Promise<OtlpMetrics> {
  const type = await loadType();
  const data = type.toObject(type.decode(payload), { longs: Number, defaults: false, arrays: true }) as MetricsData;
  const resource: Record<string, string> = {};
  const samples: OtlpSample[] = [];
  for (const rm of data.resource_metrics ?? []) {
    Object.assign(resource, attributes(rm.resource?.attributes));
    for (const sm of rm.scope_metrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const description = m.description ?? '';
        const point = (kind: 'gauge' | 'counter', p: NumberPoint) =>
          samples.push({ name: m.name, description, kind, attributes: attributes(p.attributes), value: p.as_double ?? num(p.as_int) });
        if (m.gauge) for (const p of m.gauge.data_points ?? []) point('gauge', p);
        else if (m.sum) for (const p of m.sum.data_points ?? []) point(m.sum.is_monotonic ? 'counter' : 'gauge', p);
        else if (m.histogram) {
          for (const p of m.histogram.data_points ?? []) {
            const counts = (p.bucket_counts ?? []).map(num);
            const cumulative: number[] = [];
            counts.reduce((acc, c) => (cumulative.push(acc + c), acc + c), 0);
            const count = num(p.count);
            samples.push({
              name: m.name,
              description,
              kind: 'histogram',
              attributes: attributes(p.attributes),
              value: count,
              histogram: { bounds: p.explicit_bounds ?? [], counts: cumulative, sum: p.sum ?? 0, count },
            });
          }
        }
      }
    }
  }
  return { resource, samples };
}
