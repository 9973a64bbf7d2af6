package mcserver

import (
	"bytes"
	"slices"
	"sync"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// mcGet is a get, gets, gat or gats whose keys live on several servers, or are too many for
// one part: one call per server, or per part of a huge get (see parts.go), merged back in the
// client's key order. mcGets are pooled with their scratch, so a steady stream of multi-gets
// allocates nothing.
type mcGet struct {
	kind    mcproto.Kind
	exptime int64 // gat and gats
	calls   []*backends.Call
	keys    proxy.KeyList // copies of the client's keys, in its order
	order   []int         // for each key, the index of its part's call
	win     proxy.Window  // sends the calls part by part

	parts proxy.PartSet // scratch: the keys of each server's open part
	rest  [][]byte      // scratch: what is left of each server's reply
}

var mcGetPool = sync.Pool{New: func() any { return new(mcGet) }}

// dispatchGet sends each server its share of the keys, in parts when huge, or the whole
// request to the one server that owns them all.
func (s *Session) dispatchGet(req *mcproto.Request) {
	s.m.Stats.CmdGet.Add(int64(len(req.Keys)))
	if len(req.Keys) == 0 { // gat with no keys: nothing to route, memcached answers END
		s.queueLit(mcproto.AppendEnd)
		return
	}
	owners, servers := s.owners(req.Keys)
	if len(servers) == 1 && len(req.Keys) <= proxy.PartKeys { // keys are short: partKeys fit a part
		call := s.getCall(req, req.Keys)
		s.send(servers[0], call)
		s.queue = append(s.queue, mcReply{call: call, kind: req.Kind, keys: len(req.Keys), read: true})
		return
	}
	g := mcGetPool.Get().(*mcGet)
	g.kind, g.exptime = req.Kind, req.Exptime
	n := len(s.m.pool.Servers)
	g.parts.Begin(n)
	g.win.Begin(n)
	for i, key := range req.Keys {
		g.keys.Add(key)
		g.order = append(g.order, g.put(req, owners[i], req.Keys[i:i+1]))
	}
	for _, server := range g.parts.Open {
		if keys := g.parts.Take(server); len(keys) > 0 {
			g.close(req, server, keys)
		}
	}
	g.win.Start(s.send)
	s.queue = append(s.queue, mcReply{get: g, kind: req.Kind})
}

// put adds a key to server's part and returns the index of the part's call; a full part is
// closed at once.
func (g *mcGet) put(req *mcproto.Request, server int, key [][]byte) int {
	opened, full := g.parts.Put(server, nil, key)
	if opened {
		g.parts.Index[server] = len(g.calls)
		g.calls = append(g.calls, backends.NewCall())
	}
	c := g.parts.Index[server]
	if full {
		g.close(req, server, g.parts.Take(server))
	}
	return c
}

// close encodes the keys of server's part (after the part's nil head) into its call and hands
// it to the window.
func (g *mcGet) close(req *mcproto.Request, server int, part [][]byte) {
	call := g.calls[g.parts.Index[server]]
	call.Req = mcproto.AppendGetLine(call.Req, req.Kind, req.Exptime, part[1:]...)
	call.Kind = uint8(req.Kind)
	clear(part) // the keys point into the client's input
	g.win.Add(call, server)
}

// owners returns each key's best live server and the distinct servers in first-seen order.
// Both slices are the session's scratch, valid until the next call.
func (s *Session) owners(keys [][]byte) (owners, servers []int) {
	owners, servers = s.ownerOf[:0], s.servers[:0]
	for _, key := range keys {
		owner := s.targets(key, false)[0]
		owners = append(owners, owner)
		if slices.Index(servers, owner) < 0 {
			servers = append(servers, owner)
		}
	}
	s.ownerOf, s.servers = owners, servers
	return owners, servers
}

func (s *Session) getCall(req *mcproto.Request, keys [][]byte) *backends.Call {
	call := backends.NewCall()
	call.Req = mcproto.AppendGetLine(call.Req, req.Kind, req.Exptime, keys...)
	call.Kind = uint8(req.Kind)
	return call
}

// countHits counts the VALUE blocks of a get reply into the hit and miss counters.
func (s *Session) countHits(reply []byte, keys int) {
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

// finish sends the parts still held, waits for every part and writes the values in the
// client's key order. A part's reply holds its keys' values in the order it asked for them,
// misses left out.
func (g *mcGet) finish(s *Session, dst []byte) []byte {
	g.win.Drain(s.send)
	defer g.release()
	rest := append(g.rest[:0], make([][]byte, len(g.calls))...)
	g.rest = rest
	failed := false
	for i, call := range g.calls {
		if call.Err != nil {
			failed = true
			continue
		}
		if _, _, _, err := mcproto.NextValue(call.Reply); err != nil {
			return append(dst, call.Reply...) // an error line from the server
		}
		rest[i] = call.Reply
	}
	if failed {
		if call := g.elsewhere(s, rest); call != nil {
			return s.appendBackendError(dst, call)
		}
	}
	hits := 0
	for i, c := range g.order {
		v, next, ok, _ := mcproto.NextValue(rest[c])
		if ok && bytes.Equal(v.Key, g.keys.At(i)) {
			dst = append(dst, v.Raw...)
			rest[c] = next
			hits++
		}
	}
	s.m.Stats.GetHits.Add(int64(hits))
	s.m.Stats.GetMisses.Add(int64(len(g.order) - hits))
	return mcproto.AppendEnd(dst)
}

// elsewhere answers the keys of the failed parts from their other copies, key by key, into
// rest as the VALUE blocks the parts would have returned. It returns the failed call of a key
// that no copy answers, nil when every key was answered. It makes one pass over the keys,
// however many parts failed.
func (g *mcGet) elsewhere(s *Session, rest [][]byte) *backends.Call {
	for k, c := range g.order {
		failed := g.calls[c]
		if failed.Err == nil {
			continue
		}
		key := g.keys.At(k)
		req := mcproto.AppendGetLine(nil, g.kind, g.exptime, key)
		call := proxy.AskCopies(s.m.pool, key, failed.Server, req, uint8(g.kind), s.send)
		if call == nil {
			return failed
		}
		if v, _, found, _ := mcproto.NextValue(call.Reply); found {
			rest[c] = append(rest[c], v.Raw...)
		}
		call.Release()
	}
	return nil
}

// release releases the calls and returns g, emptied, to the pool.
func (g *mcGet) release() {
	for _, call := range g.calls {
		call.Release()
	}
	clear(g.calls)
	clear(g.rest)
	g.calls, g.rest = g.calls[:0], g.rest[:0]
	g.win.Reset()
	g.keys.Reset()
	if len(g.order) > proxy.KeptKeys { // a huge get's scratch does not stay in the pool
		g.keys = proxy.KeyList{}
	}
	g.order = proxy.Kept(g.order, proxy.KeptKeys)
	mcGetPool.Put(g)
}
