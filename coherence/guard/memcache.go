package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/discoh/discoh/mcproto"
)

// MemcacheDoer sends one request to the memcached server that owns key and returns its
// complete reply, as mcproto.ScanResponse frames replies to kind. The guard reads the reply
// before its next call and keeps no part of it.
type MemcacheDoer interface {
	Do(ctx context.Context, key []byte, req []byte, kind mcproto.Kind) (reply []byte, err error)
}

// Memcache is the guard state on memcached: one item per key whose data is a header (the
// guard state) followed by the value, changed by gets and then cas (add when there is no
// item), so that value and state change together or not at all. Read strips the header.
// Windows and value expiries are in the discoh instance's clock: instances' clocks must
// agree to well within a window.
type Memcache struct {
	do  MemcacheDoer
	now func() time.Time
}

// NewMemcache returns the guard that sends its requests through do.
func NewMemcache(do MemcacheDoer) *Memcache { return &Memcache{do: do, now: time.Now} }

// maxAttempts bounds the gets/cas rounds of one operation under contention, and
// maxBackoff the random pause before each retry, so that writers racing on one hot key
// spread out instead of colliding again at once: at most about maxAttempts*maxBackoff/2.
const (
	maxAttempts = 16
	maxBackoff  = 2 * time.Millisecond
)

// item is what gets returned for a key.
type item struct {
	found bool
	flags uint32
	cas   uint64
	data  []byte
}

// change is an item an operation writes in place of the one it read.
type change struct {
	header header
	value  []byte
	flags  uint32
	until  time.Time // the item must live until then; zero for ever
}

// decision is an operation's verdict on the item it read at now: a change to write with
// cas, or nil to stop there; either way with the operation's outcome.
type decision func(it item, now time.Time) (*change, Outcome)

// Invalidate implements Guard. The item outlives the window by as long again, so that a
// fill after the window still finds the lease the invalidation took. If other writers win
// every cas, it writes its tombstone unconditionally: a tombstone may overwrite anything (a
// fill, an install, another tombstone: all lose to an invalidation), whereas deleting the
// item, as it once did, dropped the guard state with the value, so the next miss was granted
// a fresh lease and a fill read before the write could be stored (G2, G5).
func (m *Memcache) Invalidate(ctx context.Context, key []byte, window time.Duration) (Version, error) {
	var v Version
	var seen header
	tombstone := func(now time.Time) *change {
		v = nextVersion(seen.version, now)
		end := now.Add(window)
		return &change{header: header{version: v, windowEnd: end.UnixMilli(), state: statePending}, until: end.Add(window)}
	}
	_, err := m.update(ctx, key, func(it item, now time.Time) (*change, Outcome) {
		seen, _, _ = parseHeader(it.data) // no item, or one with no header: version 0
		return tombstone(now), Stored
	})
	if errors.Is(err, ErrContended) {
		// Read the version once more, so the tombstone's is above what the winners stored.
		if it, gerr := m.gets(ctx, key); gerr == nil {
			if h, _, _ := parseHeader(it.data); h.version > seen.version {
				seen = h
			}
		}
		now := m.now()
		err = m.set(ctx, key, tombstone(now), now)
	}
	return v, err
}

// Install implements Guard.
func (m *Memcache) Install(ctx context.Context, key []byte, v Version, val Value) (Outcome, error) {
	return m.update(ctx, key, func(it item, now time.Time) (*change, Outcome) {
		h, _, ok := parseHeader(it.data)
		if out, refused := checkVersion(it, h, ok, v); refused {
			return nil, out
		}
		return storedChange(h, val, now), Stored
	})
}

// InstallAbsent implements Guard.
func (m *Memcache) InstallAbsent(ctx context.Context, key []byte, v Version) (Outcome, error) {
	return m.update(ctx, key, func(it item, now time.Time) (*change, Outcome) {
		h, _, ok := parseHeader(it.data)
		if out, refused := checkVersion(it, h, ok, v); refused {
			return nil, out
		}
		h.state, h.expires = stateAbsent, 0
		return &change{header: h, until: time.UnixMilli(h.windowEnd)}, Stored
	})
}

// checkVersion refuses an install when the guard state is gone (G5) or a newer invalidation
// replaced the version the pull was started for (G3).
func checkVersion(it item, h header, hasHeader bool, v Version) (Outcome, bool) {
	switch {
	case !it.found || !hasHeader:
		return GuardMissing, true
	case h.version != v:
		return RefusedStale, true
	}
	return Stored, false
}

// Fill implements Guard.
func (m *Memcache) Fill(ctx context.Context, key []byte, val Value) (Outcome, error) {
	return m.update(ctx, key, func(it item, now time.Time) (*change, Outcome) {
		h, _, ok := parseHeader(it.data)
		switch {
		case !it.found || !ok:
			// The guard state may have been evicted with the tombstone that would refuse
			// this fill (G5).
			return nil, GuardMissing
		case h.inWindow(now):
			// The directory's pull is authoritative inside the window (G2).
			return nil, RefusedWindow
		case h.lease != h.version:
			// No read missed since the last invalidation or store: the fill may carry a
			// value read before that invalidation (G2).
			return nil, RefusedNoLease
		}
		return storedChange(h, val, now), Stored
	})
}

// storedChange stores val under h's version and window, spending the lease. The item lives
// as long as the value and at least to the end of the window.
func storedChange(h header, val Value, now time.Time) *change {
	h.state, h.lease, h.expires = stateStored, 0, 0
	ch := &change{value: val.Data, flags: val.Flags}
	if val.TTL > 0 {
		expires := now.Add(val.TTL)
		h.expires = expires.UnixMilli()
		ch.until = later(expires, time.UnixMilli(h.windowEnd))
	}
	ch.header = h
	return ch
}

// Read implements Guard.
func (m *Memcache) Read(ctx context.Context, key []byte, leaseFor time.Duration) (Reading, error) {
	var r Reading
	_, err := m.update(ctx, key, func(it item, now time.Time) (*change, Outcome) {
		var ch *change
		r, ch = readItem(it, now, leaseFor)
		return ch, Stored
	})
	return r, err
}

// readItem interprets an item for Read, and returns the change that grants a lease on a miss.
func readItem(it item, now time.Time, leaseFor time.Duration) (Reading, *change) {
	h, value, ok := parseHeader(it.data)
	switch {
	case it.found && !ok:
		return Reading{State: Hit, Value: Value{Data: value, Flags: it.flags}}, nil
	case !it.found:
		// First miss (or the state was evicted): a version above any the key had before.
		v := Version(now.UnixMicro())
		return Reading{}, &change{header: header{version: v, lease: v, state: stateCreated}, until: now.Add(leaseFor)}
	case h.hasValue(now):
		return Reading{State: Hit, Value: Value{Data: value, Flags: it.flags}}, nil
	case h.state == statePending && h.inWindow(now):
		return Reading{State: Pending, Version: h.version}, nil
	case h.lease == h.version:
		return Reading{}, nil
	}
	if h.state == stateStored { // its value expired
		h.state = stateAbsent
	}
	h.lease, h.expires = h.version, 0
	return Reading{}, &change{header: h, until: later(now.Add(leaseFor), time.UnixMilli(h.windowEnd))}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// update runs one operation: read the item, decide, write the change with cas, and start
// over when another writer changed the item in between.
func (m *Memcache) update(ctx context.Context, key []byte, decide decision) (Outcome, error) {
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return 0, err
		}
		it, err := m.gets(ctx, key)
		if err != nil {
			return 0, err
		}
		now := m.now()
		ch, out := decide(it, now)
		if ch == nil {
			return out, nil
		}
		stored, err := m.write(ctx, key, it, ch, now)
		if err != nil || stored {
			return out, err
		}
	}
	return 0, ErrContended
}

// backoff pauses before a retry, for a random time that grows with the attempt.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	pause := time.Duration(rand.Int64N(int64(min(maxBackoff, time.Duration(attempt)*maxBackoff/4)) + 1))
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Memcache) gets(ctx context.Context, key []byte) (item, error) {
	reply, err := m.do.Do(ctx, key, mcproto.AppendGetLine(nil, mcproto.Gets, 0, key), mcproto.Gets)
	if err != nil {
		return item{}, err
	}
	v, _, ok, err := mcproto.NextValue(reply)
	switch {
	case errors.Is(err, mcproto.ErrErrorReply):
		return item{}, fmt.Errorf("%w: %w", ErrBackend, err)
	case err != nil:
		return item{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	case !ok:
		return item{}, nil
	}
	return item{found: true, flags: v.Flags, cas: v.Cas, data: bytes.Clone(v.Data)}, nil
}

// write stores ch with cas against the item read, or with add when there was none. It
// reports false when another writer got there first.
func (m *Memcache) write(ctx context.Context, key []byte, it item, ch *change, now time.Time) (bool, error) {
	req := mcproto.Request{Kind: mcproto.Add, Keys: [][]byte{key}, Flags: ch.flags, Exptime: exptime(now, ch.until)}
	req.Data = append(ch.header.append(make([]byte, 0, headerLen+len(ch.value))), ch.value...)
	if it.found {
		req.Kind, req.Cas = mcproto.Cas, it.cas
	}
	reply, err := m.do.Do(ctx, key, mcproto.AppendStorage(nil, &req, false), req.Kind)
	if err != nil {
		return false, err
	}
	switch string(reply) {
	case "STORED\r\n":
		return true, nil
	case "EXISTS\r\n", "NOT_FOUND\r\n", "NOT_STORED\r\n":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s", ErrBackend, bytes.TrimRight(reply, "\r\n"))
}

// set stores ch whatever the item holds.
func (m *Memcache) set(ctx context.Context, key []byte, ch *change, now time.Time) error {
	req := mcproto.Request{Kind: mcproto.Set, Keys: [][]byte{key}, Flags: ch.flags, Exptime: exptime(now, ch.until)}
	req.Data = append(ch.header.append(make([]byte, 0, headerLen+len(ch.value))), ch.value...)
	reply, err := m.do.Do(ctx, key, mcproto.AppendStorage(nil, &req, false), req.Kind)
	if err == nil && string(reply) != "STORED\r\n" {
		err = fmt.Errorf("%w: %s", ErrBackend, bytes.TrimRight(reply, "\r\n"))
	}
	return err
}

// maxRelativeExptime is the longest exptime memcached reads as seconds from now; larger
// values are Unix times.
const maxRelativeExptime = 30 * 24 * 60 * 60

// exptime is the memcached expiry of an item that must live until until (zero: for ever).
// It rounds up to whole seconds, so items outlive what they hold rather than the reverse.
func exptime(now, until time.Time) int64 {
	if until.IsZero() {
		return 0
	}
	secs := max(int64((until.Sub(now)+time.Second-1)/time.Second), 1)
	if secs > maxRelativeExptime {
		return now.Unix() + secs
	}
	return secs
}
