package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
)

type slot struct {
	queue  int
	offset int64
}

// stored is what the checker read back: copies per id and the id in each queue slot.
type stored struct {
	copies map[int64]int
	at     map[slot]int64
}

type ack struct {
	queue       int
	offset      int64
	offsetMsgID string
}

// sendLog is what the load generator wrote: attempts per id and the acknowledgement of each acked id.
type sendLog struct {
	attempts map[int64]int
	acks     map[int64]ack
}

func readLog(path string) (*sendLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &sendLog{attempts: map[int64]int{}, acks: map[int64]ack{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		bad := func() error { return fmt.Errorf("%s:%d: malformed line %q", path, n, sc.Text()) }
		if len(fields) < 2 {
			return nil, bad()
		}
		id, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return nil, bad()
		}
		switch {
		case fields[0] == "A" && len(fields) == 2:
			l.attempts[id]++
		case fields[0] == "K" && len(fields) == 5:
			q, err1 := strconv.Atoi(fields[2])
			off, err2 := strconv.ParseInt(fields[3], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, bad()
			}
			if _, dup := l.acks[id]; dup {
				return nil, fmt.Errorf("%s:%d: id %d acknowledged twice", path, n, id)
			}
			l.acks[id] = ack{queue: q, offset: off, offsetMsgID: fields[4]}
		default:
			return nil, bad()
		}
	}
	return l, sc.Err()
}

// checker collects violations; the first few of each run are printed.
type checker struct {
	violations int
}

func (c *checker) fail(format string, args ...interface{}) {
	c.violations++
	if c.violations <= 20 {
		fmt.Printf("VIOLATION: "+format+"\n", args...)
	}
}

func runCheck(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	broker := fs.String("broker", "", "broker address host:port")
	topic := fs.String("topic", "", "topic to read")
	logPath := fs.String("log", "", "the load generator's attempt/ack log")
	maxQueues := fs.Int("queues", 16, "read queue ids 0..queues-1 (empty queues are fine)")
	_ = fs.Parse(args)
	if *broker == "" || *topic == "" || *logPath == "" {
		return fmt.Errorf("-broker, -topic and -log are required")
	}
	sl, err := readLog(*logPath)
	if err != nil {
		return err
	}
	c := &checker{}
	found := &stored{copies: map[int64]int{}, at: map[slot]int64{}}
	records := 0
	for q := 0; q < *maxQueues; q++ {
		n, err := checkQueue(c, *broker, *topic, q, sl, found)
		if err != nil {
			return err
		}
		records += n
	}
	missing, extra := 0, 0
	for id, a := range sl.acks {
		if got, ok := found.at[slot{a.queue, a.offset}]; !ok || got != id {
			missing++
			c.fail("acknowledged message %d at queue %d offset %d: found %d copies, slot holds %v (present %v)",
				id, a.queue, a.offset, found.copies[id], got, ok)
		}
	}
	for id, n := range found.copies {
		if n > sl.attempts[id] {
			extra++
			c.fail("message %d stored %d times but sent %d times", id, n, sl.attempts[id])
		}
	}
	unackedStored, retried := 0, 0
	for id, n := range found.copies {
		if _, ok := sl.acks[id]; !ok {
			unackedStored++
		}
		if n > 1 {
			retried += n - 1
		}
	}
	fmt.Printf("crashload check: records=%d acked=%d attempted=%d stored-unacked=%d duplicates-explained-by-retries=%d missing=%d unexplained-copies=%d violations=%d\n",
		records, len(sl.acks), len(sl.attempts), unackedStored, retried, missing, extra, c.violations)
	if c.violations > 0 {
		return fmt.Errorf("%d violations", c.violations)
	}
	return nil
}

// checkQueue reads queue q from offset 0 to its max offset and checks every record. Returns the record count.
func checkQueue(c *checker, broker, topic string, q int, sl *sendLog, found *stored) (int, error) {
	qs := strconv.Itoa(q)
	minOff, err := queryOffset(broker, 31, topic, qs)
	if err != nil {
		return 0, err
	}
	maxOff, err := queryOffset(broker, 30, topic, qs)
	if err != nil {
		return 0, err
	}
	if minOff != 0 {
		c.fail("queue %d: min offset %d, want 0 (nothing was deleted)", q, minOff)
	}
	expect := minOff
	for expect < maxOff {
		recs, next, err := pull(broker, topic, q, expect)
		if err != nil {
			return 0, fmt.Errorf("queue %d offset %d: %v", q, expect, err)
		}
		if len(recs) == 0 {
			c.fail("queue %d: no message at offset %d below max offset %d (next %d)", q, expect, maxOff, next)
			if next <= expect {
				break
			}
			expect = next
			continue
		}
		for _, r := range recs {
			checkRecord(c, topic, q, expect, r, sl, found)
			expect++
		}
	}
	return int(maxOff - minOff), nil
}

func checkRecord(c *checker, topic string, q int, want int64, r record, sl *sendLog, found *stored) {
	where := fmt.Sprintf("queue %d offset %d", q, want)
	if r.queueOffset != want || r.queueID != q {
		c.fail("%s: record says queue %d offset %d (offsets not dense or out of order)", where, r.queueID, r.queueOffset)
	}
	if r.topic != topic {
		c.fail("%s: topic %q", where, r.topic)
	}
	if crc := int32(crc32.ChecksumIEEE(r.body) & 0x7FFFFFFF); crc != r.bodyCRC {
		c.fail("%s: body CRC field %d, body hashes to %d", where, r.bodyCRC, crc)
	}
	var id int64
	if _, err := fmt.Sscanf(string(r.body), "crashload:%d:", &id); err != nil {
		c.fail("%s: body %q is not a crashload body", where, truncate(r.body))
		return
	}
	if !bytes.Equal(r.body, bodyFor(id)) {
		c.fail("%s: body of message %d differs from what was sent", where, id)
	}
	if sl.attempts[id] == 0 {
		c.fail("%s: message %d was never sent", where, id)
	}
	slot := slot{q, want}
	found.copies[id]++
	found.at[slot] = id
	if a, ok := sl.acks[id]; ok && a.queue == q && a.offset == want && a.offsetMsgID != r.offsetMsgID() {
		c.fail("%s: offsetMsgId %s, acknowledged as %s", where, r.offsetMsgID(), a.offsetMsgID)
	}
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
