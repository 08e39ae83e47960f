package grpccompat

import (
	"strings"
	"sync"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// NORMAL topic: Send, then SimpleConsumer Receive/Ack; acked messages do not come back.
func TestNormalSendReceiveAck(t *testing.T) {
	topic := createTopic(t, "normal", "NORMAL")
	group := uniqueName("g")
	p := startProducer(t, nil, topic)
	c := startSimpleConsumer(t, group, topic)
	sent := map[string]string{}
	for i := 0; i < 5; i++ {
		m := message(topic, "TagA", "normal-"+string(rune('0'+i)))
		m.SetKeys("key-" + string(rune('0'+i)))
		m.AddProperty("seq", string(rune('0'+i)))
		sent[send(t, p, m)] = string(m.Body)
	}
	got := map[string]*rmq.MessageView{}
	receiveUntil(t, c, 30*time.Second, waitLimit, func(v *rmq.MessageView) {
		got[v.GetMessageId()] = v
		ack(t, c, v)
	}, func() bool { return len(got) >= len(sent) })
	for id, v := range got {
		body, ok := sent[id]
		if !ok {
			t.Fatalf("received %s, which was not sent", id)
		}
		seq := body[len("normal-"):]
		if string(v.GetBody()) != body || str(v.GetTag()) != "TagA" || v.GetTopic() != topic {
			t.Errorf("%s: body %q tag %q topic %q", id, v.GetBody(), str(v.GetTag()), v.GetTopic())
		}
		if keys := v.GetKeys(); len(keys) != 1 || keys[0] != "key-"+seq {
			t.Errorf("%s: keys %v", id, keys)
		}
		if v.GetProperties()["seq"] != seq {
			t.Errorf("%s: properties %v", id, v.GetProperties())
		}
		if v.GetDeliveryAttempt() != 1 {
			t.Errorf("%s: delivery attempt %d", id, v.GetDeliveryAttempt())
		}
	}
	if again := receiveFor(c, minInvisible, 20*time.Second); len(again) != 0 {
		t.Errorf("acked messages delivered again: %d", len(again))
	}
}

// FIFO topic + FIFO group: messages with a message group carry it to the consumer, in send order.
func TestFifoSendKeepsGroupOrder(t *testing.T) {
	topic := createTopic(t, "fifo", "FIFO")
	group := createGroup(t, "fifo", true)
	p := startProducer(t, nil, topic)
	c := startSimpleConsumer(t, group, topic)
	var want []string
	for i := 0; i < 10; i++ {
		m := message(topic, "fifo", string(rune('a'+i)))
		m.SetMessageGroup("mg-1")
		send(t, p, m)
		want = append(want, string(m.Body))
	}
	var order []string
	receiveUntil(t, c, 30*time.Second, waitLimit, func(v *rmq.MessageView) {
		if str(v.GetMessageGroup()) != "mg-1" {
			t.Errorf("message group %q", str(v.GetMessageGroup()))
		}
		order = append(order, string(v.GetBody()))
		ack(t, c, v)
	}, func() bool { return len(order) >= 10 })
	if strings.Join(order, "") != strings.Join(want, "") {
		t.Errorf("received in order %v, sent %v", order, want)
	}
}

// DELAY topic: a delivery timestamp is carried and honoured (Java's timer fires at 1 s precision).
func TestDelaySendHonoursDeliveryTimestamp(t *testing.T) {
	topic := createTopic(t, "delay", "DELAY")
	group := uniqueName("g")
	p := startProducer(t, nil, topic)
	c := startSimpleConsumer(t, group, topic)
	at := time.Now().Add(10 * time.Second)
	m := message(topic, "delay", "delayed")
	m.SetDelayTimestamp(at)
	id := send(t, p, m)
	var got *rmq.MessageView
	var gotAt time.Time
	receiveUntil(t, c, 30*time.Second, waitLimit, func(v *rmq.MessageView) {
		if got == nil {
			got, gotAt = v, time.Now()
		}
		ack(t, c, v)
	}, func() bool { return got != nil })
	if got.GetMessageId() != id {
		t.Fatalf("received %s, sent %s", got.GetMessageId(), id)
	}
	if early := at.Sub(gotAt); early > time.Second {
		t.Errorf("delivered %v before its delivery timestamp", early)
	}
	if ts := got.GetDeliveryTimestamp(); ts == nil || ts.UnixMilli() != at.UnixMilli() {
		t.Errorf("delivery timestamp %v, want %v", ts, at)
	}
}

// TRANSACTION topic: commit delivers, rollback never does, an orphaned half message is resolved by the
// checker (the broker's check-back, RecoverOrphanedTransactionCommand over Telemetry).
func TestTransactionCommitRollbackCheck(t *testing.T) {
	topic := createTopic(t, "tx", "TRANSACTION")
	group := uniqueName("g")
	var mu sync.Mutex
	checked := map[string]string{}
	p := startProducer(t, &rmq.TransactionChecker{Check: func(v *rmq.MessageView) rmq.TransactionResolution {
		mu.Lock()
		defer mu.Unlock()
		checked[v.GetMessageId()] = string(v.GetBody())
		if string(v.GetBody()) == "orphan" {
			return rmq.COMMIT
		}
		return rmq.ROLLBACK
	}}, topic)
	c := startSimpleConsumer(t, group, topic)

	rb := p.BeginTransaction()
	if _, err := p.SendWithTransaction(bg(), message(topic, "tx", "rolled-back"), rb); err != nil {
		t.Fatalf("send rollback half: %v", err)
	}
	if err := rb.RollBack(); err != nil {
		t.Fatalf("RollBack: %v", err)
	}
	cm := p.BeginTransaction()
	if _, err := p.SendWithTransaction(bg(), message(topic, "tx", "committed"), cm); err != nil {
		t.Fatalf("send commit half: %v", err)
	}
	if err := cm.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	orphan := p.BeginTransaction()
	receipts, err := p.SendWithTransaction(bg(), message(topic, "tx", "orphan"), orphan)
	if err != nil {
		t.Fatalf("send orphan half: %v", err)
	}
	orphanID := receipts[0].MessageID

	got := map[string]string{}
	receiveUntil(t, c, 30*time.Second, 150*time.Second, func(v *rmq.MessageView) {
		got[string(v.GetBody())] = v.GetMessageId()
		ack(t, c, v)
	}, func() bool { return got["committed"] != "" && got["orphan"] != "" })
	if got["orphan"] != orphanID {
		t.Errorf("orphan received as %s, sent as %s", got["orphan"], orphanID)
	}
	mu.Lock()
	if checked[orphanID] != "orphan" {
		t.Errorf("checker was not asked about the orphan: %v", checked)
	}
	mu.Unlock()
	for _, v := range receiveFor(c, 30*time.Second, 10*time.Second) {
		got[string(v.GetBody())] = v.GetMessageId()
	}
	if _, ok := got["rolled-back"]; ok {
		t.Errorf("the rolled-back message was delivered")
	}
}
