package embedded

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/discoh/discoh/mcproto"
)

// memcachedVersion is what the embedded server answers to version.
const memcachedVersion = "1.6.18-embedded"

const (
	// readSize is a connection's first read buffer; it grows to hold the largest request
	// mcproto's limits allow, and shrinks back once idle.
	readSize = 16 << 10
	// flushSize is how much reply a connection gathers before writing mid-batch, so that a
	// pipeline of large gets cannot pile up unbounded output.
	flushSize = 64 << 10
	// writeTimeout drops a client that stops reading its replies.
	writeTimeout = 10 * time.Second
)

// Memcached is an in-process memcached-compatible server speaking the text protocol (classic
// commands and the common meta commands) over TCP, with an LRU store capped at 64 MB.
type Memcached struct {
	ln      net.Listener
	store   *store
	started time.Time

	mu     sync.Mutex // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup // the accept loop and every connection
}

// StartMemcached starts a server on addr ("127.0.0.1:0" picks a free port).
func StartMemcached(addr string) (*Memcached, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: memcached on %s: %w", addr, err)
	}
	m := &Memcached{ln: ln, store: newStore(maxStoreBytes), started: time.Now(),
		conns: make(map[net.Conn]struct{})}
	m.wg.Add(1)
	go m.acceptLoop()
	return m, nil
}

// Addr is the address the server listens on.
func (m *Memcached) Addr() string { return m.ln.Addr().String() }

// Close stops listening, closes every client connection and waits for their goroutines.
func (m *Memcached) Close() {
	m.mu.Lock()
	m.closed = true
	for nc := range m.conns {
		nc.Close()
	}
	m.mu.Unlock()
	m.ln.Close()
	m.wg.Wait()
}

func (m *Memcached) acceptLoop() {
	defer m.wg.Done()
	var backoff time.Duration
	for {
		nc, err := m.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of file descriptors, say: wait for some to be freed
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !m.track(nc) {
			nc.Close()
			return
		}
		go m.serve(nc)
	}
}

// track registers a new connection, unless the server is closing.
func (m *Memcached) track(nc net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.conns[nc] = struct{}{}
	m.wg.Add(1)
	return true
}

func (m *Memcached) serve(nc net.Conn) {
	defer m.wg.Done()
	s := &session{m: m, nc: nc, buf: make([]byte, readSize)}
	s.run()
	m.mu.Lock()
	delete(m.conns, nc)
	m.mu.Unlock()
	nc.Close()
}

// session is one client connection: requests are run in order, replies written per batch.
type session struct {
	m      *Memcached
	nc     net.Conn
	parser mcproto.Parser
	req    mcproto.Request
	buf    []byte // the read buffer
	in     []byte // its unparsed part
	skip   int    // bytes of a rejected request still to arrive and be discarded
	out    []byte
	err    error // the first write error; the connection is then done
}

func (s *session) run() {
	for {
		rerr := s.read()
		open := s.handle()
		s.flush()
		if rerr != nil || !open || s.err != nil {
			return
		}
		if len(s.in) == 0 && len(s.buf) > readSize {
			s.buf = make([]byte, readSize) // let a large request's buffer go
		}
	}
}

// read compacts the unparsed input to the buffer's start, doubles the buffer when that
// input fills it (mcproto bounds how far), and reads more.
func (s *session) read() error {
	n := copy(s.buf, s.in)
	if n == len(s.buf) {
		s.buf = append(s.buf, make([]byte, n)...)
	}
	r, err := s.nc.Read(s.buf[n:])
	s.in = s.buf[:n+r]
	skip := s.skip
	s.skip = 0
	s.discard(skip)
	return err
}

// discard drops n bytes of input, including bytes yet to arrive.
func (s *session) discard(n int) {
	d := min(n, len(s.in))
	s.in = s.in[d:]
	s.skip += n - d
}

// handle runs the complete requests in the input and reports whether the connection stays
// open.
func (s *session) handle() bool {
	for len(s.in) > 0 && s.err == nil {
		n, err := s.parser.Parse(s.in, mcproto.Limits{}, &s.req)
		var perr *mcproto.Error
		switch {
		case errors.As(err, &perr):
			if !s.reject(perr) {
				return false
			}
			continue
		case err != nil:
			return false
		case n == 0:
			return true
		case s.req.Kind == mcproto.Quit:
			return false
		}
		s.exec(&s.req)
		s.in = s.in[n:]
		s.flushIfFull()
	}
	return s.err == nil
}

// reject answers a request memcached refuses, as mcproto describes.
func (s *session) reject(e *mcproto.Error) bool {
	s.out = e.AppendReply(s.out)
	if e.Delete {
		s.m.store.remove(s.req.Keys[0], 0, false)
	}
	s.discard(e.Skip)
	return !e.Close
}

func (s *session) flushIfFull() {
	if len(s.out) >= flushSize {
		s.flush()
	}
}

// flush writes the gathered replies; after a failure it only drops them.
func (s *session) flush() {
	if len(s.out) > 0 && s.err == nil {
		s.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, s.err = s.nc.Write(s.out)
	}
	s.out = s.out[:0]
}

// exec runs one parsed request and appends its reply.
func (s *session) exec(req *mcproto.Request) {
	st := s.m.store
	switch k := req.Kind; {
	case k.IsRetrieval():
		s.retrieve(req)
	case k.IsStorage():
		reply, _ := st.set(req)
		s.reply(req, reply)
	case k.IsMeta():
		s.meta(req)
	case k == mcproto.Delete:
		s.reply(req, st.remove(req.Keys[0], 0, false))
	case k == mcproto.Incr || k == mcproto.Decr:
		s.reply(req, st.arith(req.Keys[0], k == mcproto.Incr, req.Delta))
	case k == mcproto.Touch:
		s.reply(req, st.touch(req.Keys[0], req.Exptime))
	case k == mcproto.FlushAll:
		st.flush(req.Exptime)
		s.reply(req, "OK")
	case k == mcproto.Verbosity:
		s.reply(req, "OK")
	case k == mcproto.Version:
		s.reply(req, "VERSION "+memcachedVersion)
	case k == mcproto.Stats:
		s.stats(req)
	default:
		s.reply(req, "ERROR")
	}
}

// reply appends a one-line reply unless the request asked for noreply.
func (s *session) reply(req *mcproto.Request, line string) {
	if !req.Noreply {
		s.out = append(append(s.out, line...), "\r\n"...)
	}
}

// retrieve answers get, gets, gat and gats; the last two also set each found key's expiry.
func (s *session) retrieve(req *mcproto.Request) {
	touch := req.Kind == mcproto.Gat || req.Kind == mcproto.Gats
	withCas := req.Kind == mcproto.Gets || req.Kind == mcproto.Gats
	for _, key := range req.Keys {
		if h, ok := s.m.store.lookup(key, touch, req.Exptime); ok {
			s.out = mcproto.AppendValue(s.out, key, h.flags, h.data, h.cas, withCas)
			s.flushIfFull()
		}
	}
	s.out = mcproto.AppendEnd(s.out)
}

// statSubcommands are the stats arguments memcached knows; the embedded server has nothing
// to say about them.
var statSubcommands = map[string]bool{"settings": true, "items": true, "slabs": true,
	"sizes": true, "conns": true}

func (s *session) stats(req *mcproto.Request) {
	switch {
	case len(req.Args) > 0 && string(req.Args[0]) == "reset":
		s.reply(req, "RESET")
	case len(req.Args) > 0 && statSubcommands[string(req.Args[0])]:
		s.reply(req, "END")
	case len(req.Args) > 0:
		s.reply(req, "ERROR")
	default:
		s.generalStats()
	}
}

func (s *session) generalStats() {
	st := s.m.store.stats()
	s.m.mu.Lock()
	conns := len(s.m.conns)
	s.m.mu.Unlock()
	now := time.Now()
	for _, stat := range []struct {
		name  string
		value any
	}{
		{"pid", os.Getpid()}, {"uptime", int64(now.Sub(s.m.started).Seconds())},
		{"time", now.Unix()}, {"version", memcachedVersion}, {"curr_connections", conns},
		{"curr_items", st.items}, {"total_items", st.stored}, {"bytes", st.bytes},
		{"evictions", st.evictions}, {"limit_maxbytes", st.maxBytes},
	} {
		s.out = fmt.Appendf(s.out, "STAT %s %v\r\n", stat.name, stat.value)
	}
	s.out = mcproto.AppendEnd(s.out)
}
