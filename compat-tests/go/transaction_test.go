package compat

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// txListener decides by the message's "outcome" property; a check-back commits the unknown ones.
type txListener struct {
	mu     sync.Mutex
	checks map[string]int // body -> check-backs
}

func outcomeState(outcome string) primitive.LocalTransactionState {
	switch outcome {
	case "commit":
		return primitive.CommitMessageState
	case "rollback":
		return primitive.RollbackMessageState
	default:
		return primitive.UnknowState
	}
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	return outcomeState(m.GetProperty("outcome"))
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	// Decided transactions may be checked too (Java 5.x brokers batch their op messages every 3 s).
	if state := outcomeState(m.GetProperty("outcome")); state != primitive.UnknowState {
		return state
	}
	l.mu.Lock()
	l.checks[string(m.Body)]++
	l.mu.Unlock()
	return primitive.CommitMessageState
}

// TestTransactionCommitRollbackCheck: committed messages are consumed, rolled-back ones never, and an
// unknown one after the broker's CHECK_TRANSACTION_STATE is answered with commit. Quick only with the
// brokers' transactionCheckInterval lowered (BROKER_EXTRA_CONF); the wait allows for the 60 s default.
func TestTransactionCommitRollbackCheck(t *testing.T) {
	listener := &txListener{checks: map[string]int{}}
	p, err := rocketmq.NewTransactionProducer(listener,
		producer.WithNameServer(namesrv(t)),
		producer.WithGroupName(uniqueName("pg", "tx")),
		producer.WithInstanceName(uniqueName("pi", "tx")),
		producer.WithRetry(2),
	)
	if err != nil {
		t.Fatalf("new transaction producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start transaction producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })

	topic := uniqueName("t", "tx")
	want := map[string]bool{}
	unknown := map[string]bool{}
	for i := 0; i < 9; i++ {
		outcome := []string{"commit", "rollback", "unknown"}[i%3]
		body := fmt.Sprintf("tx-%s-%d", outcome, i)
		m := primitive.NewMessage(topic, []byte(body))
		m.WithProperty("outcome", outcome)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := p.SendMessageInTransaction(ctx, m)
		cancel()
		if err != nil || res.Status != primitive.SendOK {
			t.Fatalf("send %s: %v %v", body, res, err)
		}
		if outcome != "rollback" {
			want[body] = true
		}
		if outcome == "unknown" {
			unknown[body] = true
		}
	}

	c := startConsumer(t, "tx", uniqueName("cg", "tx"), topic, "*")
	deadline := time.Now().Add(150 * time.Second)
	for {
		got := map[string]int{}
		for _, m := range c.got.snapshot() {
			got[string(m.Body)]++
		}
		done := true
		for body := range want {
			done = done && got[body] > 0
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: consumed %v, want %v", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(quietPeriod)
	got := map[string]int{}
	for _, m := range c.got.snapshot() {
		got[string(m.Body)]++
		if m.Topic != topic {
			t.Errorf("%s: topic %q, want %q", m.Body, m.Topic, topic)
		}
	}
	for body, n := range got {
		if !want[body] {
			t.Errorf("consumed %q, which was rolled back", body)
		}
		if n > 1 {
			t.Errorf("consumed %q %d times", body, n)
		}
	}
	listener.mu.Lock()
	defer listener.mu.Unlock()
	for body := range unknown {
		if listener.checks[body] == 0 {
			t.Errorf("%q was never checked back: checks %v", body, listener.checks)
		}
	}
}
