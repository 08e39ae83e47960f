package compat

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// Consumption failures and delay levels with the Go client: ConsumeRetryLater goes back through
// CONSUMER_SEND_MSG_BACK to %RETRY%group and, after WithMaxReconsumeTimes, to %DLQ%group; a message with
// WithDelayTimeLevel(2) arrives no earlier than its delay. Run the broker with
// BROKER_EXTRA_CONF='messageDelayLevel=1s 2s 1s ...' and the same list in RMQ_MESSAGE_DELAY_LEVEL (as the
// Java RetryDelayTest); otherwise Java's default levels are assumed and the retry test takes ~40 s.

const defaultDelayLevels = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"

// delayOf is the delay of a level according to RMQ_MESSAGE_DELAY_LEVEL (the broker's messageDelayLevel).
func delayOf(t *testing.T, level int) time.Duration {
	t.Helper()
	spec := os.Getenv("RMQ_MESSAGE_DELAY_LEVEL")
	if strings.TrimSpace(spec) == "" {
		spec = defaultDelayLevels
	}
	levels := strings.Fields(spec)
	if level > len(levels) {
		level = len(levels)
	}
	v := levels[level-1]
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil {
		t.Fatalf("RMQ_MESSAGE_DELAY_LEVEL: bad level %q", v)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[v[len(v)-1]]
	return time.Duration(n) * unit
}

// delivery is one message as a listener saw it, with the time.
type delivery struct {
	msg *primitive.MessageExt
	at  time.Time
}

type deliveries struct {
	mu  sync.Mutex
	got []delivery
}

func (d *deliveries) add(msgs []*primitive.MessageExt) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range msgs {
		d.got = append(d.got, delivery{m, time.Now()})
	}
}

func (d *deliveries) snapshot() []delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]delivery(nil), d.got...)
}

func (d *deliveries) await(t *testing.T, n int, limit time.Duration, what string) []delivery {
	t.Helper()
	deadline := time.Now().Add(limit)
	for len(d.snapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %d of %d", limit, what, len(d.snapshot()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d.snapshot()
}

// startRecording starts a clustering push consumer answering every delivery with result.
func startRecording(t *testing.T, test, group, topic string, result consumer.ConsumeResult, opts ...consumer.Option) *deliveries {
	t.Helper()
	waitRoute(t, topic)
	got := &deliveries{}
	base := []consumer.Option{
		consumer.WithNameServer(namesrv(t)),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName("ci", test)),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}
	c, err := rocketmq.NewPushConsumer(append(base, opts...)...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	handler := func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		got.add(msgs)
		return result, nil
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, handler); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer (group %s, topic %s): %v", group, topic, err)
	}
	t.Cleanup(func() { _ = c.Shutdown() })
	return got
}

func TestRetryLaterThenDeadLetterQueue(t *testing.T) {
	p := newProducer(t, "retry")
	topic := uniqueName("t", "retry")
	group := uniqueName("cg", "retry")
	res := sendSync(t, p, buildMsg(topic, "retry-body", "TagR", []string{"retry-key"}, "retry-prop"))

	got := startRecording(t, "retry", group, topic, consumer.ConsumeRetryLater, consumer.WithMaxReconsumeTimes(2))
	all := got.await(t, 3, delayOf(t, 3)+delayOf(t, 4)+waitLimit, "the original delivery and two retries")
	for i, d := range all[:3] {
		if string(d.msg.Body) != "retry-body" || d.msg.GetTags() != "TagR" || d.msg.GetProperty(userProp) != "retry-prop" {
			t.Errorf("delivery %d: body %q tags %q prop %q", i, d.msg.Body, d.msg.GetTags(), d.msg.GetProperty(userProp))
		}
		if d.msg.ReconsumeTimes != int32(i) {
			t.Errorf("delivery %d: reconsumeTimes %d", i, d.msg.ReconsumeTimes)
		}
		if d.msg.Topic != topic {
			t.Errorf("delivery %d: topic %q, want the original %q", i, d.msg.Topic, topic)
		}
		if d.msg.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex) != res.MsgID {
			t.Errorf("delivery %d: UNIQ_KEY %q, want %q", i, d.msg.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex), res.MsgID)
		}
		if i > 0 {
			if gap := d.at.Sub(all[i-1].at); gap < delayOf(t, 2+i)-100*time.Millisecond {
				t.Errorf("retry %d after %v, before its delay %v", i, gap, delayOf(t, 2+i))
			}
		}
	}

	dlq := "%DLQ%" + group
	dead := startRecording(t, "retry", uniqueName("cg", "dlq"), dlq, consumer.ConsumeSuccess)
	d := dead.await(t, 1, waitLimit, "the DLQ message")[0].msg
	if string(d.Body) != "retry-body" || d.Topic != dlq || d.ReconsumeTimes != 3 {
		t.Errorf("DLQ message: body %q topic %q reconsumeTimes %d", d.Body, d.Topic, d.ReconsumeTimes)
	}
	if d.GetProperty(primitive.PropertyRetryTopic) != topic {
		t.Errorf("DLQ RETRY_TOPIC %q, want %q", d.GetProperty(primitive.PropertyRetryTopic), topic)
	}
	time.Sleep(quietPeriod)
	if n := len(got.snapshot()); n != 3 {
		t.Errorf("%d deliveries to the failing consumer, want 3", n)
	}
}

func TestDelayTimeLevel(t *testing.T) {
	p := newProducer(t, "delay")
	topic := uniqueName("t", "delay")
	sendSync(t, p, buildMsg(topic, "warm-up", "Warm", nil, ""))
	got := startRecording(t, "delay", uniqueName("cg", "delay"), topic, consumer.ConsumeSuccess)
	got.await(t, 1, waitLimit, "the warm-up message")

	delay := delayOf(t, 2)
	m := buildMsg(topic, "delayed-body", "TagD", []string{"delayed-key"}, "delayed-prop")
	m.WithDelayTimeLevel(2)
	before := time.Now()
	res := sendSync(t, p, m)
	after := time.Now()
	d := got.await(t, 2, delay+waitLimit, "the delayed message")[1]
	if string(d.msg.Body) != "delayed-body" || d.msg.GetTags() != "TagD" || d.msg.GetProperty(userProp) != "delayed-prop" {
		t.Errorf("delayed message: body %q tags %q prop %q", d.msg.Body, d.msg.GetTags(), d.msg.GetProperty(userProp))
	}
	if d.msg.Queue.QueueId != res.MessageQueue.QueueId {
		t.Errorf("delivered to queue %d, sent to %d", d.msg.Queue.QueueId, res.MessageQueue.QueueId)
	}
	if early := d.at.Sub(before); early < delay {
		t.Errorf("delivered %v after the send, before its delay %v", early, delay)
	}
	if late := d.at.Sub(after); late > delay+1500*time.Millisecond {
		t.Errorf("delivered %v after the send, delay %v", late, delay)
	}
	time.Sleep(quietPeriod)
	if n := len(got.snapshot()); n != 2 {
		t.Errorf("%d deliveries, want 2 (warm-up and the delayed message once)", n)
	}
}
