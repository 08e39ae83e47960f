package grpccompat

import (
	"context"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

func bg() context.Context { return context.Background() }

// ChangeInvisibleDuration: received invisible for 5 minutes, changed to 10 s, the message is back after
// the new duration (not before it; Java's revive works at 1 s precision) with delivery attempt 2.
func TestChangeInvisibleDuration(t *testing.T) {
	topic := createTopic(t, "inv", "NORMAL")
	group := uniqueName("g")
	p := startProducer(t, nil, topic)
	c := startSimpleConsumer(t, group, topic)
	id := send(t, p, message(topic, "inv", "invisible"))
	var first *rmq.MessageView
	receiveUntil(t, c, 5*time.Minute, waitLimit, func(v *rmq.MessageView) { first = v },
		func() bool { return first != nil })
	if first.GetMessageId() != id || first.GetDeliveryAttempt() != 1 {
		t.Fatalf("first delivery: id %s attempt %d", first.GetMessageId(), first.GetDeliveryAttempt())
	}
	changedAt := time.Now()
	if err := c.ChangeInvisibleDuration(first, 10*time.Second); err != nil {
		t.Fatalf("ChangeInvisibleDuration: %v", err)
	}
	var again *rmq.MessageView
	receiveUntil(t, c, 30*time.Second, waitLimit, func(v *rmq.MessageView) { again = v },
		func() bool { return again != nil })
	backAfter := time.Since(changedAt)
	if again.GetMessageId() != id || again.GetDeliveryAttempt() != 2 {
		t.Errorf("redelivery: id %s attempt %d", again.GetMessageId(), again.GetDeliveryAttempt())
	}
	if backAfter < 9*time.Second {
		t.Errorf("redelivered %v after a change to 10 s", backAfter)
	}
	ack(t, c, again)
}
