// Command loadgen is the bench's franz-go load generator (github.com/twmb/franz-go, kgo). It
// produces or consumes a fixed number of records as fast as the client allows and prints one JSON
// line. Go's client costs a fraction of the CPU of the JVM's perf tools per record, so on a small
// machine it leaves the broker, not the load generator, as the bottleneck.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type result struct {
	Records int64   `json:"records"`
	Failed  int64   `json:"failed"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap servers, comma-separated")
	topic := flag.String("topic", "", "the topic (it must exist)")
	mode := flag.String("mode", "produce", "produce or consume")
	records := flag.Int64("records", 100_000, "how many records")
	size := flag.Int("size", 100, "value size in bytes (produce)")
	acks := flag.String("acks", "1", "1 or all (produce)")
	timeout := flag.Duration("timeout", 120*time.Second, "give up after this long")
	tlsCA := flag.String("tls-ca", "", "connect over TLS, trusting the CA certificates (PEM) in this file")
	flag.Parse()
	if *topic == "" || *records <= 0 || *size < 0 || (*acks != "1" && *acks != "all") {
		fmt.Fprintln(os.Stderr, "loadgen: -topic, a positive -records, -size >= 0 and -acks 1|all are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	common := []kgo.Opt{kgo.SeedBrokers(strings.Split(*brokers, ",")...)}
	if *tlsCA != "" {
		pem, err := os.ReadFile(*tlsCA)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "loadgen: no CA certificate in %q: %v\n", *tlsCA, err)
			os.Exit(2)
		}
		common = append(common, kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	var r result
	switch *mode {
	case "produce":
		r = produce(ctx, common, *topic, *records, *size, *acks)
	case "consume":
		r = consume(ctx, common, *topic, *records)
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if r.Error != "" || r.Failed > 0 || r.Records < *records {
		os.Exit(1)
	}
}

// produce sends `records` values of `size` bytes with the client settings the other load
// generators use (linger 5 ms, 128 KiB batches, no compression) and waits for every ack.
func produce(ctx context.Context, common []kgo.Opt, topic string, records int64, size int, acks string) result {
	opts := append(common,
		kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(131072),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(100_000),
	)
	if acks == "all" {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	} else {
		// Idempotence needs acks=all; Kafka's clients drop it the same way with acks=1.
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return result{Error: err.Error()}
	}
	defer cl.Close()
	value := bytes.Repeat([]byte{'x'}, size)
	var acked, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := int64(0); i < records && ctx.Err() == nil; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			} else {
				acked.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
	r := result{Records: acked.Load(), Failed: failed.Load(), Seconds: time.Since(start).Seconds()}
	if e, ok := firstErr.Load().(string); ok {
		r.Error = e
	}
	return r
}

// consume reads the topic from the beginning, every partition, without a group (as kcat -C
// does), until `records` records have arrived.
func consume(ctx context.Context, common []kgo.Opt, topic string, records int64) result {
	cl, err := kgo.NewClient(append(common,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return result{Error: err.Error()}
	}
	defer cl.Close()
	var got int64
	var firstErr string
	start := time.Now()
	for got < records && ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		fetches.EachError(func(t string, p int32, err error) {
			if firstErr == "" && ctx.Err() == nil {
				firstErr = fmt.Sprintf("%s[%d]: %v", t, p, err)
			}
		})
		got += int64(fetches.NumRecords())
	}
	r := result{Records: got, Seconds: time.Since(start).Seconds(), Error: firstErr}
	if got < records && r.Error == "" {
		r.Error = fmt.Sprintf("only %d of %d records before the timeout", got, records)
	}
	return r
}
