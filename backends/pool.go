package backends

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/discoh/discoh/backends/ring"
)

// ServerSpec describes one server of a pool as the config gives it.
type ServerSpec struct {
	Addr   string
	Name   string // optional; the ring hashes it instead of Addr when set
	Weight int
}

// PoolConfig describes a pool: its servers, how keys are placed, and how failures are handled.
type PoolConfig struct {
	Name                        string
	Servers                     []ServerSpec
	Hash, Distribution, HashTag string // twemproxy's names
	// Replicas is how many distinct servers hold each key: the ring's next distinct servers.
	Replicas int
	// AutoEject moves a down server's keys to the next live server on the ring, as twemproxy's
	// auto_eject_hosts does; meant for pools with one copy of each key.
	AutoEject bool
	Options   Options
	Failover  *Failover // nil: servers are never marked down and nothing is replayed
}

// Pool is a set of servers and the ring that places keys on them.
type Pool struct {
	Servers   []*Server
	ring      *ring.Ring
	hashTag   string
	timeout   time.Duration
	replicas  int
	autoEject bool
	writes    writes
	down      atomic.Int32 // servers not up, as their health trackers count them
	watchers  watchers     // copy-back to servers that come back restarted or empty
}

// NewPool builds the servers and the ring.
func NewPool(cfg PoolConfig) (*Pool, error) {
	hf, err := ring.Hash(cfg.Hash)
	if err != nil {
		return nil, err
	}
	p := &Pool{Servers: make([]*Server, len(cfg.Servers)), hashTag: cfg.HashTag,
		timeout: cfg.Options.Timeout, replicas: max(cfg.Replicas, 1), autoEject: cfg.AutoEject}
	nodes := make([]ring.Server, len(cfg.Servers))
	for i, sp := range cfg.Servers {
		name := sp.Name
		if name == "" {
			name = ring.DefaultName(sp.Addr) // what twemproxy hashes for an unnamed server
		}
		p.Servers[i] = NewServer(sp.Addr, name, &cfg.Options)
		nodes[i] = ring.Server{Name: name, Weight: sp.Weight}
	}
	if p.ring, err = ring.New(cfg.Distribution, nodes, hf); err != nil {
		return nil, fmt.Errorf("backends: %w", err)
	}
	p.watchers.closing = make(chan struct{})
	if cfg.Failover != nil {
		for _, s := range p.Servers {
			if err := s.guard(cfg.Failover, cfg.Name, &p.down); err != nil {
				p.Close()
				return nil, err
			}
		}
		if cfg.Failover.Protocol.Copy != nil && p.replicas > 1 {
			for i, s := range p.Servers {
				s.watch.notify = func() { p.watch(i) }
			}
		}
	}
	return p, nil
}

// Owner returns the index of the server that owns key, honouring the pool's hash tag.
func (p *Pool) Owner(key []byte) int {
	return p.ring.Owner(ring.HashTag(key, p.hashTag))
}

// Replicas is how many servers hold each key.
func (p *Pool) Replicas() int { return p.replicas }

// Steady reports whether every server is up: no write then has to be journalled for a down
// server's replay (an fsync) before it is sent. One atomic load, whatever the pool's size.
func (p *Pool) Steady() bool { return p.down.Load() == 0 }

// Copies appends the servers that hold key, in ring order, whatever their health: the coherence
// directory keeps a key's guard state on each of them.
func (p *Pool) Copies(key []byte, dst []int) []int {
	return p.ring.Owners(ring.HashTag(key, p.hashTag), p.replicas, dst)
}

// Unreachable returns the sets of servers (by name) that hold the copies of some keys and are
// all down: those keys can be neither read nor written. An auto-eject pool moves such keys to
// the next live server, so only a pool with every server down has any.
func (p *Pool) Unreachable() [][]string {
	if p.autoEject {
		for _, s := range p.Servers {
			if s.Up() {
				return nil
			}
		}
	}
	var sets [][]string
	seen := map[string]bool{}
	p.ring.CopySets(p.replicas, func(owners []int) {
		var names []string
		for _, i := range owners {
			if p.Servers[i].Up() {
				return
			}
			names = append(names, p.Servers[i].Name)
		}
		if key := strings.Join(names, ","); !seen[key] {
			seen[key] = true
			sets = append(sets, names)
		}
	})
	return sets
}

// ReadTargets appends the servers to read key from, best first: its live copies in ring order
// and, in an auto-eject pool whose copies are all down, the next live server on the ring. Empty
// means every server that could hold the key is down.
func (p *Pool) ReadTargets(key []byte, dst []int) []int {
	start := len(dst)
	dst = p.ring.Owners(ring.HashTag(key, p.hashTag), p.replicas, dst)
	live := dst[:start]
	for _, i := range dst[start:] {
		if p.Servers[i].Up() {
			live = append(live, i)
		}
	}
	if len(live) == start && p.autoEject {
		return p.substitute(key, live)
	}
	return live
}

// WriteTargets appends the servers a write of key goes to: every live copy. A copy that is down
// misses a write that another copy takes, and will have key deleted before it serves reads
// again. A write no copy can take is refused and missed by none: it changes nothing, so a
// server that comes back keeps every key it had, as it would without discoh. In an auto-eject
// pool whose copies are all down, the write goes to the next live server on the ring.
func (p *Pool) WriteTargets(key []byte, dst []int) []int {
	start := len(dst)
	dst = p.ring.Owners(ring.HashTag(key, p.hashTag), p.replicas, dst)
	anyUp := false
	for _, i := range dst[start:] {
		anyUp = anyUp || p.Servers[i].Up()
	}
	live := dst[:start]
	for _, i := range dst[start:] {
		if s := p.Servers[i]; s.Up() || (anyUp && !s.Missed(key, nil)) {
			live = append(live, i)
		}
	}
	if len(live) == start && p.autoEject {
		return p.substituteWrite(key, dst[start:], live)
	}
	return live
}

// substituteWrite appends the server that takes a write of key while all of its copies are
// down, and records the key as missed on each copy: when a copy returns it has the key deleted
// before it serves reads, rather than serve the value the write replaced (twemproxy serves it).
func (p *Pool) substituteWrite(key []byte, copies, dst []int) []int {
	var buf [8]int
	copies = append(buf[:0], copies...) // dst shares their array: substitute overwrites them
	start := len(dst)
	dst = p.substitute(key, dst)
	if len(dst) > start {
		for _, i := range copies {
			p.Servers[i].Missed(key, nil)
		}
	}
	return dst
}

// substitute appends the first live server on the ring after key's point.
func (p *Pool) substitute(key []byte, dst []int) []int {
	var all [64]int
	for _, i := range p.ring.Owners(ring.HashTag(key, p.hashTag), len(p.Servers), all[:0]) {
		if p.Servers[i].Up() {
			return append(dst, i)
		}
	}
	return dst
}

// Timeout is the pool's connect, read and write timeout.
func (p *Pool) Timeout() time.Duration { return p.timeout }

// Abort fails every call in flight on the pool's servers and refuses new ones: a shutdown whose
// drain time is up has nothing left to wait for. Close must still be called.
func (p *Pool) Abort() {
	for _, s := range p.Servers {
		if s != nil {
			s.abort()
		}
	}
}

// Close stops copy-backs and closes every server's connections.
func (p *Pool) Close() {
	p.watchers.mu.Lock()
	if !p.watchers.closed {
		p.watchers.closed = true
		close(p.watchers.closing)
	}
	p.watchers.mu.Unlock()
	p.watchers.wg.Wait()
	for _, s := range p.Servers {
		if s != nil {
			s.Close()
		}
	}
}

// SameCopies reports whether every key is held by the same servers, so a command on all of
// them can run on each copy whole.
func (p *Pool) SameCopies(keys [][]byte) bool {
	var first, other [8]int
	want := p.ring.Owners(ring.HashTag(keys[0], p.hashTag), p.replicas, first[:0])
	for _, k := range keys[1:] {
		got := p.ring.Owners(ring.HashTag(k, p.hashTag), p.replicas, other[:0])
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
	}
	return true
}

// writes counts, per key, the writes still on their way to the key's copies. Warm-up asks it so
// it never copies a value back from a partner that a DEL has not reached yet.
type writes struct {
	mu   sync.Mutex
	keys map[string]int
	seqs [writeStripes]atomic.Uint64 // BeginWrite calls so far, by a hash of the key
}

// writeStripes spreads the write counters over keys: a warm-up copies back unless a write of a
// key sharing its counter began, so a write to another key rarely stops it (1 in 4096), where
// one counter for the pool stopped nearly every copy-back under any write load.
const writeStripes = 4096

func writeStripe(key []byte) int { return int(xxhash.Sum64(key) % writeStripes) }

// BeginWrite records a write of key sent to several copies; EndWrite when all have answered.
func (p *Pool) BeginWrite(key []byte) {
	p.writes.mu.Lock()
	defer p.writes.mu.Unlock()
	if p.writes.keys == nil {
		p.writes.keys = make(map[string]int)
	}
	p.writes.keys[string(key)]++
	p.writes.seqs[writeStripe(key)].Add(1)
}

// WriteSeq counts the replicated writes of key (and of the keys sharing its counter) begun so
// far: warm-up copies a value back only if none began while it looked the value up.
func (p *Pool) WriteSeq(key []byte) uint64 { return p.writes.seqs[writeStripe(key)].Load() }

// EndWrite ends what BeginWrite began.
func (p *Pool) EndWrite(key []byte) {
	p.writes.mu.Lock()
	defer p.writes.mu.Unlock()
	if n := p.writes.keys[string(key)]; n > 1 {
		p.writes.keys[string(key)] = n - 1
	} else {
		delete(p.writes.keys, string(key))
	}
}

// Writing reports whether a write of key is still on its way to some of its copies.
func (p *Pool) Writing(key []byte) bool {
	p.writes.mu.Lock()
	defer p.writes.mu.Unlock()
	return p.writes.keys[string(key)] > 0
}
