package backends

import (
	"fmt"
	"time"

	"github.com/discoh/discoh/backends/ring"
)

// ServerSpec describes one server of a pool as the config gives it.
type ServerSpec struct {
	Addr   string
	Name   string // optional; the ring hashes it instead of Addr when set
	Weight int
}

// Pool is a set of servers and the ring that places keys on them.
type Pool struct {
	Servers []*Server
	ring    *ring.Ring
	hashTag string
	timeout time.Duration
}

// NewPool builds the servers and the ring. hash and distribution take twemproxy's names.
func NewPool(specs []ServerSpec, hash, distribution, hashTag string, opts *Options) (*Pool, error) {
	hf, err := ring.Hash(hash)
	if err != nil {
		return nil, err
	}
	nodes := make([]ring.Server, len(specs))
	p := &Pool{Servers: make([]*Server, len(specs)), hashTag: hashTag, timeout: opts.Timeout}
	for i, sp := range specs {
		name := sp.Name
		if name == "" {
			name = ring.DefaultName(sp.Addr) // what twemproxy hashes for an unnamed server
		}
		p.Servers[i] = NewServer(sp.Addr, name, opts)
		nodes[i] = ring.Server{Name: name, Weight: sp.Weight}
	}
	p.ring, err = ring.New(distribution, nodes, hf)
	if err != nil {
		return nil, fmt.Errorf("backends: %w", err)
	}
	return p, nil
}

// Owner returns the index of the server that owns key, honouring the pool's hash tag.
func (p *Pool) Owner(key []byte) int {
	return p.ring.Owner(ring.HashTag(key, p.hashTag))
}

// Timeout is the pool's connect, read and write timeout.
func (p *Pool) Timeout() time.Duration { return p.timeout }

// Close closes every server's connections.
func (p *Pool) Close() {
	for _, s := range p.Servers {
		s.Close()
	}
}
