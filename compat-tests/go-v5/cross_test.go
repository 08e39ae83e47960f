package grpccompat

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

func init() { rlog.SetLogLevel("error") }

func namesrvList(t *testing.T) primitive.NamesrvAddr {
	return primitive.NamesrvAddr(strings.Split(namesrvAddr(t), ";"))
}

// One store: a remoting (rocketmq-client-go v2) producer's message is received over gRPC with the same id,
// tag, keys, property and body.
func TestRemotingProducerToGrpcConsumer(t *testing.T) {
	topic := createTopic(t, "r2g", "NORMAL")
	group := uniqueName("g")
	rp, err := rocketmq.NewProducer(producer.WithNameServer(namesrvList(t)), producer.WithGroupName(uniqueName("pg")),
		producer.WithInstanceName(uniqueName("inst")), producer.WithRetry(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rp.Shutdown() }()
	c := startSimpleConsumer(t, group, topic)
	m := primitive.NewMessage(topic, []byte("from-remoting"))
	m.WithTag("TagR")
	m.WithKeys([]string{"rkey"})
	m.WithProperty("origin", "remoting")
	res, err := rp.SendSync(context.Background(), m)
	if err != nil || res.Status != primitive.SendOK {
		t.Fatalf("remoting send: %v %v", res, err)
	}
	var got *rmq.MessageView
	receiveUntil(t, c, 30*time.Second, waitLimit, func(v *rmq.MessageView) {
		got = v
		ack(t, c, v)
	}, func() bool { return got != nil })
	if got.GetMessageId() != res.MsgID {
		t.Errorf("gRPC message id %s, remoting msgId %s", got.GetMessageId(), res.MsgID)
	}
	if string(got.GetBody()) != "from-remoting" || str(got.GetTag()) != "TagR" ||
		strings.Join(got.GetKeys(), ",") != "rkey" || got.GetProperties()["origin"] != "remoting" {
		t.Errorf("got body %q tag %q keys %v props %v", got.GetBody(), str(got.GetTag()), got.GetKeys(),
			got.GetProperties())
	}
}

// The reverse: a gRPC producer's message is consumed by a remoting push consumer.
func TestGrpcProducerToRemotingConsumer(t *testing.T) {
	topic := createTopic(t, "g2r", "NORMAL")
	p := startProducer(t, nil, topic)
	m := message(topic, "TagG", "from-grpc")
	m.SetKeys("gkey")
	m.AddProperty("origin", "grpc")
	id := send(t, p, m)

	var mu sync.Mutex
	var got *primitive.MessageExt
	pc, err := rocketmq.NewPushConsumer(consumer.WithNameServer(namesrvList(t)),
		consumer.WithGroupName(uniqueName("rg")), consumer.WithInstance(uniqueName("inst")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	if err != nil {
		t.Fatal(err)
	}
	err = pc.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context,
		msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, x := range msgs {
			got = x
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Shutdown() }()
	waitFor(t, "the message at the remoting consumer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got != nil
	})
	mu.Lock()
	defer mu.Unlock()
	if got.MsgId != id {
		t.Errorf("remoting msgId %s, gRPC message id %s", got.MsgId, id)
	}
	if string(got.Body) != "from-grpc" || got.GetTags() != "TagG" || got.GetKeys() != "gkey" ||
		got.GetProperty("origin") != "grpc" {
		t.Errorf("got body %q tag %q keys %q origin %q", got.Body, got.GetTags(), got.GetKeys(),
			got.GetProperty("origin"))
	}
}
