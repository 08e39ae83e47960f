package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// call sends one request with a JSON header and returns the response code, ext fields and body.
func call(addr string, code int, ext map[string]string) (int, map[string]string, []byte, error) {
	header, err := json.Marshal(map[string]interface{}{
		"code": code, "language": "GO", "version": 317, "opaque": 1, "flag": 0, "extFields": ext,
	})
	if err != nil {
		return 0, nil, nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	frame := make([]byte, 8, 8+len(header))
	binary.BigEndian.PutUint32(frame[0:4], uint32(4+len(header)))
	binary.BigEndian.PutUint32(frame[4:8], uint32(len(header)))
	if _, err := conn.Write(append(frame, header...)); err != nil {
		return 0, nil, nil, err
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return 0, nil, nil, err
	}
	total := binary.BigEndian.Uint32(lenBuf[:])
	if total < 4 || total > 64<<20 {
		return 0, nil, nil, fmt.Errorf("implausible frame length %d", total)
	}
	rest := make([]byte, total)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return 0, nil, nil, err
	}
	hlen := binary.BigEndian.Uint32(rest[0:4]) & 0xFFFFFF
	if 4+hlen > total {
		return 0, nil, nil, fmt.Errorf("header length %d exceeds frame %d", hlen, total)
	}
	var resp struct {
		Code      int               `json:"code"`
		Remark    string            `json:"remark"`
		ExtFields map[string]string `json:"extFields"`
	}
	if err := json.Unmarshal(rest[4:4+hlen], &resp); err != nil {
		return 0, nil, nil, fmt.Errorf("response header: %v", err)
	}
	return resp.Code, resp.ExtFields, rest[4+hlen:], nil
}

// queryOffset asks GET_MAX_OFFSET (30) or GET_MIN_OFFSET (31).
func queryOffset(broker string, code int, topic, queue string) (int64, error) {
	rc, ext, _, err := call(broker, code, map[string]string{"topic": topic, "queueId": queue})
	if err != nil {
		return 0, err
	}
	if rc != 0 {
		return 0, fmt.Errorf("request %d for %s/%s: response code %d", code, topic, queue, rc)
	}
	return strconv.ParseInt(ext["offset"], 10, 64)
}

// pull reads up to 32 records of a queue from offset (PULL_MESSAGE with the subscription in the header).
// An empty result carries the broker's nextBeginOffset.
func pull(broker, topic string, q int, offset int64) ([]record, int64, error) {
	rc, ext, body, err := call(broker, 11, map[string]string{
		"consumerGroup": "crashload_checker", "topic": topic, "queueId": strconv.Itoa(q),
		"queueOffset": strconv.FormatInt(offset, 10), "maxMsgNums": "32", "sysFlag": "4",
		"commitOffset": "0", "suspendTimeoutMillis": "0", "subscription": "*", "subVersion": "0",
		"expressionType": "TAG",
	})
	if err != nil {
		return nil, 0, err
	}
	next, _ := strconv.ParseInt(ext["nextBeginOffset"], 10, 64)
	switch rc {
	case 0:
		recs, err := decodeRecords(body)
		return recs, next, err
	case 19, 20, 21: // PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY, PULL_OFFSET_MOVED
		return nil, next, nil
	default:
		return nil, 0, fmt.Errorf("pull response code %d", rc)
	}
}

// record is one commit-log record as the broker returned it (the CommitLog layout).
type record struct {
	bodyCRC     int32
	queueID     int
	queueOffset int64
	physOffset  int64
	storeHost   []byte // address bytes followed by the int32 port
	body        []byte
	topic       string
}

// offsetMsgID is storeHost + commit-log offset in upper-case hex, as the broker builds it.
func (r record) offsetMsgID() string {
	b := append(append([]byte(nil), r.storeHost...), make([]byte, 8)...)
	binary.BigEndian.PutUint64(b[len(r.storeHost):], uint64(r.physOffset))
	return fmt.Sprintf("%X", b)
}

func decodeRecords(buf []byte) ([]record, error) {
	var out []record
	for len(buf) > 0 {
		r, n, err := decodeRecord(buf)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		buf = buf[n:]
	}
	return out, nil
}

const (
	magicV1 = int32(-626843481) // 0xDAA320A7
	magicV2 = int32(-626843477) // 0xDAA320AB
)

// decodeRecord parses one record and checks that TOTALSIZE matches where its fields end.
func decodeRecord(buf []byte) (record, int, error) {
	var r record
	c := cursor{buf: buf}
	total := int(c.i32())
	magic := c.i32()
	if c.err != nil || total < 20 || total > len(buf) {
		return r, 0, fmt.Errorf("record TOTALSIZE %d with %d bytes left", total, len(buf))
	}
	if magic != magicV1 && magic != magicV2 {
		return r, 0, fmt.Errorf("bad magic %#x", uint32(magic))
	}
	c.buf = buf[:total]
	r.bodyCRC = c.i32()
	r.queueID = int(c.i32())
	c.i32() // FLAG
	r.queueOffset = c.i64()
	r.physOffset = c.i64()
	sysFlag := c.i32()
	c.i64() // BORNTIMESTAMP
	c.bytes(hostLen(sysFlag & 0x10))
	c.i64() // STORETIMESTAMP
	r.storeHost = c.bytes(hostLen(sysFlag & 0x20))
	c.i32() // RECONSUMETIMES
	c.i64() // PREPAREDTRANSACTIONOFFSET
	r.body = c.bytes(int(c.i32()))
	if magic == magicV2 {
		r.topic = string(c.bytes(int(uint16(c.i16()))))
	} else {
		r.topic = string(c.bytes(int(c.u8())))
	}
	c.bytes(int(uint16(c.i16()))) // properties
	if c.err != nil {
		return r, 0, c.err
	}
	if c.pos != total {
		return r, 0, fmt.Errorf("TOTALSIZE %d but fields end at %d", total, c.pos)
	}
	return r, total, nil
}

func hostLen(v6 int32) int {
	if v6 != 0 {
		return 20
	}
	return 8
}

type cursor struct {
	buf []byte
	pos int
	err error
}

func (c *cursor) bytes(n int) []byte {
	if c.err != nil || n < 0 || c.pos+n > len(c.buf) {
		if c.err == nil {
			c.err = fmt.Errorf("record truncated at %d (need %d more)", c.pos, n)
		}
		return nil
	}
	b := c.buf[c.pos : c.pos+n]
	c.pos += n
	return b
}

func (c *cursor) u8() uint8 {
	if b := c.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (c *cursor) i16() int16 {
	if b := c.bytes(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (c *cursor) i32() int32 {
	if b := c.bytes(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (c *cursor) i64() int64 {
	if b := c.bytes(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}
