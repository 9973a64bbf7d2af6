// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a real server: added latency, cut connections, a
// black hole that swallows traffic, refused connections. It plays the part
// of toxiproxy without its dependencies or a separate process.
//
//	p, err := faultproxy.New(redis.Addr)
//	client := redis.NewClient(&redis.Options{Addr: p.Addr()})
//	p.Blackhole(true) // the client's next call times out
package faultproxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dialTimeout bounds the proxy's dial to its target; tests run on
// loopback, where a dial that takes longer is a dead target.
const dialTimeout = 5 * time.Second

// Proxy forwards connections from its loopback address to a target.
type Proxy struct {
	target string
	ln     net.Listener

	latency   atomic.Int64 // time.Duration added to data from the target
	trickle   atomic.Int64 // time.Duration between the bytes from the target, 0 for none
	blackhole atomic.Bool
	refuse    atomic.Bool

	mu       sync.Mutex
	injected []byte // bytes to send after the next data from the target
	links    map[*link]struct{}
	closed   bool
	wg       sync.WaitGroup // the accept loop and every link's goroutines
}

// New starts a proxy to target on a free loopback port.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, links: map[*link]struct{}{}}
	p.wg.Go(p.acceptLoop)
	return p, nil
}

// Addr is the address clients dial instead of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays everything the target sends by d, so every request
// and reply round trip takes d longer, pipelined ones included. 0 removes
// the delay for data that arrives from then on.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// Trickle makes data from the target arrive one byte every d, as from a server that dribbles
// a reply; 0 ends it.
func (p *Proxy) Trickle(d time.Duration) { p.trickle.Store(int64(d)) }

// Inject sends b to the client right after the next data from the target, on whichever
// connection it comes: a reply nobody asked for, from a misbehaving server.
func (p *Proxy) Inject(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.injected = append(p.injected, b...)
}

func (p *Proxy) takeInjected() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.injected
	p.injected = nil
	return b
}

// Cut closes every current connection, on both sides. New ones are
// accepted as before.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.close()
	}
}

// Blackhole, while on, reads and drops everything in both directions:
// clients see neither replies nor errors, only their own timeouts. New
// connections are accepted and swallowed without reaching the target.
func (p *Proxy) Blackhole(on bool) { p.blackhole.Store(on) }

// Refuse, while on, closes new connections as soon as they are accepted.
// Connections already open are left alone.
func (p *Proxy) Refuse(on bool) { p.refuse.Store(on) }

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		p.admit(c)
	}
}

// admit sets up a new client connection as the current faults say.
func (p *Proxy) admit(client net.Conn) {
	switch {
	case p.refuse.Load():
		client.Close()
	case p.blackhole.Load():
		p.start(newLink(client, nil))
	default:
		p.wg.Go(func() { p.connect(client) })
	}
}

// connect dials the target for client; if the target is down, the client
// is closed as the target would have refused it.
func (p *Proxy) connect(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		client.Close()
		return
	}
	p.start(newLink(client, server))
}

// start tracks l and runs its pumps; a link without a server only
// swallows what the client sends.
func (p *Proxy) start(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		l.close()
		return
	}
	p.links[l] = struct{}{}
	untrack := func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}
	if l.server == nil {
		p.wg.Go(func() { defer untrack(); p.pump(l, nil, l.client, false) })
		return
	}
	var pumps sync.WaitGroup
	pumps.Go(func() { p.pump(l, l.server, l.client, false) })
	pumps.Go(func() { p.pump(l, l.client, l.server, true) })
	p.wg.Go(func() { pumps.Wait(); untrack() })
}
