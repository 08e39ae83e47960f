// Package grpccompat is the gRPC compatibility suite for the official Go 5.x client
// (github.com/apache/rocketmq-clients/golang/v5) against RMQ_GRPC_ENDPOINT, with topics created through
// NAMESRV_ADDR. See doc.go.
package grpccompat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

const (
	// waitLimit bounds every wait so that a broken endpoint fails a test instead of hanging it.
	waitLimit = 90 * time.Second
	// minInvisible is the smallest invisible duration Java's proxy accepts on ReceiveMessage
	// (ProxyConfig minInvisibleTimeMillsForRecv).
	minInvisible  = 10 * time.Second
	awaitDuration = 5 * time.Second
)

func TestMain(m *testing.M) {
	// The client logs to $user.home/logs/rocketmqlogs (user.home is an env var it reads, normally unset, i.e.
	// /logs): keep its log in the build's temp dir unless RMQ_GO_LOG_ROOT says otherwise.
	root := os.Getenv("RMQ_GO_LOG_ROOT")
	if root == "" {
		root = filepath.Join(os.TempDir(), "rmqd-go-v5-logs")
	}
	_ = os.Setenv("rocketmq.client.logRoot", root)
	rmq.ResetLogger()
	os.Exit(m.Run())
}

func envOrSkip(t *testing.T, name string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		t.Skipf("%s is not set; these tests need a running gRPC endpoint (see doc.go)", name)
	}
	return v
}

func endpoint(t *testing.T) string    { return envOrSkip(t, "RMQ_GRPC_ENDPOINT") }
func namesrvAddr(t *testing.T) string { return envOrSkip(t, "NAMESRV_ADDR") }

func config(t *testing.T, group string) *rmq.Config {
	return &rmq.Config{Endpoint: endpoint(t), ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
}

func startProducer(t *testing.T, checker *rmq.TransactionChecker, topics ...string) rmq.Producer {
	t.Helper()
	opts := []rmq.ProducerOption{rmq.WithTopics(topics...)}
	if checker != nil {
		opts = append(opts, rmq.WithTransactionChecker(checker))
	}
	p, err := rmq.NewProducer(config(t, ""), opts...)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	t.Cleanup(func() { _ = p.GracefulStop() })
	return p
}

func startSimpleConsumer(t *testing.T, group, topic string) rmq.SimpleConsumer {
	t.Helper()
	c, err := rmq.NewSimpleConsumer(config(t, group), rmq.WithAwaitDuration(awaitDuration),
		rmq.WithSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}))
	if err != nil {
		t.Fatalf("NewSimpleConsumer: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("simple consumer Start: %v", err)
	}
	t.Cleanup(func() { _ = c.GracefulStop() })
	return c
}

func send(t *testing.T, p rmq.Producer, msg *rmq.Message) string {
	t.Helper()
	receipts, err := p.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("Send to %s: %v", msg.Topic, err)
	}
	if len(receipts) != 1 || receipts[0].MessageID == "" {
		t.Fatalf("Send to %s: receipts %v", msg.Topic, receipts)
	}
	return receipts[0].MessageID
}

// receiveUntil receives (handing each message to sink) until done holds; fails after limit. An empty
// receive is an error in this client (MESSAGE_NOT_FOUND / the long-poll deadline), so errors only end up
// in the log.
func receiveUntil(t *testing.T, c rmq.SimpleConsumer, invisible, limit time.Duration,
	sink func(*rmq.MessageView), done func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v receiving", limit)
		}
		views, err := c.Receive(context.Background(), 16, invisible)
		if err != nil {
			if !strings.Contains(err.Error(), "MESSAGE_NOT_FOUND") && !strings.Contains(err.Error(), "40401") {
				t.Logf("receive: %v", err)
			}
			continue
		}
		for _, v := range views {
			sink(v)
		}
	}
}

// receiveFor receives for d and returns everything that arrived (to prove that nothing does).
func receiveFor(c rmq.SimpleConsumer, invisible, d time.Duration) []*rmq.MessageView {
	var got []*rmq.MessageView
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		views, err := c.Receive(context.Background(), 16, invisible)
		if err == nil {
			got = append(got, views...)
		}
	}
	return got
}

func ack(t *testing.T, c rmq.SimpleConsumer, v *rmq.MessageView) {
	t.Helper()
	if err := c.Ack(context.Background(), v); err != nil {
		t.Fatalf("Ack %s: %v", v.GetMessageId(), err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func message(topic, tag, body string) *rmq.Message {
	m := &rmq.Message{Topic: topic, Body: []byte(body)}
	m.SetTag(tag)
	return m
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}
