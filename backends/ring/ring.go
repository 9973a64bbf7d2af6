// Package ring places keys on servers the way twemproxy (nutcracker 0.5.0)
// does, so a fleet moving from twemproxy keeps every key where it was.
//
// A Ring is built once from a distribution name ("ketama", "modula" or
// "random"), a list of servers and a key hash (see Hash), and is then
// read-only and safe for concurrent use. Owner names the server that holds
// a key; Owners names it and the next distinct servers clockwise, for
// partner copies.
package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

var (
	// ErrUnknownDistribution is returned by New for a distribution name
	// it does not know.
	ErrUnknownDistribution = errors.New("ring: unknown distribution")
	// ErrNoServers is returned by New when no server has a positive weight.
	ErrNoServers = errors.New("ring: no server with a positive weight")
	// ErrBadWeight is returned by New for a negative weight, or weights
	// whose sum does not fit twemproxy's 32-bit total.
	ErrBadWeight = errors.New("ring: bad weight")
	// ErrNoHash is returned by New when a hashing distribution gets a nil
	// HashFunc.
	ErrNoHash = errors.New("ring: no hash function")
)

// Server is one member of a ring.
type Server struct {
	// Name is the string ketama hashes to place the server's points: the
	// name the twemproxy config gives the server ("host:port:weight name"),
	// or DefaultName of its address when the config gives none.
	Name string
	// Weight sets the server's share of keys. A server with weight 0 owns
	// no keys: it is left out exactly as twemproxy leaves out an ejected
	// server (twemproxy itself refuses a zero weight in its config).
	Weight int
}

type distribution int

const (
	ketama distribution = iota
	modula
	random
)

var distributions = map[string]distribution{
	"ketama": ketama,
	"modula": modula,
	"random": random,
}

// Ring maps keys to servers. Every position on the ring belongs to one
// server; a key lands on one position and its owners are the servers met
// walking on from there.
type Ring struct {
	dist   distribution
	hash   HashFunc
	owners []int // owners[p] is the index of the server at position p
	// distinct counts the servers that own at least one position.
	distinct int
	// points[p] is ketama's continuum value at position p.
	points []uint32
	// ends[p] is modula's running total of weights up to and including
	// position p; total is the sum of all weights.
	ends  []uint64
	total uint64
}

// New builds a ring over servers for the named distribution, hashing keys
// with hash. "ketama" and "modula" are twemproxy's, including the order of
// servers mattering for modula and for exact ketama ties. "random" ignores
// the key and picks a server uniformly, as twemproxy does, whatever the
// weights (only weight 0 excludes a server); it suits read-only data copied
// to every server, since a write and a later read of one key may go to
// different servers. hash may be nil for "random" only.
func New(distribution string, servers []Server, hash HashFunc) (*Ring, error) {
	dist, ok := distributions[distribution]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownDistribution, distribution)
	}
	if hash == nil && dist != random {
		return nil, fmt.Errorf("%w for distribution %q", ErrNoHash, distribution)
	}
	if err := checkWeights(servers); err != nil {
		return nil, err
	}
	r := &Ring{dist: dist, hash: hash}
	switch dist {
	case ketama:
		r.buildKetama(servers)
	case modula:
		r.buildModula(servers)
	case random:
		r.buildRandom(servers)
	}
	r.distinct = countDistinct(r.owners)
	return r, nil
}

func checkWeights(servers []Server) error {
	var total uint64
	for i, s := range servers {
		if s.Weight < 0 {
			return fmt.Errorf("%w: server %d (%q) has weight %d", ErrBadWeight, i, s.Name, s.Weight)
		}
		total += uint64(s.Weight)
		if total > math.MaxUint32 {
			return fmt.Errorf("%w: total weight exceeds %d", ErrBadWeight, uint32(math.MaxUint32))
		}
	}
	if total == 0 {
		return ErrNoServers
	}
	return nil
}

func countDistinct(owners []int) int {
	seen := make(map[int]bool)
	for _, s := range owners {
		seen[s] = true
	}
	return len(seen)
}

// Owner returns the index in the servers given to New of the server that
// owns key. It does not allocate.
func (r *Ring) Owner(key []byte) int {
	return r.owners[r.position(key)]
}

// Owners appends to dst the indexes of the first n distinct servers met
// walking the ring clockwise from key's position, the owner first, so
// Owners(key, 1, nil)[0] == Owner(key). It appends fewer than n when fewer
// servers own a position. It does not allocate when dst has room for n more.
func (r *Ring) Owners(key []byte, n int, dst []int) []int {
	n = min(n, r.distinct)
	if n <= 0 {
		return dst
	}
	found := len(dst)
	for p := r.position(key); len(dst)-found < n; p = r.next(p) {
		if s := r.owners[p]; !slices.Contains(dst[found:], s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// CopySets calls each with the first n distinct servers met walking clockwise from every
// position of the ring: each set of servers that holds the copies of some keys. owners is only
// valid during the call. A modula or random ring has one position per weight unit.
func (r *Ring) CopySets(n int, each func(owners []int)) {
	n = min(n, r.distinct)
	if n <= 0 {
		return
	}
	owners := make([]int, 0, n)
	for start := range r.owners {
		owners = owners[:0]
		for p := start; len(owners) < n; p = r.next(p) {
			if s := r.owners[p]; !slices.Contains(owners, s) {
				owners = append(owners, s)
			}
		}
		each(owners)
	}
}

func (r *Ring) next(p int) int {
	if p++; p == len(r.owners) {
		return 0
	}
	return p
}

// position returns where key lands on the ring.
func (r *Ring) position(key []byte) int {
	switch r.dist {
	case ketama:
		return r.ketamaPosition(r.hashKey(key))
	case modula:
		return r.modulaPosition(r.hashKey(key))
	default:
		return rand.IntN(len(r.owners))
	}
}

// hashKey hashes key as twemproxy does, which maps the empty key to 0
// without calling the hash.
func (r *Ring) hashKey(key []byte) uint32 {
	if len(key) == 0 {
		return 0
	}
	return r.hash(key)
}

// DefaultName is the name twemproxy hashes for a server the config does
// not name, given the server's address as the config writes it before the
// weight. For "host:port" it is the address itself, except that port 11211
// is dropped ("host") to keep keys where libmemcached put them. For a unix
// socket path ("/..."), twemproxy's parser keeps the ':' that separates the
// path from the weight, so the name is the path followed by ':'.
func DefaultName(addr string) string {
	const memcachedPort = ":11211"
	if strings.HasPrefix(addr, "/") {
		return addr + ":"
	}
	host, _ := strings.CutSuffix(addr, memcachedPort)
	return host
}
