// Command crashload drives the crash test (scripts/crash-test.sh).
//
//	crashload load  -namesrv ADDR -topic T -log FILE [-workers N]   send until SIGTERM, log every attempt and ack
//	crashload check -broker ADDR -topic T -log FILE                 read every queue back and verify the log
//
// The load generator sends synchronously from several goroutines with client retries off and retries a failed
// message itself, under the same id, so that every copy the broker may hold is accounted for. Log lines:
//
//	A <id>                               an attempt to send message <id> (written before the send)
//	K <id> <queueId> <queueOffset> <offsetMsgId>   the broker answered SEND_OK: the message is acknowledged
//
// Message <id> has the body bodyFor(id), which the checker recomputes, so a body that changed on disk is caught
// even when its CRC field was rewritten with it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = runLoad(os.Args[2:])
	case "check":
		err = runCheck(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "crashload %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: crashload load|check [flags] (see -h)")
	os.Exit(2)
}

// bodyFor is the body of message id: its id followed by deterministic filler of a length that varies with id
// (100 to 1,123 bytes), so that records do not all share one size.
func bodyFor(id int64) []byte {
	head := fmt.Sprintf("crashload:%d:", id)
	n := 100 + int((id*7919)%1024)
	b := make([]byte, len(head)+n)
	copy(b, head)
	x := uint32(id)*2654435761 + 1
	for i := len(head); i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return b
}
