package compat

import (
	"fmt"
	"testing"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
)

// SQL92 property filter: a push consumer subscribed with MessageSelector{Type: SQL92} receives exactly
// the messages whose user properties match. Needs enablePropertyFilter=true on the broker (Java too).
func TestSQL92PushConsumer(t *testing.T) {
	topic := uniqueName("t", "sql")
	p := newProducer(t, "sql")
	var want []sent
	for i := 0; i < 20; i++ {
		s := sent{
			body: fmt.Sprintf("sql-body-%d", i),
			tag:  fmt.Sprintf("Tag%d", i%3),
			prop: fmt.Sprintf("sql-v%d", i),
		}
		m := buildMsg(topic, s.body, s.tag, nil, s.prop)
		m.WithProperty("seq", fmt.Sprint(i))
		s.result = sendSync(t, p, m)
		if i >= 5 && i <= 14 && i%3 != 1 {
			want = append(want, s)
		}
	}
	waitRoute(t, topic)
	got := &received{}
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(namesrv(t)),
		consumer.WithGroupName(uniqueName("g", "sql")),
		consumer.WithInstance(uniqueName("ci", "sql")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	sel := consumer.MessageSelector{Type: consumer.SQL92, Expression: "seq BETWEEN 5 AND 14 AND TAGS <> 'Tag1'"}
	if err := c.Subscribe(topic, sel, got.handler); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	pc := &pushConsumer{PushConsumer: c, got: got}
	t.Cleanup(pc.stop)
	checkExactlyOnce(t, topic, want, waitCount(t, len(want), pc))
}
