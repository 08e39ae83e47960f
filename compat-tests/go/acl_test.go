package compat

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// Plain ACL with the Go client's credentials (the same HMAC-SHA1 signature as Java's AclClientRPCHook).
// Needs a broker started with java-client-tests/src/test/resources/acl-test-plain_acl.yml and aclEnable=true
// (scripts/acl-test.sh), so it runs only with RMQ_ACL_TEST=1.

func aclOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("RMQ_ACL_TEST") != "1" {
		t.Skip("needs a broker with aclEnable=true and acl-test-plain_acl.yml (scripts/acl-test.sh)")
	}
}

var aclUser = primitive.Credentials{AccessKey: "rmqdUser1", SecretKey: "userSecret1"}

func aclSend(t *testing.T, creds *primitive.Credentials, topic, body string) error {
	t.Helper()
	opts := []producer.Option{}
	if creds != nil {
		opts = append(opts, producer.WithCredentials(*creds))
	}
	p := newProducer(t, "acl", opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
	if err == nil && res.Status != primitive.SendOK {
		t.Fatalf("send status %v", res.Status)
	}
	return err
}

func assertAclRefused(t *testing.T, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a refusal with %q, the send succeeded", reason)
	}
	if !strings.Contains(err.Error(), "AclException") || !strings.Contains(err.Error(), reason) {
		t.Fatalf("expected an AclException with %q, got: %v", reason, err)
	}
}

func TestAclSignedProducerAndConsumer(t *testing.T) {
	aclOnly(t)
	topic := uniqueName("t", "acl")
	if err := aclSend(t, &aclUser, topic, "acl-go-body"); err != nil {
		t.Fatalf("signed send: %v", err)
	}
	got := &received{}
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNameServer(namesrv(t)),
		consumer.WithGroupName(uniqueName("cg", "acl")),
		consumer.WithInstance(uniqueName("ci", "acl")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithCredentials(aclUser),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, got.handler); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	pc := &pushConsumer{PushConsumer: c, got: got}
	t.Cleanup(pc.stop)
	msgs := waitCount(t, 1, pc)
	if len(msgs) != 1 || string(msgs[0].Body) != "acl-go-body" {
		t.Fatalf("received %d messages, first %q", len(msgs), string(msgs[0].Body))
	}
}

func TestAclRefusals(t *testing.T) {
	aclOnly(t)
	wrong := primitive.Credentials{AccessKey: "rmqdUser1", SecretKey: "not-the-secret"}
	assertAclRefused(t, aclSend(t, &wrong, uniqueName("t", "aclsig"), "x"), "Check signature failed for accessKey=rmqdUser1")
	assertAclRefused(t, aclSend(t, nil, uniqueName("t", "aclnokey"), "x"), "No accessKey is configured")
	strict := primitive.Credentials{AccessKey: "rmqdStrict1", SecretKey: "strictSecret1"}
	assertAclRefused(t, aclSend(t, &strict, "aclDeniedTopic", "x"), "No default permission for topic:aclDeniedTopic")
}
