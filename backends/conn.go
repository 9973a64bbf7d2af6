package backends

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/discoh/discoh/internal/rawio"
)

const (
	// queueDepth bounds the calls waiting for the writer. Senders block when it is full, which
	// pushes back on clients instead of growing memory.
	queueDepth = 4096
	// maxBatchBytes caps one write to the server so one huge batch cannot starve the reader.
	maxBatchBytes = 256 << 10
	// readBufferSize is the reader's initial buffer; it grows to hold the largest reply.
	readBufferSize = 16 << 10
	// replyWindow bounds the reply bytes a connection expects to be owed: calls past it wait in
	// the queue, their deadline not started, rather than in the server's output buffer. Deep
	// pipelines of large values then cost the server a few MB per connection, not hundreds,
	// and the gap between two replies stays short enough for the timeout to mean a dead server.
	replyWindow = 4 << 20
	// firstReplyGuess is the reply size assumed before any reply was seen: the first write
	// carries at most replyWindow/firstReplyGuess calls.
	firstReplyGuess = 64 << 10
)

// conn is one pipelined connection to a server. Calls are written in the order they are sent
// and answered in that order, which is how both Redis and memcached reply.
type conn struct {
	nc      net.Conn
	io      *rawio.Conn // nc, read and written without handing the processor off
	framer  Framer
	answers func(reply, req []byte, kind uint8) bool // Options.Answers
	timeout time.Duration
	queue   chan *Call
	stop    chan struct{} // closed when the connection fails or is closed

	// headSince is when the oldest call waiting for its reply became the oldest: when it was
	// written onto an idle line, or when the reply before it was complete. Reply bytes that
	// trickle in do not move it: a call's deadline counts from when it could be answered.
	// writingSince is when the write in progress began, 0 when none. The watchdog reads both:
	// a timer per connection instead of a deadline per request.
	headSince    atomic.Int64
	writingSince atomic.Int64
	reading      atomic.Bool // the reader waits on the socket (see readerBehind)
	// slow counts the server's calls in flight that may take long however healthy it is
	// (Call.Slow), on all of its connections: while there are any, a silent connection
	// may be waiting behind one.
	slow *atomic.Int32
	// replySize estimates a reply's bytes (see owed); room is signalled when replies were read.
	replySize atomic.Int64
	room      chan struct{}

	wmu sync.Mutex // held by the writer for each write, and by writeNow

	mu      sync.Mutex
	pending []*Call // written, waiting for replies from pending[head]; guarded by mu
	head    int     // guarded by mu
	err     error   // why the connection failed; guarded by mu
}

func newConn(nc net.Conn, opts *Options, timeout time.Duration, slow *atomic.Int32) *conn {
	c := &conn{
		nc:      nc,
		framer:  opts.Framer,
		answers: opts.Answers,
		timeout: timeout,
		slow:    slow,
		queue:   make(chan *Call, queueDepth),
		stop:    make(chan struct{}),
		room:    make(chan struct{}, 1),
	}
	c.replySize.Store(firstReplyGuess)
	c.io = rawio.NewConn(nc)
	go c.writeLoop()
	go c.readLoop()
	if timeout > 0 {
		go c.watchdog()
	}
	return c
}

// watchdog fails the connection when its oldest call has waited for its reply longer than the
// timeout, or a write has been stuck that long: a dead or hung server then costs each client at
// most one timeout, not a wait without end. Slow is not dead: a call that may take long (KEYS,
// a script), and every call while the server runs one, get slowLimit instead, and running out
// of it is not counted against the server's health.
func (c *conn) watchdog() {
	tick := time.NewTicker(min(max(c.timeout/4, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-tick.C:
			if err := c.overdue(now.UnixNano()); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

func (c *conn) overdue(now int64) error {
	if ws := c.writingSince.Load(); ws != 0 && now-ws > int64(c.timeout) {
		return fmt.Errorf("%w: write stuck for %v", ErrTimeout, c.timeout)
	}
	waiting, slow := c.oldest()
	if !waiting {
		return nil
	}
	waited := time.Duration(now - c.headSince.Load())
	busy := slow || (c.slow != nil && c.slow.Load() > 0)
	limit := c.timeout
	if busy {
		// Even a slow command or a server busy with one answers within slowLimit: silence this
		// long is a dead server, and counts.
		limit = slowLimit(c.timeout)
	}
	if waited <= limit || (c.readerBehind() && waited <= slowLimit(c.timeout)) {
		return nil
	}
	return fmt.Errorf("%w: no reply for %v", ErrTimeout, limit)
}

// readerBehind reports whether replies may be in that discoh has not taken yet: its reader is
// not waiting on the socket (it is delivering, held up by a slow consumer or starved of CPU),
// or bytes wait unread in the socket. The server is not silent then, and is not to blame.
func (c *conn) readerBehind() bool {
	return !c.reading.Load() || rawio.Unread(c.nc)
}

// slowLimit is how long a slow call, or a call waiting while its server runs one, may wait
// for its reply: long enough for a KEYS over millions of keys or a script past Redis's own
// 5 s busy limit (after which the server answers others with -BUSY), short enough that a
// server hung during one is found.
func slowLimit(timeout time.Duration) time.Duration { return max(30*time.Second, 10*timeout) }

// send queues call for writing. It never blocks past the connection's failure, and a call that
// lands in the queue as the connection fails is completed with the failure: the writer may have
// drained the queue for the last time just before.
func (c *conn) send(call *Call) {
	select {
	case c.queue <- call:
		if c.broken() {
			c.drainQueue(c.failure())
		}
	case <-c.stop:
		call.complete(nil, c.failure())
	}
}

func (c *conn) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// broken reports whether the connection has failed and must be replaced.
func (c *conn) broken() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// fail closes the connection once and fails every call written or queued on it. A call's reply
// can no longer be told apart from the next one's once a read or write went wrong, so nothing on
// this connection can be trusted after an error.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending[c.head:]
	c.pending, c.head = nil, 0
	close(c.stop)
	c.mu.Unlock()

	c.nc.Close()
	for _, call := range pending {
		call.complete(nil, err)
	}
	c.drainQueue(err)
}

func (c *conn) drainQueue(err error) {
	for {
		select {
		case call := <-c.queue:
			call.complete(nil, err)
		default:
			return
		}
	}
}

// errClosedHere ends the calls on a connection discoh closed itself: a client that hung up
// while blocked or watching, a shutdown. It says nothing about the server's health.
var errClosedHere = fmt.Errorf("%w by discoh", ErrClosed)

func (c *conn) close() { c.fail(errClosedHere) }

// writeLoop batches queued calls into one write: while a write is in progress new calls pile up
// in the queue, and the next write takes all of them.
func (c *conn) writeLoop() {
	var buf []byte
	batch := make([]*Call, 0, 64)
	for {
		select {
		case call := <-c.queue:
			batch = append(batch[:0], call)
		case <-c.stop:
			c.drainQueue(c.failure())
			return
		}
		room := c.awaitRoom()
		if room == 0 {
			batch[0].complete(nil, c.failure())
			c.drainQueue(c.failure())
			return
		}
		buf = append(buf[:0], batch[0].Req...)
		if len(c.queue) == 0 {
			// Let the clients that are about to send run first, so one write carries many
			// requests: a write is a system call, the largest cost per request at low depth.
			runtime.Gosched()
		}
		batch, buf = c.collect(batch, buf, room)
		c.wmu.Lock()
		ok := c.enqueue(batch) && c.writeOrFail(buf)
		c.wmu.Unlock()
		if !ok {
			return
		}
	}
}

// writeNow writes call on the caller's goroutine and returns once it is written (or has
// failed): the caller needs it on the wire before whatever it does next.
func (c *conn) writeNow(call *Call) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.enqueue([]*Call{call}) {
		c.writeOrFail(call.Req)
	}
}

func (c *conn) writeOrFail(buf []byte) bool {
	if err := c.write(buf); err != nil {
		c.fail(err)
		return false
	}
	return true
}

// awaitRoom waits until the replies owed leave room for at least one more call under
// replyWindow, and returns how many calls fit; 0 means the connection failed meanwhile.
func (c *conn) awaitRoom() int {
	for {
		if n := c.roomFor(); n > 0 {
			return n
		}
		select {
		case <-c.room:
		case <-c.stop:
			return 0
		}
	}
}

// roomFor is how many more calls fit under replyWindow, at the estimated reply size; one
// always fits on an idle line, however large its reply.
func (c *conn) roomFor() int {
	size := max(c.replySize.Load(), 1)
	c.mu.Lock()
	owed := int64(len(c.pending) - c.head)
	c.mu.Unlock()
	if owed == 0 {
		return int(max(replyWindow/size, 1))
	}
	return int(max((replyWindow-owed*size)/size, 0))
}

// sawReply moves the reply size estimate towards a reply of n bytes: up at once, so a burst of
// large values is bounded from its first reply, down by a sixteenth a reply.
func (c *conn) sawReply(n int) {
	size := c.replySize.Load()
	if int64(n) >= size {
		c.replySize.Store(int64(n))
	} else {
		c.replySize.Store(size - (size-int64(n))>>4)
	}
}

// collect adds whatever else is queued, up to maxBatchBytes and room calls in all, to batch
// and buf.
func (c *conn) collect(batch []*Call, buf []byte, room int) ([]*Call, []byte) {
	for len(buf) < maxBatchBytes && len(batch) < room {
		select {
		case call := <-c.queue:
			batch = append(batch, call)
			buf = append(buf, call.Req...)
		default:
			return batch, buf
		}
	}
	return batch, buf
}

// enqueue records batch as written, in order, before the bytes go out, so the reader always
// finds the call a reply belongs to. It arms the read deadline when the line was idle.
func (c *conn) enqueue(batch []*Call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		for _, call := range batch {
			call.complete(nil, c.err)
		}
		return false
	}
	if c.head == len(c.pending) {
		c.headSince.Store(time.Now().UnixNano())
	}
	for _, call := range batch {
		if call.Slow && c.slow != nil {
			c.slow.Add(1)
			call.slow = c.slow
		}
	}
	c.pending = append(c.pending, batch...)
	return true
}

func (c *conn) write(buf []byte) error {
	c.writingSince.Store(time.Now().UnixNano())
	_, err := c.io.Write(buf)
	c.writingSince.Store(0)
	return wrapNetErr(err)
}

// readLoop reads replies and completes calls in the order they were written.
func (c *conn) readLoop() {
	buf := make([]byte, 0, readBufferSize)
	for {
		c.reading.Store(true)
		n, err := c.io.Read(buf[len(buf):cap(buf)])
		c.reading.Store(false)
		if err != nil {
			c.fail(wrapNetErr(err))
			return
		}
		buf = buf[:len(buf)+n]
		consumed, err := c.deliver(buf)
		if consumed > 0 {
			// The call now oldest could be answered from here: one clock read per read, not
			// one per reply.
			c.headSince.Store(time.Now().UnixNano())
			select {
			case c.room <- struct{}{}:
			default:
			}
		}
		if err != nil {
			c.fail(err)
			return
		}
		buf = compact(buf, consumed)
	}
}

// compact drops the first consumed bytes of buf and makes room for the next read, growing buf
// when a reply is larger than it.
func compact(buf []byte, consumed int) []byte {
	rest := copy(buf, buf[consumed:])
	buf = buf[:rest]
	if rest == cap(buf) {
		grown := make([]byte, rest, 2*cap(buf))
		copy(grown, buf)
		buf = grown
	}
	return buf
}

// deliver completes every call whose whole reply is in buf and returns the bytes used.
func (c *conn) deliver(buf []byte) (int, error) {
	used := 0
	for {
		call, shape := c.first()
		if call == nil {
			if used < len(buf) {
				return used, errNoRequest
			}
			return used, nil
		}
		n, err := c.scan(buf[used:], shape)
		if err != nil || n == 0 {
			return used, err
		}
		if !c.pop(call) {
			return used, c.failure() // failed meanwhile: fail completed every pending call
		}
		if c.answers != nil && !c.answers(buf[used:used+n], call.Req, call.Kind) {
			// Popped, the call is this reader's to complete, and its request stays put.
			err := fmt.Errorf("backends: %w: %q cannot answer %q (replies out of step)",
				ErrOutOfStep, clip(buf[used:used+n]), clip(call.Req))
			call.complete(nil, err)
			return used, err
		}
		c.sawReply(n)
		call.complete(buf[used:used+n], nil)
		used += n
	}
}

// ErrOutOfStep marks a reply that cannot belong to the call it would answer: the connection's
// replies are out of step with its requests. A Framer wraps it; the connection is closed and its
// calls fail, but the server, which answers, is not counted as failing.
var ErrOutOfStep = errors.New("reply of the wrong type")

// clip shortens a reply quoted in an error.
func clip(b []byte) []byte { return b[:min(len(b), 32)] }

// errNoRequest is a reply that arrived with no call waiting: the connection's replies are out of
// step with its requests, and it cannot be trusted with any call (reply pairing, issue 13).
var errNoRequest = errors.New("backends: reply with no request")

// replyShape is what the reader needs of a call to frame its reply, copied while the call is
// pending: once a failure completes the call, its owner may release and reuse it.
type replyShape struct {
	kind   uint8
	frames int
}

// scan frames shape.frames replies at the start of buf; 0 means not all have arrived.
func (c *conn) scan(buf []byte, shape replyShape) (int, error) {
	total := 0
	for range shape.frames {
		n, err := c.framer(buf[total:], shape.kind)
		if err != nil {
			return 0, fmt.Errorf("backends: bad reply from server: %w", err)
		}
		if n == 0 {
			return 0, nil
		}
		total += n
	}
	return total, nil
}

// oldest reports whether a call waits for its reply, and whether the oldest one is slow. The
// call itself is not returned: once its reply is in, its owner may release it.
func (c *conn) oldest() (waiting, slow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.head == len(c.pending) {
		return false, false
	}
	return true, c.pending[c.head].Slow
}

func (c *conn) first() (*Call, replyShape) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.head == len(c.pending) {
		return nil, replyShape{}
	}
	call := c.pending[c.head]
	return call, replyShape{call.Kind, call.frames()}
}

// pop removes call from the head of the pending calls and reports whether it was still there:
// a failure in between (the watchdog, a write error, a close) completes every pending call
// itself, and call must not be completed twice.
func (c *conn) pop(call *Call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.head == len(c.pending) || c.pending[c.head] != call {
		return false
	}
	c.pending[c.head] = nil
	c.head++
	if c.head == len(c.pending) {
		c.pending, c.head = c.pending[:0], 0
	}
	return true
}

func wrapNetErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrClosed, err)
}
