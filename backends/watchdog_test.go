package backends

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// stallingNotifier holds the goroutine that completes its call, as a slow consumer of a reply
// would hold a connection's reader.
type stallingNotifier struct{ d time.Duration }

func (n stallingNotifier) CallDone(bool, *Server, int) { time.Sleep(n.d) }

// A reply that came in time but waits unread because discoh's reader is held up (a slow
// consumer, a process starved of CPU) is not a silent server: the watchdog leaves the
// connection alone and the call behind gets its reply.
func TestWatchdogSparesRepliesWaitingUnread(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // +OK to every line, at once
		nc, err := l.Accept()
		if err != nil {
			return
		}
		r := bufio.NewReader(nc)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			nc.Write([]byte("+OK\r\n"))
		}
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(nc, &Options{Framer: lineFramer}, 50*time.Millisecond, nil)
	defer c.close()
	held, behind := NewCall(), NewCall()
	held.Req = append(held.Req, "PING\r\n"...)
	behind.Req = append(behind.Req, "PING\r\n"...)
	held.Notify(stallingNotifier{300 * time.Millisecond})
	c.send(held)
	c.send(behind)
	behind.Wait()
	if behind.Err != nil {
		t.Fatalf("call behind a held reader: %v; want its reply", behind.Err)
	}
}
