package compat

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// traceRecords collects the records ("Pub\x01...\x02SubBefore\x01...") of every message read from a trace topic.
type traceRecords struct {
	mu      sync.Mutex
	records [][]string
}

func (r *traceRecords) handler(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		for _, rec := range strings.Split(string(m.Body), "\x02") {
			if rec != "" {
				r.records = append(r.records, strings.Split(rec, "\x01"))
			}
		}
	}
	return consumer.ConsumeSuccess, nil
}

// types lists the record types seen for msgID (the msgId field sits at 5 for Pub/SubBefore, 2 for SubAfter).
func (r *traceRecords) types(msgID string) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, f := range r.records {
		switch {
		case len(f) > 5 && (f[0] == "Pub" || f[0] == "SubBefore") && f[5] == msgID:
			seen[f[0]] = true
		case len(f) > 2 && f[0] == "SubAfter" && f[2] == msgID:
			seen[f[0]] = true
		}
	}
	return seen
}

// TestTraceRecordsOfProducerAndConsumer: a Go producer and push consumer with WithTrace write Pub, SubBefore and
// SubAfter records for a message into the trace topic, where a consumer of that topic reads them.
func TestTraceRecordsOfProducerAndConsumer(t *testing.T) {
	topic := uniqueName("t", "trace")
	traceTopic := uniqueName("t", "tracedata")
	ns := namesrv(t)
	// The Go trace dispatcher needs a routable trace topic: one ordinary send auto-creates it.
	seed := newProducer(t, "trace_seed")
	sendSync(t, seed, primitive.NewMessage(traceTopic, []byte("seed")))
	waitRoute(t, traceTopic)
	cfg := func(group string) *primitive.TraceConfig {
		return &primitive.TraceConfig{
			TraceTopic:   traceTopic,
			GroupName:    group,
			Access:       primitive.Local,
			NamesrvAddrs: ns,
		}
	}

	p := newProducer(t, "trace", producer.WithTrace(cfg(uniqueName("tpg", "trace"))))
	msg := buildMsg(topic, "traced-body", "TagT", []string{"trace-key"}, "v")
	res := sendSync(t, p, msg)
	msgID := res.MsgID

	c := startTracedConsumer(t, topic, cfg(uniqueName("tcg", "trace")))
	waitCount(t, 1, c)

	records := &traceRecords{}
	reader, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(ns),
		consumer.WithGroupName(uniqueName("cg", "traceread")),
		consumer.WithInstance(uniqueName("ci", "traceread")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new trace reader: %v", err)
	}
	if err := reader.Subscribe(traceTopic, consumer.MessageSelector{}, records.handler); err != nil {
		t.Fatalf("subscribe %s: %v", traceTopic, err)
	}
	if err := reader.Start(); err != nil {
		t.Fatalf("start trace reader: %v", err)
	}
	defer func() { _ = reader.Shutdown() }()

	deadline := time.Now().Add(waitLimit)
	for {
		seen := records.types(msgID)
		if seen["Pub"] && seen["SubBefore"] && seen["SubAfter"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace records of %s in %s: saw %v (all records: %v)", msgID, traceTopic, seen, records.records)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startTracedConsumer(t *testing.T, topic string, trace *primitive.TraceConfig) *pushConsumer {
	t.Helper()
	waitRoute(t, topic)
	got := &received{}
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(namesrv(t)),
		consumer.WithGroupName(trace.GroupName),
		consumer.WithInstance(uniqueName("ci", "trace")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithTrace(trace),
	)
	if err != nil {
		t.Fatalf("new traced consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, got.handler); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start traced consumer: %v", err)
	}
	pc := &pushConsumer{PushConsumer: c, got: got}
	t.Cleanup(pc.stop)
	return pc
}
