package grpccompat

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A message whose type differs from the topic's message.type is refused. The client refuses it itself from
// the route (accept_message_types) once the endpoint's settings ask it to validate; the server's own answer
// is MESSAGE_PROPERTY_CONFLICT_WITH_TYPE (Java's proxy: DefaultTopicMessageTypeValidator), checked here with
// SendMessage through the client's generated stub, which skips the client-side check.
func TestWrongMessageTypeRefused(t *testing.T) {
	fifo := createTopic(t, "fifoonly", "FIFO")
	normal := createTopic(t, "normalonly", "NORMAL")
	p := startProducer(t, nil, fifo, normal)
	if _, err := p.Send(bg(), message(fifo, "t", "normal")); err == nil ||
		!strings.Contains(err.Error(), "not match with topic accept message types") {
		t.Errorf("client: NORMAL message to a FIFO topic: got %v, want the client's message type refusal", err)
	}
	send(t, p, message(normal, "t", "ok"))

	conn, err := grpc.Dial(endpoint(t), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		InsecureSkipVerify: true, // as the client dials: TLS, certificate not verified
	})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := v2.NewMessagingServiceClient(conn)
	rawSend := func(what string, topic string, typ v2.MessageType, group *string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(rawContext(), 10*time.Second)
		defer cancel()
		resp, err := stub.SendMessage(ctx, &v2.SendMessageRequest{Messages: []*v2.Message{{
			Topic: &v2.Resource{Name: topic},
			SystemProperties: &v2.SystemProperties{
				MessageId: fmt.Sprintf("01%030X", time.Now().UnixNano()), BornTimestamp: timestamppb.Now(),
				BornHost: "127.0.0.1", BodyEncoding: v2.Encoding_IDENTITY, MessageType: typ, MessageGroup: group,
			},
			Body: []byte(what),
		}}})
		if err != nil {
			t.Fatalf("%s: SendMessage: %v", what, err)
		}
		if code := resp.GetStatus().GetCode(); code != v2.Code_MESSAGE_PROPERTY_CONFLICT_WITH_TYPE {
			t.Errorf("%s: status %v %q, want MESSAGE_PROPERTY_CONFLICT_WITH_TYPE", what, code,
				resp.GetStatus().GetMessage())
		}
	}
	rawSend("NORMAL message to a FIFO topic", fifo, v2.MessageType_NORMAL, nil)
	group := "g"
	rawSend("FIFO message to a NORMAL topic", normal, v2.MessageType_FIFO, &group)
}

// rawContext carries the metadata the client sends with every call (client.go Sign), without a signature.
func rawContext() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(),
		"x-mq-language", "GO", "x-mq-protocol", "v2", "x-mq-client-version", "5.1.2",
		"x-mq-client-id", uniqueName("rawclient"), "x-mq-request-id", uniqueName("req"),
		"x-mq-date-time", time.Now().UTC().Format("20060102T150405Z"))
}
