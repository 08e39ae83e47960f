package grpccompat

import (
	"testing"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

// A message whose type differs from the topic's message.type is refused by the server (this client does not
// check the route's accept_message_types first): Java's proxy answers MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.
func TestWrongMessageTypeRefused(t *testing.T) {
	fifo := createTopic(t, "fifoonly", "FIFO")
	normal := createTopic(t, "normalonly", "NORMAL")
	p := startProducer(t, nil, fifo, normal)
	refused := func(what string, m *rmq.Message) {
		t.Helper()
		_, err := p.Send(bg(), m)
		st, ok := rmq.AsErrRpcStatus(err)
		if !ok || st.GetCode() != int32(v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE) {
			t.Errorf("%s: got %v, want code MESSAGE_PROPERTY_CONFLICT_WITH_TYPE (%d)", what, err,
				v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE)
		}
	}
	refused("NORMAL message to a FIFO topic", message(fifo, "t", "normal"))
	grouped := message(normal, "t", "fifo")
	grouped.SetMessageGroup("g")
	refused("FIFO message to a NORMAL topic", grouped)
	send(t, p, message(normal, "t", "ok"))
}
