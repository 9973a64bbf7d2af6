package mcserver

import (
	"bytes"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// firstCopy waits for every copy of a write, records the key as missed by the copies that
// failed when another took it, releases all but the answer and returns the first copy that
// succeeded (or the first).
func (s *Session) firstCopy(copies []*backends.Call) *backends.Call {
	for _, call := range copies {
		call.Wait()
	}
	for _, key := range mcKeysOf(copies[0].Req) {
		s.m.pool.EndWrite(key)
	}
	answer := proxy.FirstSuccess(copies)
	if answer != nil { // the copies that failed are out of step with the one that took it
		for _, call := range copies {
			if call.Err != nil {
				missed(call)
			}
		}
	} else {
		answer = copies[0]
	}
	for _, call := range copies {
		if call != answer {
			call.Release()
		}
	}
	return answer
}

// missed records the keys of a failed write as missed by its server.
func missed(call *backends.Call) {
	for _, key := range mcKeysOf(call.Req) {
		call.Server.Missed(key, call.Err)
	}
}

// failover retries a failed read on the key's next live copy; failed is released when another
// copy answers.
func (s *Session) failover(failed *backends.Call) *backends.Call {
	keys := mcKeysOf(failed.Req)
	if len(keys) == 0 {
		return failed
	}
	return proxy.RetryOnCopies(s.m.pool, failed, keys[0], s.send)
}

// mcKeysOf returns the keys of an encoded request, for failover and missed writes.
func mcKeysOf(req []byte) [][]byte {
	var p mcproto.Parser
	var r mcproto.Request
	if n, err := p.Parse(req, mcproto.Limits{}, &r); err != nil || n == 0 {
		return nil
	}
	keys := make([][]byte, len(r.Keys))
	copy(keys, r.Keys)
	return keys
}

// warm serves a single-key get that missed on the key's first live copy from the next copy that
// has it, and copies the value back with add (stored only if the server still has no value, so
// a newer write is never overwritten) and the remaining TTL: a server restarted empty is
// refilled lazily instead of turning its share of reads into misses.
func (s *Session) warm(missed *backends.Call) *backends.Call {
	keys := mcKeysOf(missed.Req)
	gets := bytes.HasPrefix(missed.Req, []byte("gets "))
	if len(keys) != 1 || !(gets || bytes.HasPrefix(missed.Req, []byte("get "))) {
		return missed
	}
	key := keys[0]
	if s.m.pool.Writing(key) {
		return missed // a write (a delete?) has not reached every copy: the partner may be stale
	}
	seq := s.m.pool.WriteSeq(key)
	for _, i := range s.m.pool.ReadTargets(key, nil) {
		if s.m.pool.Servers[i] == missed.Server {
			continue
		}
		v, ok := s.metaGet(i, key)
		if !ok {
			continue
		}
		if s.m.pool.WriteSeq(key) != seq {
			// A write of the key began meanwhile: do not copy back. A get is still served the
			// value; a gets needs the server's own cas token, so it stays a miss.
			if !gets {
				missed.Reply = mcproto.AppendEnd(mcproto.AppendValue(missed.Reply[:0], key, v.flags, v.data, 0, false))
			}
			return missed
		}
		s.addBack(missed.Server, key, v)
		if gets {
			// A cas token must be the server's own: ask the server that now holds the value.
			return s.resend(missed)
		}
		missed.Reply = mcproto.AppendEnd(mcproto.AppendValue(missed.Reply[:0], key, v.flags, v.data, 0, false))
		return missed
	}
	return missed
}

// resend sends call's request again to the same server and returns the new call.
func (s *Session) resend(call *backends.Call) *backends.Call {
	again := backends.NewCall()
	again.Req, again.Kind = append(again.Req, call.Req...), call.Kind
	call.Server.Send(again, backends.LaneRESP2, s.id)
	again.Wait()
	call.Release()
	return again
}

// partnerValue is what a partner copy holds for a key: its value, flags and remaining TTL.
type partnerValue struct {
	data  []byte
	flags uint32
	ttl   int64 // seconds; -1 for none
}

// metaGet asks server i for key's value, flags and remaining TTL (mg key v f t).
func (s *Session) metaGet(i int, key []byte) (partnerValue, bool) {
	call := backends.NewCall()
	defer call.Release()
	call.Req = append(append(append(call.Req, "mg "...), key...), " v f t\r\n"...)
	call.Kind = uint8(mcproto.MetaGet)
	s.send(i, call)
	call.Wait()
	if call.Err != nil || !bytes.HasPrefix(call.Reply, []byte("VA ")) {
		return partnerValue{}, false
	}
	return parseMetaValue(call.Reply)
}

// parseMetaValue reads "VA <size> f<flags> t<ttl>\r\n<data>\r\n".
func parseMetaValue(reply []byte) (partnerValue, bool) {
	line, rest, ok := bytes.Cut(reply, []byte("\r\n"))
	if !ok {
		return partnerValue{}, false
	}
	fields := bytes.Fields(line)
	if len(fields) < 2 {
		return partnerValue{}, false
	}
	size, err := strconv.Atoi(string(fields[1]))
	if err != nil || size < 0 || len(rest) < size {
		return partnerValue{}, false
	}
	v := partnerValue{data: bytes.Clone(rest[:size]), ttl: -1}
	for _, f := range fields[2:] {
		n, err := strconv.ParseInt(string(f[1:]), 10, 64)
		switch {
		case err != nil:
			return partnerValue{}, false
		case f[0] == 'f':
			v.flags = uint32(n)
		case f[0] == 't':
			v.ttl = n
		}
	}
	return v, true
}

// addBack stores v on the server that missed it, unless it has a value of its own by now.
func (s *Session) addBack(server *backends.Server, key []byte, v partnerValue) {
	exptime := int64(0)
	switch {
	case v.ttl > 30*24*3600: // memcached reads larger values as a Unix time
		exptime = time.Now().Unix() + v.ttl
	case v.ttl > 0:
		exptime = v.ttl
	}
	call := backends.NewCall()
	defer call.Release()
	call.Req = mcproto.AppendStorage(call.Req, &mcproto.Request{Kind: mcproto.Add, Keys: [][]byte{key},
		Flags: v.flags, Exptime: exptime, Data: v.data}, false)
	call.Kind = uint8(mcproto.Add)
	server.Send(call, backends.LaneRESP2, s.id)
	call.Wait()
	if call.Err == nil && string(call.Reply) == "STORED\r\n" {
		s.m.Stats.WarmCopies.Add(1)
	}
}
