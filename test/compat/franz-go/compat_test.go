// franz-go (kgo + kadm) against a running Tributary broker. The bootstrap address comes from
// TRIBUTARY_BOOTSTRAP; test/compat/franz-go/franz-go.test.ts starts the broker and runs `go test`.
// franz-go checks protocol details strictly: every failure here is a broker bug.
package compat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func bootstrap(t *testing.T) string {
	b := os.Getenv("TRIBUTARY_BOOTSTRAP")
	if b == "" {
		t.Skip("TRIBUTARY_BOOTSTRAP is not set (run through franz-go.test.ts)")
	}
	return b
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	all := append([]kgo.Opt{kgo.SeedBrokers(bootstrap(t)), kgo.ClientID("franz-go-compat")}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newAdmin(t *testing.T) *kadm.Client {
	return kadm.NewClient(newClient(t))
}

func createTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopics(ctxFor(t, 20*time.Second), partitions, 1, configs, topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp[topic].Err; err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// consumeAll reads records from the start of the given partitions until want records arrived.
func consumeAll(t *testing.T, want int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := newClient(t, opts...)
	ctx := ctxFor(t, 30*time.Second)
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", len(out), want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsumeEveryCodec(t *testing.T) {
	adm := newAdmin(t)
	codecs := map[string]kgo.CompressionCodec{
		"none":   kgo.NoCompression(),
		"gzip":   kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(),
		"lz4":    kgo.Lz4Compression(),
		"zstd":   kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "franz-codec-" + name
			createTopic(t, adm, topic, 3, nil)
			// Idempotence is franz-go's default: each batch carries a producer id and sequence.
			p := newClient(t, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(5*time.Millisecond))
			const n = 300
			recs := make([]*kgo.Record, n)
			for i := range recs {
				recs[i] = &kgo.Record{
					Key:     []byte(fmt.Sprintf("k%d", i%7)),
					Value:   []byte(strings.Repeat(fmt.Sprintf("value-%d-", i), 10)),
					Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(name)}},
				}
			}
			if err := p.ProduceSync(ctxFor(t, 30*time.Second), recs...).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			for _, r := range recs {
				if r.ProducerID < 0 {
					t.Fatalf("record produced without a producer id (idempotence off?)")
				}
			}
			got := consumeAll(t, n, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if len(got) != n {
				t.Fatalf("consumed %d records, want %d", len(got), n)
			}
			seen := map[string]bool{}
			perPartition := map[int32]int64{}
			for _, r := range got {
				if len(r.Headers) != 1 || string(r.Headers[0].Value) != name {
					t.Fatalf("headers %v", r.Headers)
				}
				if want, ok := perPartition[r.Partition]; ok && r.Offset != want {
					t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, want-1)
				}
				perPartition[r.Partition] = r.Offset + 1
				seen[string(r.Value)] = true
			}
			if len(seen) != n {
				t.Fatalf("%d distinct values, want %d", len(seen), n)
			}
			ends, err := adm.ListEndOffsets(ctxFor(t, 10*time.Second), topic)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
			if total != n {
				t.Fatalf("end offsets add up to %d, want %d", total, n)
			}
		})
	}
}

func TestConsumerGroupTwoMembers(t *testing.T) {
	adm := newAdmin(t)
	topic, group := "franz-group", "franz-group-g"
	createTopic(t, adm, topic, 6, nil)
	p := newClient(t, kgo.DefaultProduceTopic(topic))
	const n = 600
	for i := 0; i < n; i++ {
		p.Produce(context.Background(), &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))}, nil)
	}
	if err := p.Flush(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	assigned := map[string]map[int32]bool{}
	member := func(name string) *kgo.Client {
		return newClient(t,
			kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ClientID(name),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.Balancers(kgo.CooperativeStickyBalancer()),
			kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				if assigned[name] == nil {
					assigned[name] = map[int32]bool{}
				}
				for _, p := range m[topic] {
					assigned[name][p] = true
				}
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range m[topic] {
					delete(assigned[name], p)
				}
			}),
		)
	}
	a, b := member("member-a"), member("member-b")
	ctx := ctxFor(t, 60*time.Second)
	// Both members poll until every record was seen and both hold partitions.
	var wg sync.WaitGroup
	done := make(chan struct{})
	poll := func(cl *kgo.Client) {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			fs := cl.PollFetches(pctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				mu.Lock()
				seen[string(r.Value)]++
				mu.Unlock()
			})
			if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, kerr.RebalanceInProgress) {
				t.Errorf("commit: %v", err)
			}
		}
	}
	wg.Add(2)
	go poll(a)
	go poll(b)
	for ctx.Err() == nil {
		mu.Lock()
		ok := len(seen) == n && len(assigned["member-a"]) > 0 && len(assigned["member-b"]) > 0 && len(assigned["member-a"])+len(assigned["member-b"]) == 6
		mu.Unlock()
		if ok {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Fatalf("group consumed %d distinct records, want %d", len(seen), n)
	}
	if len(assigned["member-a"]) == 0 || len(assigned["member-b"]) == 0 {
		t.Fatalf("partitions not shared: %v", assigned)
	}
	for a := range assigned["member-a"] {
		if assigned["member-b"][a] {
			t.Fatalf("partition %d assigned to both members", a)
		}
	}

	described, err := adm.DescribeGroups(ctxFor(t, 10*time.Second), group)
	if err != nil {
		t.Fatal(err)
	}
	g := described[group]
	if g.Err != nil || g.State != "Stable" || len(g.Members) != 2 || g.Protocol != "cooperative-sticky" || g.ProtocolType != "consumer" {
		t.Fatalf("described group: state %q members %d protocol %q/%q err %v", g.State, len(g.Members), g.ProtocolType, g.Protocol, g.Err)
	}
	if parts := g.AssignedPartitions(); len(parts[topic]) != 6 {
		t.Fatalf("assigned partitions %v", parts)
	}
	listed, err := adm.ListGroups(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed[group]; !ok {
		t.Fatalf("ListGroups misses %s: %v", group, listed.Groups())
	}
	// Every record was processed and committed: the lag is zero on all six partitions.
	lags, err := adm.Lag(ctxFor(t, 10*time.Second), group)
	if err != nil {
		t.Fatal(err)
	}
	lag := lags[group]
	if lag.Error() != nil {
		t.Fatalf("lag: %v", lag.Error())
	}
	if total := lag.Lag.Total(); total != 0 {
		t.Fatalf("group lag %d after consuming everything", total)
	}
	// OffsetFetch with a null topic list: all of the group's topics.
	fetched, err := adm.FetchOffsets(ctxFor(t, 10*time.Second), group)
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Fatalf("fetched offset %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		committed += o.At
	})
	if len(fetched[topic]) != 6 || committed != n {
		t.Fatalf("fetched %d partitions adding up to %d, want 6 and %d", len(fetched[topic]), committed, n)
	}
}

// A transactional producer: committed and aborted transactions seen through read_committed.
func TestTransactionalProducer(t *testing.T) {
	adm := newAdmin(t)
	topic := "franz-txn"
	createTopic(t, adm, topic, 3, nil)
	p := newClient(t, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("franz-txn-producer"), kgo.TransactionTimeout(30*time.Second))
	ctx := ctxFor(t, 60*time.Second)
	write := func(prefix string, commit kgo.TransactionEndTry) {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		recs := make([]*kgo.Record, 30)
		for i := range recs {
			recs[i] = &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("%s-%d", prefix, i))}
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(ctx, commit); err != nil {
			t.Fatalf("end transaction (%s): %v", prefix, err)
		}
	}
	write("committed1", kgo.TryCommit)
	write("aborted", kgo.TryAbort)
	write("committed2", kgo.TryCommit)

	got := consumeAll(t, 60, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	for _, r := range got {
		if strings.HasPrefix(string(r.Value), "aborted") {
			t.Fatalf("read_committed returned an aborted record %q", r.Value)
		}
	}
	if len(got) != 60 {
		t.Fatalf("read_committed: %d records, want 60", len(got))
	}
	// The last stable offset reached the end: 90 records and 3 markers on 3 partitions.
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 90+9 {
		t.Fatalf("end offsets add up to %d, want 99 (90 records, a marker per partition per transaction)", total)
	}
	// read_uncommitted sees the aborted records too.
	all := consumeAll(t, 90, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if len(all) != 90 {
		t.Fatalf("read_uncommitted: %d records, want 90", len(all))
	}

	txns, err := adm.DescribeTransactions(ctx, "franz-txn-producer")
	if err != nil {
		t.Fatal(err)
	}
	d := txns["franz-txn-producer"]
	if d.Err != nil || d.State != "CompleteCommit" {
		t.Fatalf("described transaction: state %q err %v", d.State, d.Err)
	}
	listed, err := adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed["franz-txn-producer"]; !ok {
		t.Fatalf("ListTransactions misses the producer: %v", listed.TransactionalIDs())
	}
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}, 1: {}, 2: {}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	producers.EachProducer(func(dp kadm.DescribedProducer) {
		if dp.ProducerID == d.ProducerID {
			n++
		}
	})
	if n == 0 {
		t.Fatalf("DescribeProducers does not list producer %d", d.ProducerID)
	}
}

// Consume-transform-produce with GroupTransactSession: input offsets committed in the same
// transaction as the output (AddOffsetsToTxn, TxnOffsetCommit), exactly once.
func TestGroupTransactSession(t *testing.T) {
	adm := newAdmin(t)
	in, out, group := "franz-eos-in", "franz-eos-out", "franz-eos-group"
	createTopic(t, adm, in, 3, nil)
	createTopic(t, adm, out, 3, nil)
	p := newClient(t, kgo.DefaultProduceTopic(in))
	const n = 200
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))}
	}
	if err := p.ProduceSync(ctxFor(t, 20*time.Second), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	s, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(bootstrap(t)),
		kgo.DefaultProduceTopic(out),
		kgo.TransactionalID("franz-eos"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequireStableFetchOffsets(),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := ctxFor(t, 60*time.Second)
	processed := 0
	for processed < n && ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := s.PollFetches(pctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s/%d: %v", topic, p, err)
			}
		})
		if fs.NumRecords() == 0 {
			continue
		}
		if err := s.Begin(); err != nil {
			t.Fatal(err)
		}
		var outs []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			outs = append(outs, &kgo.Record{Key: r.Key, Value: []byte("x" + string(r.Value))})
		})
		if err := s.ProduceSync(ctx, outs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		committed, err := s.End(ctx, kgo.TryCommit)
		if err != nil {
			t.Fatalf("end: %v", err)
		}
		if committed {
			processed += len(outs)
		}
	}
	if processed != n {
		t.Fatalf("processed %d of %d", processed, n)
	}
	got := consumeAll(t, n, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	vals := map[string]bool{}
	for _, r := range got {
		vals[string(r.Value)] = true
	}
	if len(got) != n || len(vals) != n {
		t.Fatalf("output: %d records, %d distinct, want %d", len(got), len(vals), n)
	}
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != n {
		t.Fatalf("committed input offsets add up to %d, want %d", sum, n)
	}
}

func TestAdminTopicsPartitionsConfigs(t *testing.T) {
	adm := newAdmin(t)
	ctx := ctxFor(t, 30*time.Second)
	topic := "franz-admin"
	retention := "3600000"
	createTopic(t, adm, topic, 2, map[string]*string{"retention.ms": &retention})

	again, err := adm.CreateTopics(ctx, 2, 1, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(again[topic].Err, kerr.TopicAlreadyExists) {
		t.Fatalf("create again: %v", again[topic].Err)
	}
	validate, err := adm.ValidateCreateTopics(ctx, 4, 1, nil, "franz-admin-validate")
	if err != nil || validate["franz-admin-validate"].Err != nil {
		t.Fatalf("validate-only create: %v %v", err, validate["franz-admin-validate"].Err)
	}
	if listed, _ := adm.ListTopics(ctx, "franz-admin-validate"); listed.Has("franz-admin-validate") && listed["franz-admin-validate"].Err == nil {
		t.Fatalf("validate-only create made the topic")
	}

	grown, err := adm.CreatePartitions(ctx, 2, topic)
	if err != nil || grown[topic].Err != nil {
		t.Fatalf("create partitions: %v %v", err, grown[topic].Err)
	}
	shrink, err := adm.UpdatePartitions(ctx, 1, topic)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(shrink[topic].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrink: %v", shrink[topic].Err)
	}
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	td := md.Topics[topic]
	if td.Err != nil || len(td.Partitions) != 4 || td.ID == (kadm.TopicID{}) {
		t.Fatalf("metadata: %d partitions, id %v, err %v", len(td.Partitions), td.ID, td.Err)
	}

	rc, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rc.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]kadm.Config{}
	for _, cfg := range c.Configs {
		byKey[cfg.Key] = cfg
	}
	if r := byKey["retention.ms"]; r.Value == nil || *r.Value != retention || r.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms: %+v", r)
	}
	if s := byKey["segment.bytes"]; s.Value == nil || s.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("segment.bytes: %+v", s)
	}

	// IncrementalAlterConfigs: set, then delete back to the default.
	v := "compact"
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "cleanup.policy", Value: &v}, {Op: kadm.DeleteConfig, Name: "retention.ms"}}, topic)
	if err != nil || alter[0].Err != nil {
		t.Fatalf("incremental alter: %v %v", err, alter)
	}
	rc, _ = adm.DescribeTopicConfigs(ctx, topic)
	c, _ = rc.On(topic, nil)
	for _, cfg := range c.Configs {
		if cfg.Key == "cleanup.policy" && (cfg.Value == nil || *cfg.Value != "compact") {
			t.Fatalf("cleanup.policy after alter: %+v", cfg)
		}
		if cfg.Key == "retention.ms" && cfg.Source == kmsg.ConfigSourceDynamicTopicConfig {
			t.Fatalf("retention.ms still dynamic after delete: %+v", cfg)
		}
	}
	// The legacy AlterConfigs replaces the whole set.
	seg := "1048576"
	state, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: &seg}}, topic)
	if err != nil || state[0].Err != nil {
		t.Fatalf("alter state: %v %v", err, state)
	}
	rc, _ = adm.DescribeTopicConfigs(ctx, topic)
	c, _ = rc.On(topic, nil)
	for _, cfg := range c.Configs {
		if cfg.Key == "cleanup.policy" && cfg.Source == kmsg.ConfigSourceDynamicTopicConfig {
			t.Fatalf("AlterConfigs kept cleanup.policy: %+v", cfg)
		}
		if cfg.Key == "segment.bytes" && (cfg.Value == nil || *cfg.Value != seg) {
			t.Fatalf("segment.bytes after AlterConfigs: %+v", cfg)
		}
	}
	bad := "not-a-number"
	badAlter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &bad}}, topic)
	if err != nil || !errors.Is(badAlter[0].Err, kerr.InvalidConfig) {
		t.Fatalf("bad alter: %v %v", err, badAlter)
	}

	brokers, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := brokers.On("1", nil)
	if err != nil {
		// kadm names the broker resource by its id; find whatever it is.
		if len(brokers) != 1 {
			t.Fatalf("broker configs: %v", err)
		}
		bc = brokers[0]
	}
	found := false
	for _, cfg := range bc.Configs {
		if cfg.Key == "num.partitions" {
			found = true
			if cfg.Value == nil || *cfg.Value != "1" {
				t.Fatalf("num.partitions: %+v", cfg)
			}
		}
	}
	if !found {
		t.Fatalf("broker configs lack num.partitions")
	}

	del, err := adm.DeleteTopics(ctx, topic)
	if err != nil || del[topic].Err != nil {
		t.Fatalf("delete: %v %v", err, del[topic].Err)
	}
	delAgain, err := adm.DeleteTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(delAgain[topic].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("delete again: %v", delAgain[topic].Err)
	}
}

func TestAdminOffsetsRecordsGroups(t *testing.T) {
	adm := newAdmin(t)
	ctx := ctxFor(t, 30*time.Second)
	topic, group := "franz-offsets", "franz-offsets-g"
	createTopic(t, adm, topic, 2, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := 0; i < 100; i++ {
		recs = append(recs, &kgo.Record{Partition: int32(i % 2), Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	p := newClient(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for part := int32(0); part < 2; part++ {
		s, _ := starts.Lookup(topic, part)
		e, _ := ends.Lookup(topic, part)
		if s.Err != nil || e.Err != nil || s.Offset != 0 || e.Offset != 50 {
			t.Fatalf("partition %d: start %+v end %+v", part, s, e)
		}
	}
	// Record i sits at offset i/2 of partition i%2, with timestamp base+i s.
	after, err := adm.ListOffsetsAfterMilli(ctx, base.Add(40*time.Second).UnixMilli(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := after.Lookup(topic, 0); o.Offset != 20 {
		t.Fatalf("offset after base+40s on partition 0: %+v", o)
	}
	if o, _ := after.Lookup(topic, 1); o.Offset != 20 {
		t.Fatalf("offset after base+40s on partition 1: %+v", o)
	}
	maxTs, err := adm.ListMaxTimestampOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := maxTs.Lookup(topic, 1); o.Offset != 49 || o.Timestamp != base.Add(99*time.Second).UnixMilli() {
		t.Fatalf("max timestamp on partition 1: %+v", o)
	}

	// DeleteRecords moves the log start; ListOffsets follows.
	var dr kadm.Offsets
	dr.Add(kadm.Offset{Topic: topic, Partition: 0, At: 30})
	deleted, err := adm.DeleteRecords(ctx, dr)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := deleted.Lookup(topic, 0); d.Err != nil || d.LowWatermark != 30 {
		t.Fatalf("delete records: %+v", d)
	}
	var beyond kadm.Offsets
	beyond.Add(kadm.Offset{Topic: topic, Partition: 1, At: 51})
	deleted, err = adm.DeleteRecords(ctx, beyond)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := deleted.Lookup(topic, 1); !errors.Is(d.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete beyond the end: %+v", d)
	}
	starts, _ = adm.ListStartOffsets(ctx, topic)
	if s, _ := starts.Lookup(topic, 0); s.Offset != 30 {
		t.Fatalf("log start after delete: %+v", s)
	}

	// Offsets of a group without members: commit, fetch (all topics and by topic), delete.
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 40, LeaderEpoch: -1, Metadata: "m0"})
	commit.Add(kadm.Offset{Topic: topic, Partition: 1, At: 10, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, group, commit); err != nil {
		t.Fatal(err)
	}
	fetched, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup(topic, 0); o.Err != nil || o.At != 40 || o.Metadata != "m0" {
		t.Fatalf("fetched %+v", o)
	}
	byTopic, err := adm.FetchOffsetsForTopics(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := byTopic.Lookup(topic, 1); o.At != 10 {
		t.Fatalf("fetched for topic %+v", o)
	}
	many := adm.FetchManyOffsets(ctx, group, "franz-no-such-group")
	if many[group].Err != nil || len(many[group].Fetched[topic]) != 2 {
		t.Fatalf("fetch many: %+v", many[group])
	}
	if nope := many["franz-no-such-group"]; nope.Err != nil || len(nope.Fetched) != 0 {
		t.Fatalf("fetch many, unknown group: %+v", nope)
	}
	lags, err := adm.Lag(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if l := lags[group]; l.Error() != nil || l.Lag.Total() != (50-40)+(50-10) {
		t.Fatalf("lag %+v", l)
	}
	var delSet kadm.TopicsSet = kadm.TopicsSet{topic: {1: {}}}
	delOffs, err := adm.DeleteOffsets(ctx, group, delSet)
	if err != nil || delOffs.Error() != nil {
		t.Fatalf("delete offsets: %v %v", err, delOffs.Error())
	}
	fetched, _ = adm.FetchOffsets(ctx, group)
	if _, ok := fetched.Lookup(topic, 1); ok {
		t.Fatalf("offset of partition 1 still there after OffsetDelete")
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := groups[group]; !ok {
		t.Fatalf("ListGroups misses a group with only committed offsets: %v", groups.Groups())
	}
	dg, err := adm.DeleteGroups(ctx, group)
	if err != nil || dg.Error() != nil {
		t.Fatalf("delete group: %v %v", err, dg.Error())
	}
	dg, err = adm.DeleteGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dg[group].Err, kerr.GroupIDNotFound) {
		t.Fatalf("delete group again: %+v", dg[group])
	}
}

func TestAdminClusterLogDirsQuotas(t *testing.T) {
	adm := newAdmin(t)
	cl := newClient(t)
	ctx := ctxFor(t, 30*time.Second)
	topic := "franz-cluster"
	createTopic(t, adm, topic, 2, nil)
	p := newClient(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := p.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		t.Fatalf("brokers %v %v", brokers, err)
	}
	dc := kmsg.NewPtrDescribeClusterRequest()
	dcResp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(dcResp.ErrorCode); err != nil || len(dcResp.Brokers) != 1 || dcResp.ClusterID == "" || dcResp.ControllerID != brokers[0].NodeID {
		t.Fatalf("describe cluster: %+v %v", dcResp, err)
	}
	versions, err := adm.ApiVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	versions.Each(func(v kadm.BrokerApiVersions) {
		if v.Err != nil {
			t.Fatalf("api versions: %v", v.Err)
		}
		if _, _, ok := v.KeyVersions(int16(kmsg.Fetch)); !ok {
			t.Fatalf("Fetch is not advertised")
		}
	})

	dirs, err := adm.DescribeAllLogDirs(ctx, kadm.TopicsSet{topic: {0: {}, 1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	parts := 0
	dirs.Each(func(d kadm.DescribedLogDir) {
		if d.Err != nil {
			t.Fatalf("log dir %s: %v", d.Dir, d.Err)
		}
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == topic {
				parts++
				size += p.Size
			}
		})
	})
	if parts != 2 || size <= 0 {
		t.Fatalf("log dirs: %d partitions of %s, %d bytes", parts, topic, size)
	}

	coord := adm.FindGroupCoordinators(ctx, "franz-any-group")
	if c := coord["franz-any-group"]; c.Err != nil || c.NodeID != brokers[0].NodeID {
		t.Fatalf("group coordinator %+v", c)
	}
	txnCoord := adm.FindTxnCoordinators(ctx, "franz-any-txn")
	if c := txnCoord["franz-any-txn"]; c.Err != nil || c.NodeID != brokers[0].NodeID {
		t.Fatalf("txn coordinator %+v", c)
	}

	elect, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := elect[topic][0]; r.Err != nil && !errors.Is(r.Err, kerr.ElectionNotNeeded) {
		t.Fatalf("elect leaders: %+v", r)
	}
	reassign, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reassign) != 0 {
		t.Fatalf("reassignments in progress: %v", reassign)
	}
	epochs, err := adm.OffsetForLeaderEpoch(ctx, kadm.OffsetForLeaderEpochRequest{topic: {0: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if o := epochs[topic][0]; o.Err != nil || o.EndOffset != 1 {
		t.Fatalf("offset for leader epoch %+v", o)
	}

	name := "franz-quota-client"
	entity := kadm.ClientQuotaEntity{{Type: "client-id", Name: &name}}
	altered, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1048576}, {Key: "consumer_byte_rate", Value: 2097152}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range altered {
		if a.Err != nil {
			t.Fatalf("alter quotas: %+v", a)
		}
	}
	described, err := adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchName: &name, MatchType: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(described) != 1 {
		t.Fatalf("described quotas %+v", described)
	}
	vals := map[string]float64{}
	for _, v := range described[0].Values {
		vals[v.Key] = v.Value
	}
	if vals["producer_byte_rate"] != 1048576 || vals["consumer_byte_rate"] != 2097152 {
		t.Fatalf("quota values %v", vals)
	}
	_, err = adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Remove: true}, {Key: "consumer_byte_rate", Remove: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	described, _ = adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchName: &name, MatchType: 0}})
	if len(described) != 0 {
		t.Fatalf("quotas left after removal: %+v", described)
	}
}

// Broker configs given at start-up (franz-go.test.ts passes --override log.retention.hours=72)
// are STATIC_BROKER_CONFIG, with the default as a synonym.
func TestStaticBrokerConfigSource(t *testing.T) {
	adm := newAdmin(t)
	ctx := ctxFor(t, 10*time.Second)
	rc, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc) != 1 {
		t.Fatalf("broker resources %d", len(rc))
	}
	var keys []string
	for _, cfg := range rc[0].Configs {
		if cfg.Key == "log.retention.hours" {
			keys = append(keys, cfg.Key)
			if cfg.Value == nil || *cfg.Value != "72" || cfg.Source != kmsg.ConfigSourceStaticBrokerConfig {
				t.Fatalf("log.retention.hours: value %v source %v", cfg.Value, cfg.Source)
			}
			var sources []string
			for _, s := range cfg.Synonyms {
				sources = append(sources, s.Source.String())
			}
			sort.Strings(sources)
			if strings.Join(sources, ",") != "DEFAULT_CONFIG,STATIC_BROKER_CONFIG" {
				t.Fatalf("synonyms %v", sources)
			}
		}
	}
	if len(keys) != 1 {
		t.Fatalf("log.retention.hours not described")
	}
}
