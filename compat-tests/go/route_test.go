package compat

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goClientVersion is the remoting `version` rocketmq-client-go v2 puts in every request header.
const goClientVersion = 317

// remotingCall sends one request the way the Go client frames it (JSON header, language GO,
// version 317) on a fresh connection and returns the response code, extFields and body.
func remotingCall(addr string, code int, ext map[string]string) (int, map[string]string, []byte, error) {
	header, err := json.Marshal(map[string]interface{}{
		"code": code, "language": "GO", "version": goClientVersion, "opaque": 1, "flag": 0,
		"remark": "", "extFields": ext,
	})
	if err != nil {
		return 0, nil, nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	frame := make([]byte, 8, 8+len(header))
	binary.BigEndian.PutUint32(frame[0:4], uint32(4+len(header)))
	binary.BigEndian.PutUint32(frame[4:8], uint32(len(header))) // serialize type 0 = JSON
	if _, err := conn.Write(append(frame, header...)); err != nil {
		return 0, nil, nil, err
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return 0, nil, nil, err
	}
	total := binary.BigEndian.Uint32(lenBuf[:])
	if total < 4 || total > 16<<20 {
		return 0, nil, nil, fmt.Errorf("implausible frame length %d", total)
	}
	rest := make([]byte, total)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return 0, nil, nil, err
	}
	word := binary.BigEndian.Uint32(rest[0:4])
	if word>>24 != 0 {
		return 0, nil, nil, fmt.Errorf("response serialize type %d, want 0 (JSON, as requested)", word>>24)
	}
	hlen := word & 0xFFFFFF
	if 4+hlen > total {
		return 0, nil, nil, fmt.Errorf("header length %d exceeds frame %d", hlen, total)
	}
	var resp struct {
		Code      int               `json:"code"`
		Opaque    int               `json:"opaque"`
		Flag      int               `json:"flag"`
		ExtFields map[string]string `json:"extFields"`
	}
	if err := json.Unmarshal(rest[4:4+hlen], &resp); err != nil {
		return 0, nil, nil, fmt.Errorf("response header %q: %v", rest[4:4+hlen], err)
	}
	if resp.Opaque != 1 || resp.Flag&1 != 1 {
		return 0, nil, nil, fmt.Errorf("response opaque %d flag %d, want opaque 1 with the response bit", resp.Opaque, resp.Flag)
	}
	return resp.Code, resp.ExtFields, rest[4+hlen:], nil
}

// routeQuery asks the name server for a topic route (GET_ROUTEINFO_BY_TOPIC, 105).
func routeQuery(addr, topic string) (int, []byte, error) {
	code, _, body, err := remotingCall(addr, 105, map[string]string{"topic": topic})
	return code, body, err
}

// The name server answers a version-317 client with fastjson output: compact, and brokerAddrs keyed
// by unquoted integers ({0:"ip:port"}). rocketmq-client-go splits brokerAddrs by hand, so padding
// breaks the address and (with slaves) quoting makes every broker id 0 — a single-master end-to-end
// run cannot notice the latter, hence this direct check.
func TestRouteJSONForGoClient(t *testing.T) {
	ns := namesrv(t)
	topic := uniqueName("t", "route")
	res := sendSync(t, newProducer(t, "route"), buildMsg(topic, "route-probe", "TagR", nil, ""))

	deadline := time.Now().Add(waitLimit)
	var body []byte
	for {
		code, b, err := routeQuery(ns[0], topic)
		if err != nil {
			t.Fatalf("GET_ROUTEINFO_BY_TOPIC: %v", err)
		}
		if code == 0 {
			body = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET_ROUTEINFO_BY_TOPIC(%s) still answers code %d after %v", topic, code, waitLimit)
		}
		time.Sleep(200 * time.Millisecond)
	}
	text := string(body)
	if strings.ContainsAny(text, "\n\t") || strings.Contains(text, ": ") || strings.Contains(text, ", ") {
		t.Errorf("route JSON is not compact: %s", text)
	}
	addrs := regexp.MustCompile(`"brokerAddrs":\{([^}]*)\}`).FindAllStringSubmatch(text, -1)
	if len(addrs) != 1 {
		t.Fatalf("want exactly one brokerAddrs object in %s", text)
	}
	entry := regexp.MustCompile(`^0:"(\d+\.\d+\.\d+\.\d+:\d+)"$`).FindStringSubmatch(addrs[0][1])
	if entry == nil {
		t.Fatalf(`brokerAddrs %q: want one master entry with an unquoted integer key, like 0:"ip:port"`, addrs[0][1])
	}
	if !strings.Contains(text, fmt.Sprintf(`"brokerName":%q`, res.MessageQueue.BrokerName)) {
		t.Errorf("route does not name broker %q: %s", res.MessageQueue.BrokerName, text)
	}
	var route struct {
		QueueDatas []struct {
			BrokerName     string `json:"brokerName"`
			ReadQueueNums  int    `json:"readQueueNums"`
			WriteQueueNums int    `json:"writeQueueNums"`
			Perm           int    `json:"perm"`
		} `json:"queueDatas"`
	}
	// Only the queueDatas part is standard JSON; the unquoted keys make the whole body invalid JSON.
	if qd := regexp.MustCompile(`"queueDatas":(\[[^\]]*\])`).FindStringSubmatch(text); qd == nil {
		t.Errorf("no queueDatas array in %s", text)
	} else if err := json.Unmarshal([]byte(`{"queueDatas":`+qd[1]+`}`), &route); err != nil {
		t.Errorf("queueDatas %s: %v", qd[1], err)
	}
	if len(route.QueueDatas) != 1 {
		t.Fatalf("want one queueData, got %+v", route.QueueDatas)
	}
	q := route.QueueDatas[0]
	if q.BrokerName != res.MessageQueue.BrokerName || q.ReadQueueNums != autoCreatedQueues ||
		q.WriteQueueNums != autoCreatedQueues || q.Perm != 6 {
		t.Errorf("queueData %+v, want broker %s, %d read/write queues, perm 6 (read|write)",
			q, res.MessageQueue.BrokerName, autoCreatedQueues)
	}
}
