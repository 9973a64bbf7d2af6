package faultproxy

import (
	"net"
	"sync"
	"time"
)

// link is one proxied connection: the client's and, unless it was
// swallowed by the black hole, the one to the target.
type link struct {
	client, server net.Conn
	closed         chan struct{} // closed by close
	once           sync.Once
}

func newLink(client, server net.Conn) *link {
	return &link{client: client, server: server, closed: make(chan struct{})}
}

// close closes both sides, which ends both pumps.
func (l *link) close() {
	l.once.Do(func() {
		close(l.closed)
		l.client.Close()
		if l.server != nil {
			l.server.Close()
		}
	})
}

// chunk is data read from one side, stamped with when it is due at the other.
type chunk struct {
	data []byte
	due  time.Time
}

// pumpQueue bounds the chunks a delayed direction holds; when it is full
// the reader waits, as a slow network would make the sender wait.
const pumpQueue = 64

// pump copies src to dst until either side fails, dropping data while the
// black hole is on. A nil dst drops everything. With a latency, each chunk
// is written that long after it was read, so the delay adds to each round
// trip instead of accumulating across pipelined ones.
func (p *Proxy) pump(l *link, dst, src net.Conn, fromTarget bool) {
	chunks := make(chan chunk, pumpQueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if fromTarget {
			p.deliverFromTarget(l, dst, chunks)
		} else {
			l.deliver(dst, chunks)
		}
	}()
	defer func() {
		close(chunks)
		<-done
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			l.close()
			return
		}
		if dst == nil || p.blackhole.Load() {
			continue
		}
		c := chunk{data: append([]byte(nil), buf[:n]...), due: time.Now()}
		if fromTarget {
			c.due = c.due.Add(time.Duration(p.latency.Load()))
		}
		chunks <- c
	}
}

// deliver writes each chunk to dst when it is due, until chunks is
// closed. Once the link is closed it drops the rest.
func (l *link) deliver(dst net.Conn, chunks <-chan chunk) {
	for c := range chunks {
		if !wait(time.Until(c.due), l.closed) {
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			l.close()
		}
	}
}

// wait sleeps d and reports true, or false as soon as closed is.
func wait(d time.Duration, closed <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-closed:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-closed:
		return false
	}
}

// deliverFromTarget is deliver for data from the target, with its faults: a trickle writes
// one byte at a time, and injected bytes follow the next chunk.
func (p *Proxy) deliverFromTarget(l *link, dst net.Conn, chunks <-chan chunk) {
	for c := range chunks {
		if !wait(time.Until(c.due), l.closed) {
			continue
		}
		data := append(c.data, p.takeInjected()...)
		for len(data) > 0 {
			n := len(data)
			if d := time.Duration(p.trickle.Load()); d > 0 {
				n = 1
				if !wait(d, l.closed) {
					break
				}
			}
			if _, err := dst.Write(data[:n]); err != nil {
				l.close()
				break
			}
			data = data[n:]
		}
	}
}
