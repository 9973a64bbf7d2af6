package embedded

import (
	"bytes"
	"container/list"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/discoh/discoh/mcproto"
)

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
