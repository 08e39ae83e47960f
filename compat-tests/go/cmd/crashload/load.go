package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// ackLog serializes log lines from the workers.
type ackLog struct {
	mu sync.Mutex
	w  *bufio.Writer
	f  *os.File
}

func (l *ackLog) line(format string, args ...interface{}) {
	l.mu.Lock()
	fmt.Fprintf(l.w, format+"\n", args...)
	l.mu.Unlock()
}

func (l *ackLog) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

type loadStats struct {
	attempts, acks, failures, notOK int64
}

func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	namesrv := fs.String("namesrv", "", "name server address host:port")
	topic := fs.String("topic", "", "topic to send to")
	logPath := fs.String("log", "", "attempt/ack log to append to")
	workers := fs.Int("workers", 8, "concurrent synchronous senders")
	_ = fs.Parse(args)
	if *namesrv == "" || *topic == "" || *logPath == "" {
		return fmt.Errorf("-namesrv, -topic and -log are required")
	}
	rlog.SetLogLevel("fatal")
	f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	log := &ackLog{w: bufio.NewWriterSize(f, 1<<16), f: f}
	p, err := rocketmq.NewProducer(
		producer.WithNameServer(primitive.NamesrvAddr(strings.Split(*namesrv, ";"))),
		producer.WithGroupName(fmt.Sprintf("crashload_pg_%d", os.Getpid())),
		producer.WithInstanceName(fmt.Sprintf("crashload_%d", os.Getpid())),
		producer.WithRetry(0), // we retry ourselves, counting every attempt
		producer.WithSendMsgTimeout(5*time.Second),
	)
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	var stop atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		stop.Store(true)
	}()
	go func() { // keep the log on disk reasonably fresh for a reader that looks early
		for !stop.Load() {
			time.Sleep(200 * time.Millisecond)
			_ = log.flush()
		}
	}()
	var next int64
	var st loadStats
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				sendOne(p, *topic, atomic.AddInt64(&next, 1), log, &st, &stop)
			}
		}()
	}
	wg.Wait()
	_ = p.Shutdown()
	if err := log.flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	fmt.Printf("crashload load: ids=%d attempts=%d acked=%d failed=%d not-ok=%d\n",
		atomic.LoadInt64(&next), st.attempts, st.acks, st.failures, st.notOK)
	return f.Close()
}

// sendOne sends message id until the broker acknowledges it or the run stops. Every attempt is logged before
// it is made, so a copy stored by an attempt whose answer was lost is explained.
func sendOne(p rocketmq.Producer, topic string, id int64, log *ackLog, st *loadStats, stop *atomic.Bool) {
	for {
		log.line("A %d", id)
		atomic.AddInt64(&st.attempts, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := p.SendSync(ctx, primitive.NewMessage(topic, bodyFor(id)))
		cancel()
		switch {
		case err != nil:
			atomic.AddInt64(&st.failures, 1)
		case res.Status != primitive.SendOK:
			atomic.AddInt64(&st.notOK, 1)
		default:
			log.line("K %d %d %d %s", id, res.MessageQueue.QueueId, res.QueueOffset, res.OffsetMsgID)
			atomic.AddInt64(&st.acks, 1)
			return
		}
		if stop.Load() {
			return
		}
		time.Sleep(50 * time.Millisecond) // the broker is probably restarting
	}
}
