package compat

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	// waitLimit bounds every wait so that a broken broker fails a test instead of hanging it.
	waitLimit = 60 * time.Second
	// quietPeriod is how long we keep listening after the expected count arrived,
	// so that duplicates and unexpected extra deliveries are caught.
	quietPeriod = 2 * time.Second
	// userProp is a user property attached to every test message.
	userProp = "compatProp"
)

func TestMain(m *testing.M) {
	// The client logs chattily at info level; RMQ_GO_LOG_LEVEL (debug|info|warn|error) overrides.
	level := os.Getenv("RMQ_GO_LOG_LEVEL")
	if level == "" {
		level = "error"
	}
	rlog.SetLogLevel(level)
	os.Exit(m.Run())
}

func namesrv(t *testing.T) primitive.NamesrvAddr {
	t.Helper()
	addr := os.Getenv("NAMESRV_ADDR")
	if addr == "" {
		t.Skip("NAMESRV_ADDR is not set; these tests need a running name server + broker")
	}
	return primitive.NamesrvAddr(strings.Split(addr, ";"))
}

var nameSeq int64

// uniqueName builds a topic/group/instance name unique to this run (topic charset: [a-zA-Z0-9_-]).
func uniqueName(kind, test string) string {
	n := atomic.AddInt64(&nameSeq, 1)
	return fmt.Sprintf("gocompat_%s_%s_%d_%d", kind, test, time.Now().UnixNano()%1_000_000_000, n)
}

// newProducer starts a producer with its own client instance (the Go client shares one
// connection pool per instance name, and shutting one user down would break the others).
func newProducer(t *testing.T, test string, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	base := []producer.Option{
		producer.WithNameServer(namesrv(t)),
		producer.WithGroupName(uniqueName("pg", test)),
		producer.WithInstanceName(uniqueName("pi", test)),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10 * time.Second),
	}
	p, err := rocketmq.NewProducer(append(base, opts...)...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// received records every delivery a push consumer sees, duplicates included.
type received struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
}

func (r *received) handler(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	r.mu.Unlock()
	return consumer.ConsumeSuccess, nil
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *received) snapshot() []*primitive.MessageExt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*primitive.MessageExt(nil), r.msgs...)
}

type pushConsumer struct {
	rocketmq.PushConsumer
	got      *received
	shutdown sync.Once
}

func (c *pushConsumer) stop() {
	c.shutdown.Do(func() { _ = c.Shutdown() })
}

// startConsumer starts a clustering push consumer in group reading topic from the first offset.
func startConsumer(t *testing.T, test, group, topic, tagExpr string) *pushConsumer {
	t.Helper()
	waitRoute(t, topic)
	got := &received{}
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(namesrv(t)),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName("ci", test)),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	sel := consumer.MessageSelector{Type: consumer.TAG, Expression: tagExpr}
	if err := c.Subscribe(topic, sel, got.handler); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer (group %s, topic %s): %v", group, topic, err)
	}
	pc := &pushConsumer{PushConsumer: c, got: got}
	t.Cleanup(pc.stop)
	return pc
}

// waitCount waits until the consumers together saw at least want deliveries, then keeps
// listening for quietPeriod so that extra deliveries show up too.
func waitCount(t *testing.T, want int, cs ...*pushConsumer) []*primitive.MessageExt {
	t.Helper()
	total := func() int {
		n := 0
		for _, c := range cs {
			n += c.got.count()
		}
		return n
	}
	deadline := time.Now().Add(waitLimit)
	for total() < want {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: received %d of %d messages", waitLimit, total(), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(quietPeriod)
	var all []*primitive.MessageExt
	for _, c := range cs {
		all = append(all, c.got.snapshot()...)
	}
	return all
}

// sent describes one message as the producer built it plus what the broker answered.
type sent struct {
	body   string
	tag    string
	keys   []string
	prop   string
	result *primitive.SendResult // nil for oneway and batch members
}

func buildMsg(topic, body, tag string, keys []string, prop string) *primitive.Message {
	m := primitive.NewMessage(topic, []byte(body))
	if tag != "" {
		m.WithTag(tag)
	}
	if len(keys) > 0 {
		m.WithKeys(keys)
	}
	if prop != "" {
		m.WithProperty(userProp, prop)
	}
	return m
}

func sendSync(t *testing.T, p rocketmq.Producer, msgs ...*primitive.Message) *primitive.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.SendSync(ctx, msgs...)
	if err != nil {
		t.Fatalf("SendSync: %v", err)
	}
	if res.Status != primitive.SendOK {
		t.Fatalf("SendSync status %v, want SendOK (result %v)", res.Status, res)
	}
	return res
}

// sendTagged synchronously sends n messages carrying tag, two keys and a user property.
func sendTagged(t *testing.T, p rocketmq.Producer, topic, prefix string, n int, tagOf func(int) string) []sent {
	t.Helper()
	out := make([]sent, 0, n)
	for i := 0; i < n; i++ {
		s := sent{
			body: fmt.Sprintf("%s-body-%d-%s", prefix, i, strings.Repeat("x", i%7)),
			tag:  tagOf(i),
			keys: []string{fmt.Sprintf("%s-k%d", prefix, i), fmt.Sprintf("%s-alt%d", prefix, i)},
			prop: fmt.Sprintf("%s-v%d", prefix, i),
		}
		s.result = sendSync(t, p, buildMsg(topic, s.body, s.tag, s.keys, s.prop))
		out = append(out, s)
	}
	return out
}

func constTag(tag string) func(int) string { return func(int) string { return tag } }

// checkExactlyOnce verifies that got contains each expected message exactly once and nothing else,
// with body, tag, keys and user property intact and the broker-assigned fields self-consistent.
func checkExactlyOnce(t *testing.T, topic string, want []sent, got []*primitive.MessageExt) {
	t.Helper()
	byBody := make(map[string]sent, len(want))
	for _, s := range want {
		byBody[s.body] = s
	}
	seen := make(map[string]int)
	unexpected, dups := 0, 0
	for _, m := range got {
		body := string(m.Body)
		seen[body]++
		s, ok := byBody[body]
		if !ok {
			if unexpected++; unexpected <= 5 {
				t.Errorf("unexpected message %q (tags %q, queue %d, offset %d)", body, m.GetTags(), m.Queue.QueueId, m.QueueOffset)
			}
			continue
		}
		if seen[body] > 1 {
			if dups++; dups <= 5 {
				t.Errorf("message %q delivered %d times", body, seen[body])
			}
			continue
		}
		checkMessage(t, topic, s, m)
	}
	if unexpected > 0 || dups > 0 {
		t.Errorf("%d unexpected deliveries, %d duplicate deliveries (of %d received)", unexpected, dups, len(got))
	}
	missing := 0
	for _, s := range want {
		if seen[s.body] == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("message %q never delivered", s.body)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d messages never delivered", missing, len(want))
	}
}

func checkMessage(t *testing.T, topic string, s sent, m *primitive.MessageExt) {
	t.Helper()
	if m.Topic != topic {
		t.Errorf("%q: topic %q, want %q", s.body, m.Topic, topic)
	}
	if got := m.GetTags(); got != s.tag {
		t.Errorf("%q: tags %q, want %q", s.body, got, s.tag)
	}
	if got, want := m.GetKeys(), strings.Join(s.keys, primitive.PropertyKeySeparator); got != want {
		t.Errorf("%q: keys %q, want %q", s.body, got, want)
	}
	if got := m.GetProperty(userProp); got != s.prop {
		t.Errorf("%q: property %s=%q, want %q", s.body, userProp, got, s.prop)
	}
	// The client copies the commit-log record's BODYCRC field; Java stores CRC32 & 0x7FFFFFFF.
	if want := int32(crc32.ChecksumIEEE(m.Body) & 0x7FFFFFFF); m.BodyCRC != want {
		t.Errorf("%q: body CRC %d, want %d", s.body, m.BodyCRC, want)
	}
	if m.ReconsumeTimes != 0 {
		t.Errorf("%q: reconsumeTimes %d, want 0", s.body, m.ReconsumeTimes)
	}
	if m.StoreSize <= int32(len(m.Body)) {
		t.Errorf("%q: store size %d not larger than body %d", s.body, m.StoreSize, len(m.Body))
	}
	if m.BornTimestamp <= 0 || m.StoreTimestamp < m.BornTimestamp-5000 {
		t.Errorf("%q: born %d / store %d timestamps implausible", s.body, m.BornTimestamp, m.StoreTimestamp)
	}
	r := s.result
	if r == nil {
		return
	}
	if m.Queue.QueueId != r.MessageQueue.QueueId || m.QueueOffset != r.QueueOffset {
		t.Errorf("%q: consumed at queue %d offset %d, send result said queue %d offset %d",
			s.body, m.Queue.QueueId, m.QueueOffset, r.MessageQueue.QueueId, r.QueueOffset)
	}
	if m.OffsetMsgId != r.OffsetMsgID {
		t.Errorf("%q: consumed offsetMsgId %s, send result offsetMsgId %s", s.body, m.OffsetMsgId, r.OffsetMsgID)
	}
	if m.MsgId != r.MsgID {
		t.Errorf("%q: consumed msgId %s, send result msgId %s", s.body, m.MsgId, r.MsgID)
	}
}

// decodeOffsetMsgID splits an offset message id (storeHost IPv4 + int32 port + int64 commit-log
// offset, as 32 upper-case hex digits) into "ip:port" and the commit-log offset.
func decodeOffsetMsgID(id string) (string, int64, error) {
	if len(id) != 32 || strings.ToUpper(id) != id {
		return "", 0, fmt.Errorf("offsetMsgId %q is not 32 upper-case hex digits", id)
	}
	var b [16]byte
	for i := range b {
		v, err := strconv.ParseUint(id[2*i:2*i+2], 16, 8)
		if err != nil {
			return "", 0, fmt.Errorf("offsetMsgId %q: %v", id, err)
		}
		b[i] = byte(v)
	}
	port := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
	var off int64
	for _, x := range b[8:] {
		off = off<<8 | int64(x)
	}
	return fmt.Sprintf("%d.%d.%d.%d:%d", b[0], b[1], b[2], b[3], port), off, nil
}

// brokerAddr is the broker's address as the store host in a send result's offsetMsgId
// (brokerIP1:listenPort).
func brokerAddr(t *testing.T, r *primitive.SendResult) string {
	t.Helper()
	host, _, err := decodeOffsetMsgID(r.OffsetMsgID)
	if err != nil {
		t.Fatalf("send result: %v", err)
	}
	return host
}

// nextOffsets is, per queue, the offset after the last message of msgs (what a consumer that
// consumed all of them commits).
func nextOffsets(msgs []sent) map[int]int64 {
	out := map[int]int64{}
	for _, s := range msgs {
		q := s.result.MessageQueue.QueueId
		if s.result.QueueOffset+1 > out[q] {
			out[q] = s.result.QueueOffset + 1
		}
	}
	return out
}

// waitCommitted polls QUERY_CONSUMER_OFFSET (14) until the broker reports want for every queue.
// The Go client commits with oneway UPDATE_CONSUMER_OFFSET requests, so there is no reply to wait for.
func waitCommitted(t *testing.T, broker, group, topic string, want map[int]int64) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(waitLimit)
	for {
		got := map[int]string{}
		done := true
		for q, off := range want {
			code, ext, _, err := remotingCall(broker, 14, map[string]string{
				"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(q),
			})
			if err != nil {
				t.Fatalf("QUERY_CONSUMER_OFFSET: %v", err)
			}
			got[q] = fmt.Sprintf("code %d offset %s", code, ext["offset"])
			if code != 0 || ext["offset"] != strconv.FormatInt(off, 10) {
				done = false
			}
		}
		if done {
			t.Logf("offsets committed %v after %v", want, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: broker reports %v, want committed offsets %v", group, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRoute polls the name server until it routes topic. A push consumer refuses to start for an
// unrouted topic, and the Java broker registers an auto-created topic with a oneway request, so
// the route can lag the send response by a few milliseconds.
func waitRoute(t *testing.T, topic string) {
	t.Helper()
	ns := namesrv(t)
	deadline := time.Now().Add(waitLimit)
	for {
		code, _, err := routeQuery(ns[0], topic)
		if err != nil {
			t.Fatalf("GET_ROUTEINFO_BY_TOPIC(%s): %v", topic, err)
		}
		if code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("name server still has no route for %s after %v (code %d)", topic, waitLimit, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
