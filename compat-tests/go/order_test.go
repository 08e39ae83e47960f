package compat

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// TestOrderlyConsumerPerShardingKey sends messages with sharding keys through the hash queue selector
// and consumes them with an orderly push consumer (LOCK_BATCH_MQ): each key's messages arrive in send order.
func TestOrderlyConsumerPerShardingKey(t *testing.T) {
	const keys, perKey = 4, 30
	p := newProducer(t, "order", producer.WithQueueSelector(producer.NewHashQueueSelector()))
	topic := uniqueName("t", "order")
	send := func(key, seq int) {
		m := primitive.NewMessage(topic, []byte(fmt.Sprintf("order-%d-%d", key, seq)))
		m.WithShardingKey("key" + strconv.Itoa(key))
		m.WithProperty("okey", strconv.Itoa(key))
		m.WithProperty("oseq", strconv.Itoa(seq))
		sendSync(t, p, m)
	}
	send(0, 0)

	var mu sync.Mutex
	seen := map[int][]int{}
	total := 0
	waitRoute(t, topic)
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(namesrv(t)),
		consumer.WithGroupName(uniqueName("cg", "order")),
		consumer.WithInstance(uniqueName("ci", "order")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithConsumerOrder(true),
	)
	if err != nil {
		t.Fatalf("new orderly consumer: %v", err)
	}
	handler := func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			key, _ := strconv.Atoi(m.GetProperty("okey"))
			seq, _ := strconv.Atoi(m.GetProperty("oseq"))
			seen[key] = append(seen[key], seq)
			total++
		}
		return consumer.ConsumeSuccess, nil
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, handler); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start orderly consumer: %v", err)
	}
	t.Cleanup(func() { _ = c.Shutdown() })

	for seq := 0; seq < perKey; seq++ {
		for key := 0; key < keys; key++ {
			if key == 0 && seq == 0 {
				continue
			}
			send(key, seq)
		}
	}
	deadline := time.Now().Add(waitLimit)
	for {
		mu.Lock()
		n := total
		mu.Unlock()
		if n >= keys*perKey {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: consumed %d of %d", n, keys*perKey)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(quietPeriod)
	mu.Lock()
	defer mu.Unlock()
	for key := 0; key < keys; key++ {
		got := seen[key]
		if len(got) != perKey {
			t.Errorf("key %d: consumed %d messages, want %d: %v", key, len(got), perKey, got)
			continue
		}
		for i, seq := range got {
			if seq != i {
				t.Errorf("key %d consumed out of order: %v", key, got)
				break
			}
		}
	}
}
