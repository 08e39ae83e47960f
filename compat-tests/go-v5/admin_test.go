package grpccompat

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// A minimal remoting client (JSON-serialized headers) for the admin requests the suite needs and the Go
// clients do not offer: UPDATE_AND_CREATE_TOPIC with the message.type attribute (what
// `mqadmin updateTopic -a +message.type=FIFO` sends) and the route lookups around it.

const (
	codeUpdateAndCreateTopic = 17
	codeGetRouteInfoByTopic  = 105
	// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, body: SubscriptionGroupConfig as JSON.
	codeUpdateAndCreateSubscriptionGroup = 200
)

var opaqueSeq int32

type remotingReply struct {
	Code   int    `json:"code"`
	Remark string `json:"remark"`
	Body   []byte `json:"-"`
}

// remotingCall sends one request frame and reads its reply on a fresh connection.
func remotingCall(addr string, code int, ext map[string]string) (*remotingReply, error) {
	return remotingCallWithBody(addr, code, ext, nil)
}

func remotingCallWithBody(addr string, code int, ext map[string]string, body []byte) (*remotingReply, error) {
	header, err := json.Marshal(map[string]interface{}{
		"code": code, "flag": 0, "language": "JAVA", "opaque": atomic.AddInt32(&opaqueSeq, 1), "version": 475,
		"serializeTypeCurrentRPC": "JSON", "extFields": ext,
	})
	if err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	frame := make([]byte, 8, 8+len(header)+len(body))
	binary.BigEndian.PutUint32(frame[0:4], uint32(4+len(header)+len(body)))
	binary.BigEndian.PutUint32(frame[4:8], uint32(len(header)))
	frame = append(append(frame, header...), body...)
	if _, err := conn.Write(frame); err != nil {
		return nil, err
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(lenBuf[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	headerLen := binary.BigEndian.Uint32(buf[0:4]) & 0xFFFFFF
	var reply remotingReply
	if err := json.Unmarshal(buf[4:4+headerLen], &reply); err != nil {
		return nil, err
	}
	reply.Body = buf[4+headerLen:]
	return &reply, nil
}

// Broker addresses in a route body (fastjson writes brokerAddrs with bare numeric keys, not strict JSON).
var addrPattern = regexp.MustCompile(`"(\d+\.\d+\.\d+\.\d+:\d+)"`)

func routeAddrs(t *testing.T, topic string) []string {
	t.Helper()
	reply, err := remotingCall(namesrvAddr(t), codeGetRouteInfoByTopic, map[string]string{"topic": topic})
	if err != nil || reply.Code != 0 {
		return nil
	}
	var addrs []string
	for _, m := range addrPattern.FindAllSubmatch(reply.Body, -1) {
		addrs = append(addrs, string(m[1]))
	}
	return addrs
}

// createTopic creates a 4-queue topic with attribute +message.type=TYPE on the broker(s) serving TBW102 and
// waits until the name server routes it.
func createTopic(t *testing.T, prefix, messageType string) string {
	t.Helper()
	topic := uniqueName(prefix)
	brokers := routeAddrs(t, "TBW102")
	if len(brokers) == 0 {
		t.Fatalf("no broker routes TBW102 at %s", namesrvAddr(t))
	}
	for _, addr := range brokers {
		reply, err := remotingCall(addr, codeUpdateAndCreateTopic, map[string]string{
			"topic": topic, "defaultTopic": "TBW102", "readQueueNums": "4", "writeQueueNums": "4",
			"perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false",
			"attributes": "+message.type=" + messageType,
		})
		if err != nil {
			t.Fatalf("UPDATE_AND_CREATE_TOPIC %s at %s: %v", topic, addr, err)
		}
		if reply.Code != 0 {
			t.Fatalf("UPDATE_AND_CREATE_TOPIC %s at %s: code %d %s", topic, addr, reply.Code, reply.Remark)
		}
	}
	waitFor(t, "route of "+topic, func() bool { return len(routeAddrs(t, topic)) > 0 })
	return topic
}

// createGroup creates a subscription group; fifo = consumeMessageOrderly, what makes a gRPC consumer group
// FIFO (Java's proxy then pops orderly).
func createGroup(t *testing.T, prefix string, fifo bool) string {
	t.Helper()
	group := uniqueName(prefix)
	body, _ := json.Marshal(map[string]interface{}{
		"groupName": group, "consumeEnable": true, "consumeFromMinEnable": true, "consumeBroadcastEnable": true,
		"consumeMessageOrderly": fifo, "retryQueueNums": 1, "retryMaxTimes": 16, "brokerId": 0,
		"whichBrokerWhenConsumeSlowly": 1, "notifyConsumerIdsChangedEnable": true,
	})
	for _, addr := range routeAddrs(t, "TBW102") {
		reply, err := remotingCallWithBody(addr, codeUpdateAndCreateSubscriptionGroup, map[string]string{}, body)
		if err != nil || reply.Code != 0 {
			t.Fatalf("UPDATE_AND_CREATE_SUBSCRIPTIONGROUP %s at %s: %v %+v", group, addr, err, reply)
		}
	}
	return group
}

var nameSeq int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("gov5_%s_%s_%d", prefix, strconv.FormatInt(time.Now().UnixNano(), 36),
		atomic.AddInt64(&nameSeq, 1))
}
