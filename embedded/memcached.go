package embedded

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
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

// The meta commands. Flags are checked as memcached 1.6.18 checks them; valid flags the
// embedded server does not act on are refused rather than ignored.
var (
	metaValid = map[mcproto.Kind]string{
		mcproto.MetaGet:    "CDFIJLMNOPRTbcfhklqstuv",
		mcproto.MetaSet:    "CDFIJLMNOPRTbcfhklqstuv",
		mcproto.MetaDelete: "CDFIJLMNOPRTcfhklqstuv",
	}
	metaImplemented = map[mcproto.Kind]string{
		mcproto.MetaGet:    "OTcfkqstv",
		mcproto.MetaSet:    "CFMOTckq",
		mcproto.MetaDelete: "COkq",
	}
	// metaModes maps ms's M flag to the classic command it behaves as.
	metaModes = map[byte]mcproto.Kind{0: mcproto.Set, 'S': mcproto.Set, 'E': mcproto.Add,
		'A': mcproto.Append, 'P': mcproto.Prepend, 'R': mcproto.Replace}
	// metaCodes maps classic replies to meta return codes.
	metaCodes = map[string]string{"STORED": "HD", "DELETED": "HD", "NOT_STORED": "NS",
		"EXISTS": "EX", "NOT_FOUND": "NF"}
)

const (
	errNotSupported = "SERVER_ERROR not supported by the embedded server"
	errBadToken     = "CLIENT_ERROR bad token in command line format"
	// maxOpaque is memcached's longest O flag token, the O included.
	maxOpaque = 32
)

// metaFlags is what a meta command's flags ask for.
type metaFlags struct {
	ret    [][]byte // the flags that shape the reply (c, f, k, O, s, t, T), in request order
	value  bool     // v
	flags  uint32   // F
	ttl    int64    // T
	hasTTL bool
	cas    uint64 // C
	hasCas bool
	mode   byte // M
}

// parseMetaFlags reads a meta command's flags, or returns the error line to reply.
func parseMetaFlags(k mcproto.Kind, args [][]byte) (f metaFlags, errLine string) {
	var seen [256]bool
	supported := true
	for _, a := range args {
		c := a[0]
		if seen[c] || !containsByte(metaValid[k], c) {
			return f, invalidFlag(k, seen[c])
		}
		seen[c] = true
		supported = supported && containsByte(metaImplemented[k], c)
		if errLine := f.apply(a); errLine != "" {
			return f, errLine
		}
	}
	if !supported {
		return f, errNotSupported
	}
	return f, ""
}

func containsByte(s string, c byte) bool { return strings.IndexByte(s, c) >= 0 }

// invalidFlag words the error for an unknown or repeated flag as memcached 1.6.18 does.
func invalidFlag(k mcproto.Kind, duplicate bool) string {
	switch {
	case k == mcproto.MetaDelete:
		return "CLIENT_ERROR invalid or duplicate flag"
	case duplicate:
		return "CLIENT_ERROR duplicate flag"
	}
	return "CLIENT_ERROR invalid flag"
}

// apply records one flag token, or returns the error line for a bad one.
func (f *metaFlags) apply(tok []byte) string {
	var err error
	switch arg := string(tok[1:]); tok[0] {
	case 'v':
		f.value = true
	case 'c', 'f', 'k', 's', 't':
		f.ret = append(f.ret, tok)
	case 'O':
		f.ret = append(f.ret, tok)
		if len(tok) > maxOpaque {
			return "CLIENT_ERROR opaque token too long"
		}
	case 'F':
		var v uint64
		v, err = strconv.ParseUint(arg, 10, 32)
		f.flags = uint32(v)
		return errorLine(err, "CLIENT_ERROR bad command line format")
	case 'T':
		f.ret = append(f.ret, tok) // t flags after it show the new time to live
		f.ttl, err = strconv.ParseInt(arg, 10, 32)
		f.hasTTL = true
		return errorLine(err, errBadToken)
	case 'C':
		f.cas, err = strconv.ParseUint(arg, 10, 64)
		f.hasCas = true
		return errorLine(err, errBadToken)
	case 'M':
		f.mode = tok[len(tok)-1]
		if len(tok) != 2 {
			return "CLIENT_ERROR incorrect length for M token"
		}
	}
	return ""
}

func errorLine(err error, line string) string {
	if err != nil {
		return line
	}
	return ""
}

// meta runs mn, mg, ms and md; ma and me are not supported.
func (s *session) meta(req *mcproto.Request) {
	if req.Kind == mcproto.MetaNoop {
		s.line("MN")
		return
	}
	if _, ok := metaValid[req.Kind]; !ok {
		s.line(errNotSupported)
		return
	}
	f, errLine := parseMetaFlags(req.Kind, req.Args)
	switch {
	case errLine != "": // sent whatever q says
		s.line(errLine)
	case req.Kind == mcproto.MetaGet:
		s.metaGet(req, f)
	case req.Kind == mcproto.MetaSet:
		s.metaSet(req, f)
	default:
		s.metaOutcome(req, s.m.store.remove(req.Keys[0], f.cas, f.hasCas), f.ret, nil)
	}
}

// line appends a reply line that noreply does not hold back.
func (s *session) line(l string) { s.out = append(append(s.out, l...), "\r\n"...) }

func (s *session) metaGet(req *mcproto.Request, f metaFlags) {
	h, ok := s.m.store.lookup(req.Keys[0], f.hasTTL, f.ttl)
	switch {
	case !ok:
		s.metaReply(req, "EN", f.ret, nil)
	case f.value:
		s.metaReply(req, "VA "+strconv.Itoa(len(h.data)), f.ret, &h)
		s.out = append(append(s.out, h.data...), "\r\n"...)
	default:
		s.metaReply(req, "HD", f.ret, &h)
	}
}

// metaSet runs ms as the classic command its M flag names; C makes a set a cas.
func (s *session) metaSet(req *mcproto.Request, f metaFlags) {
	op, ok := metaModes[f.mode]
	if !ok {
		s.line("CLIENT_ERROR invalid mode for ms M token")
		return
	}
	if f.hasCas && op == mcproto.Set {
		op = mcproto.Cas
	}
	classic := mcproto.Request{Kind: op, Keys: req.Keys, Flags: f.flags, Exptime: f.ttl,
		Cas: f.cas, Data: req.Data}
	reply, cas := s.m.store.set(&classic)
	s.metaOutcome(req, reply, f.ret, &hit{cas: cas}) // c shows 0 when nothing was stored
}

// metaOutcome answers ms or md with the meta code of the classic outcome, or with the
// error line the store returned.
func (s *session) metaOutcome(req *mcproto.Request, reply string, ret [][]byte, h *hit) {
	if code, ok := metaCodes[reply]; ok {
		s.metaReply(req, code, ret, h)
		return
	}
	s.line(reply)
}

// metaReply appends a meta reply line with the requested return flags; a miss (h == nil)
// shows only k and O. The q flag holds back what memcached holds back.
func (s *session) metaReply(req *mcproto.Request, code string, ret [][]byte, h *hit) {
	start := len(s.out)
	s.out = append(s.out, code...)
	for _, tok := range ret {
		if tok[0] == 'T' && h != nil {
			h.ttl = h.touchedTTL // memcached applies T where it stands among the flags
			continue
		}
		s.out = appendRetFlag(s.out, tok, req.Keys[0], h)
	}
	s.out = append(s.out, "\r\n"...)
	if req.Noreply && mcproto.QuietSuppressed(req.Kind, s.out[start:]) {
		s.out = s.out[:start]
	}
}

func appendRetFlag(out, tok, key []byte, h *hit) []byte {
	switch {
	case tok[0] == 'k':
		return append(append(out, " k"...), key...)
	case tok[0] == 'O':
		return append(append(out, ' '), tok...)
	case h == nil || tok[0] == 'T':
		return out
	}
	out = append(out, ' ', tok[0])
	switch tok[0] {
	case 'c':
		return strconv.AppendUint(out, h.cas, 10)
	case 'f':
		return strconv.AppendUint(out, uint64(h.flags), 10)
	case 's':
		return strconv.AppendInt(out, int64(len(h.data)), 10)
	}
	return strconv.AppendInt(out, h.ttl, 10) // t
}

const (
	// maxStoreBytes caps the store: the shipped default config runs it on developers'
	// machines, where a cache must not grow without bound. Least recently used items go first.
	maxStoreBytes = 64 << 20
	// entryOverhead is roughly what an item costs besides its key and value (map slot, list
	// element, header), so that a flood of tiny items counts too.
	entryOverhead = 64
	// maxRelativeExptime is memcached's REALTIME_MAXDELTA: a larger exptime is a unix time.
	maxRelativeExptime = 30 * 24 * 60 * 60

	errNonNumeric  = "CLIENT_ERROR cannot increment or decrement non-numeric value"
	errOutOfMemory = "SERVER_ERROR out of memory storing object"
)

type entry struct {
	key     string
	flags   uint32
	expires int64 // unix second, 0 for never
	cas     uint64
	data    []byte // never written once stored, so readers may keep it past the lock
}

func (e *entry) size() int { return len(e.key) + len(e.data) + entryOverhead }

// hit is a copy of what a lookup found, with its remaining time to live in seconds (-1 for
// none) before and after the lookup touched it.
type hit struct {
	flags           uint32
	cas             uint64
	data            []byte
	ttl, touchedTTL int64
}

// store is the item map, in least recently used order, capped at maxBytes.
type store struct {
	mu                sync.Mutex
	clock             func() time.Time
	maxBytes          int
	items             map[string]*list.Element // values are *entry
	lru               list.List                // most recently used first
	bytes             int
	lastCas           uint64
	flushAt           int64 // unix second when a delayed flush_all takes effect, 0 if none
	stored, evictions uint64
}

func newStore(maxBytes int) *store {
	return &store{clock: time.Now, maxBytes: maxBytes, items: make(map[string]*list.Element)}
}

// expiresAt reads an exptime as memcached does: 0 never, up to 30 days relative to now,
// larger an absolute unix time, negative already past.
func expiresAt(exptime, now int64) int64 {
	switch {
	case exptime < 0:
		return -1
	case exptime == 0 || exptime > maxRelativeExptime:
		return exptime
	}
	return now + exptime
}

// nowLocked returns the current unix second, first carrying out a delayed flush_all that
// has come due.
func (s *store) nowLocked() int64 {
	now := s.clock().Unix()
	if s.flushAt != 0 && now >= s.flushAt {
		s.clearLocked()
	}
	return now
}

func (s *store) clearLocked() {
	clear(s.items)
	s.lru.Init()
	s.bytes, s.flushAt = 0, 0
}

// findLocked returns key's live entry, or nil; an expired one is dropped.
func (s *store) findLocked(key string, now int64) *entry {
	el := s.items[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*entry)
	if e.expires != 0 && e.expires <= now {
		s.dropLocked(el)
		return nil
	}
	s.lru.MoveToFront(el)
	return e
}

func (s *store) dropLocked(el *list.Element) {
	e := s.lru.Remove(el).(*entry)
	delete(s.items, e.key)
	s.bytes -= e.size()
}

// putLocked stores e under a new cas unique, in place of any entry of its key, and evicts
// the least recently used entries past the size cap.
func (s *store) putLocked(e *entry) uint64 {
	if el := s.items[e.key]; el != nil {
		s.dropLocked(el)
	}
	s.lastCas++
	e.cas = s.lastCas
	s.items[e.key] = s.lru.PushFront(e)
	s.bytes += e.size()
	s.stored++
	for s.bytes > s.maxBytes && s.lru.Len() > 1 {
		s.dropLocked(s.lru.Back())
		s.evictions++
	}
	return e.cas
}

// set runs a storage command and returns memcached's reply and the new cas unique (0 when
// nothing was stored). A Cas on append or prepend (ms with C) must match too.
func (s *store) set(req *mcproto.Request) (reply string, cas uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	old := s.findLocked(string(req.Keys[0]), now)
	if reply := refusal(req, old); reply != "" {
		return reply, 0
	}
	e := &entry{key: string(req.Keys[0]), flags: req.Flags,
		expires: expiresAt(req.Exptime, now), data: bytes.Clone(req.Data)}
	if req.Kind == mcproto.Append || req.Kind == mcproto.Prepend {
		e = joined(req.Kind, old, req.Data)
		if len(e.data) > mcproto.DefaultItemSizeMax {
			return errOutOfMemory, 0
		}
	}
	return "STORED", s.putLocked(e)
}

// refusal returns memcached's reply when req may not store over old (nil when missing), or
// "" when it may.
func refusal(req *mcproto.Request, old *entry) string {
	k := req.Kind
	joins := k == mcproto.Append || k == mcproto.Prepend
	switch {
	case old == nil && k == mcproto.Cas:
		return "NOT_FOUND"
	case old == nil && (joins || k == mcproto.Replace):
		return "NOT_STORED"
	case old == nil:
		return ""
	case k == mcproto.Add:
		return "NOT_STORED"
	case (k == mcproto.Cas || joins && req.Cas != 0) && old.cas != req.Cas:
		return "EXISTS"
	}
	return ""
}

// joined returns old with data appended or prepended; flags and expiry stay old's.
func joined(op mcproto.Kind, old *entry, data []byte) *entry {
	e := *old
	if op == mcproto.Append {
		e.data = slices.Concat(old.data, data)
	} else {
		e.data = slices.Concat(data, old.data)
	}
	return &e
}

// remove deletes key, if its cas unique matches when hasCas.
func (s *store) remove(key []byte, cas uint64, hasCas bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.findLocked(string(key), s.nowLocked())
	switch {
	case e == nil:
		return "NOT_FOUND"
	case hasCas && e.cas != cas:
		return "EXISTS"
	}
	s.dropLocked(s.items[e.key])
	return "DELETED"
}

// lookup returns key's item, first setting its expiry when touch is set.
func (s *store) lookup(key []byte, touch bool, exptime int64) (hit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	e := s.findLocked(string(key), now)
	if e == nil {
		return hit{}, false
	}
	h := hit{flags: e.flags, cas: e.cas, data: e.data, ttl: ttl(e.expires, now)}
	if touch {
		e.expires = expiresAt(exptime, now)
	}
	h.touchedTTL = ttl(e.expires, now)
	return h, true
}

// ttl returns the seconds left until expires, or -1 for never.
func ttl(expires, now int64) int64 {
	if expires == 0 {
		return -1
	}
	return expires - now
}

func (s *store) touch(key []byte, exptime int64) string {
	if _, ok := s.lookup(key, true, exptime); ok {
		return "TOUCHED"
	}
	return "NOT_FOUND"
}

// arith runs incr or decr: 64-bit unsigned, incr wrapping, decr stopping at 0.
func (s *store) arith(key []byte, incr bool, delta uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.findLocked(string(key), s.nowLocked())
	if e == nil {
		return "NOT_FOUND"
	}
	v, ok := parseCounter(e.data)
	switch {
	case !ok:
		return errNonNumeric
	case incr:
		v += delta
	default:
		v -= min(delta, v)
	}
	digits := strconv.AppendUint(nil, v, 10)
	data := digits
	if pad := len(e.data) - len(digits); pad > 0 {
		// memcached rewrites a number that fits in place, padding it with spaces
		data = append(slices.Clip(data), bytes.Repeat([]byte{' '}, pad)...)
	}
	s.putLocked(&entry{key: e.key, flags: e.flags, expires: e.expires, data: data})
	return string(digits)
}

// parseCounter reads a value as memcached's incr does, with C's strtoull: white space, a
// sign, digits, then white space or the end. "-n" is refused unless it is "-0".
func parseCounter(data []byte) (uint64, bool) {
	s := strings.TrimLeft(string(data), " \t\n\v\f\r")
	neg := strings.HasPrefix(s, "-")
	if neg || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(s)
	} else if !strings.ContainsRune(" \t\n\v\f\r", rune(s[end])) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:end], 10, 64)
	return v, err == nil && (!neg || v == 0)
}

// flush runs flush_all: at once, or when the delay (an exptime) comes due.
func (s *store) flush(delay int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if delay <= 0 {
		s.clearLocked()
		return
	}
	s.flushAt = expiresAt(delay, now)
}

type storeStats struct {
	items, bytes, maxBytes int
	stored, evictions      uint64
}

func (s *store) stats() storeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nowLocked()
	return storeStats{items: s.lru.Len(), bytes: s.bytes, maxBytes: s.maxBytes,
		stored: s.stored, evictions: s.evictions}
}
