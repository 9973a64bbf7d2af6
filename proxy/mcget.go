package proxy

import (
	"bytes"
	"sync"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
)

// mcGet is a get, gets, gat or gats whose keys live on several servers: one call per server,
// merged back in the client's key order. mcGets are pooled with their scratch, so a steady
// stream of multi-gets allocates nothing.
type mcGet struct {
	kind    mcproto.Kind
	exptime int64 // gat and gats
	calls   []*backends.Call
	keys    keyList // copies of the client's keys, in its order
	order   []int   // for each key, the index of its server's call

	share [][]byte // scratch: one server's keys
	rest  [][]byte // scratch: what is left of each server's reply
}

var mcGetPool = sync.Pool{New: func() any { return new(mcGet) }}

// dispatchGet sends each server its share of the keys, or the whole request to the one server
// that owns them all.
func (s *MemcacheSession) dispatchGet(req *mcproto.Request) {
	s.m.Stats.CmdGet.Add(int64(len(req.Keys)))
	if len(req.Keys) == 0 { // gat with no keys: nothing to route, memcached answers END
		s.queueLit(mcproto.AppendEnd)
		return
	}
	owners, servers := s.owners(req.Keys)
	if len(servers) == 1 {
		call := s.getCall(req, req.Keys)
		s.send(servers[0], call)
		s.queue = append(s.queue, mcReply{call: call, kind: req.Kind, keys: len(req.Keys), read: true})
		return
	}
	g := mcGetPool.Get().(*mcGet)
	g.kind, g.exptime = req.Kind, req.Exptime
	for i, key := range req.Keys {
		g.keys.add(key)
		g.order = append(g.order, indexOf(servers, owners[i]))
	}
	for _, server := range servers {
		share := g.share[:0]
		for i, key := range req.Keys {
			if owners[i] == server {
				share = append(share, key)
			}
		}
		call := s.getCall(req, share)
		clear(share) // the keys point into the client's input
		g.share = share
		s.send(server, call)
		g.calls = append(g.calls, call)
	}
	s.queue = append(s.queue, mcReply{get: g, kind: req.Kind})
}

// owners returns each key's best live server and the distinct servers in first-seen order.
// Both slices are the session's scratch, valid until the next call.
func (s *MemcacheSession) owners(keys [][]byte) (owners, servers []int) {
	owners, servers = s.ownerOf[:0], s.servers[:0]
	for _, key := range keys {
		owner := s.targets(key, false)[0]
		owners = append(owners, owner)
		if indexOf(servers, owner) < 0 {
			servers = append(servers, owner)
		}
	}
	s.ownerOf, s.servers = owners, servers
	return owners, servers
}

func (s *MemcacheSession) getCall(req *mcproto.Request, keys [][]byte) *backends.Call {
	call := backends.NewCall()
	call.Req = mcproto.AppendGetLine(call.Req, req.Kind, req.Exptime, keys...)
	call.Kind = uint8(req.Kind)
	return call
}

// countHits counts the VALUE blocks of a get reply into the hit and miss counters.
func (s *MemcacheSession) countHits(reply []byte, keys int) {
	hits := 0
	for {
		_, rest, ok, _ := mcproto.NextValue(reply)
		if !ok {
			break
		}
		hits++
		reply = rest
	}
	s.m.Stats.GetHits.Add(int64(hits))
	s.m.Stats.GetMisses.Add(int64(max(keys-hits, 0)))
}

// finish waits for every server and writes the values in the client's key order. A server's
// reply holds its keys' values in the order it was asked, misses left out.
func (g *mcGet) finish(s *MemcacheSession, dst []byte) []byte {
	for _, call := range g.calls {
		call.Wait()
	}
	defer g.release()
	rest := append(g.rest[:0], make([][]byte, len(g.calls))...)
	g.rest = rest
	for i, call := range g.calls {
		if call.Err != nil {
			r, ok := g.elsewhere(s, i)
			if !ok {
				return s.appendBackendError(dst, call)
			}
			rest[i] = r
			continue
		}
		if _, _, _, err := mcproto.NextValue(call.Reply); err != nil {
			return append(dst, call.Reply...) // an error line from the server
		}
		rest[i] = call.Reply
	}
	hits := 0
	for i, c := range g.order {
		v, next, ok, _ := mcproto.NextValue(rest[c])
		if ok && bytes.Equal(v.Key, g.keys.at(i)) {
			dst = append(dst, v.Raw...)
			rest[c] = next
			hits++
		}
	}
	s.m.Stats.GetHits.Add(int64(hits))
	s.m.Stats.GetMisses.Add(int64(len(g.order) - hits))
	return mcproto.AppendEnd(dst)
}

// elsewhere answers the keys of failed part i from their other copies, key by key, as the
// VALUE blocks the part would have returned; ok is false when a key has no copy that answers.
func (g *mcGet) elsewhere(s *MemcacheSession, i int) (blocks []byte, ok bool) {
	failed := g.calls[i]
	for k, c := range g.order {
		if c != i {
			continue
		}
		key := g.keys.at(k)
		req := mcproto.AppendGetLine(nil, g.kind, g.exptime, key)
		call := askCopies(s.m.pool, key, failed.Server, req, uint8(g.kind), s.send)
		if call == nil {
			return nil, false
		}
		if v, _, found, _ := mcproto.NextValue(call.Reply); found {
			blocks = append(blocks, v.Raw...)
		}
		call.Release()
	}
	return mcproto.AppendEnd(blocks), true
}

// release releases the calls and returns g, emptied, to the pool.
func (g *mcGet) release() {
	for _, call := range g.calls {
		call.Release()
	}
	clear(g.calls)
	clear(g.rest)
	g.calls, g.rest = g.calls[:0], g.rest[:0]
	g.keys.reset()
	g.order = g.order[:0]
	mcGetPool.Put(g)
}
