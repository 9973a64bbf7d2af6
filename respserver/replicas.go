package respserver

import (
	"bytes"
	"strconv"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
	"github.com/discoh/discoh/respserver/commands"
)

// forwardCopies sends a write to every live copy of its keys. The client hears the first
// copy's reply that came back; a copy that failed has the keys recorded as missed.
func (s *Session) forwardCopies(targets []int, raw []byte, args [][]byte, keys []int) {
	for _, k := range keys {
		s.r.pool.BeginWrite(args[k])
	}
	copies := make([]*backends.Call, len(targets))
	for i, t := range targets {
		copies[i] = s.newCall(raw, args)
		copies[i].Write = true
		s.send(t, copies[i])
	}
	s.queue = append(s.queue, reply{copies: copies})
}

// finishCopies waits for every copy and replies with the first success, or with the error when
// no copy took the write.
func (s *Session) finishCopies(dst []byte, copies []*backends.Call) []byte {
	for _, call := range copies {
		call.Wait()
	}
	for _, key := range keysOf(copies[0].Req) {
		s.r.pool.EndWrite(key)
	}
	answer := proxy.FirstSuccess(copies)
	if answer != nil { // the copies that failed are out of step with the one that took it
		for _, call := range copies {
			if call.Err != nil {
				for _, key := range keysOf(call.Req) {
					call.Server.Missed(key, call.Err)
				}
			}
		}
	}
	if answer == nil {
		answer = copies[0]
	}
	if answer.Err != nil {
		dst = s.appendBackendError(dst, answer)
	} else {
		dst = append(dst, answer.Reply...)
	}
	for _, call := range copies {
		call.Release()
	}
	return dst
}

// failover retries a read that failed on the next live copy of its key, in ring order, and
// returns the call that answered (or the last failure). failed is released.
func (s *Session) failover(failed *backends.Call) *backends.Call {
	keys := keysOf(failed.Req)
	if len(keys) == 0 {
		return failed
	}
	return proxy.RetryOnCopies(s.r.pool, failed, keys[0], func(i int, c *backends.Call) {
		s.r.pool.Servers[i].Send(c, s.lane, s.id)
	})
}

// mgetElsewhere answers a failed part of a split MGET key by key from the keys' other copies,
// as the array reply the part would have had; ok is false when a key has no copy that answers.
func (s *Session) mgetElsewhere(failed *backends.Call) (reply []byte, ok bool) {
	keys := keysOf(failed.Req)
	reply = resp.AppendArrayLen(nil, len(keys))
	for _, key := range keys {
		call := proxy.AskCopies(s.r.pool, key, failed.Server, resp.AppendCommand(nil, []byte("GET"), key), 0,
			func(i int, c *backends.Call) { s.r.pool.Servers[i].Send(c, s.lane, s.id) })
		if call == nil {
			return nil, false
		}
		reply = append(reply, call.Reply...)
		call.Release()
	}
	return reply, true
}

// keysOf returns the keys of an encoded request, for the rare paths that need them after the
// client's buffer is gone: failover and recording missed writes.
func keysOf(req []byte) [][]byte {
	var p resp.Parser
	n, args, _, err := p.Parse(req, resp.Limits{})
	if err != nil || n == 0 || len(args) == 0 {
		return nil
	}
	cmd := commands.Lookup(args)
	if cmd == nil {
		return nil
	}
	pos, err := cmd.Keys(args, nil)
	if err != nil {
		return nil
	}
	keys := make([][]byte, len(pos))
	for i, k := range pos {
		keys[i] = args[k]
	}
	return keys
}

// warm serves a GET that missed on a key's first live copy from the next copy that has it, and
// copies the value back (SET ... NX with the remaining TTL), so a server restarted empty is
// refilled lazily instead of turning its share of reads into misses. NX makes the copy a
// guarded fill: a newer write that reached the server first is never overwritten.
func (s *Session) warm(missed *backends.Call) *backends.Call {
	args := argsOf(missed.Req)
	if len(args) != 2 || !bytes.EqualFold(args[0], []byte("get")) {
		return missed
	}
	key := args[1]
	if s.r.pool.Writing(key) {
		return missed // a write (a DEL?) has not reached every copy: the partner may be stale
	}
	seq := s.r.pool.WriteSeq(key)
	for _, i := range s.r.pool.ReadTargets(key, nil) {
		if s.r.pool.Servers[i] == missed.Server {
			continue
		}
		found := backends.NewCall()
		found.Req = resp.AppendCommand(found.Req, []byte("GET"), key)
		found.Req = resp.AppendCommand(found.Req, []byte("PTTL"), key)
		found.Frames = 2
		s.r.pool.Servers[i].Send(found, s.lane, s.id)
		found.Wait()
		if value, ttl, ok := valueAndTTL(found); ok {
			if s.r.pool.WriteSeq(key) == seq {
				s.copyBack(missed.Server, key, value, ttl)
			}
			found.Reply = append(found.Reply[:0], resp.AppendBulk(nil, value)...)
			missed.Release()
			return found
		}
		found.Release()
	}
	return missed
}

// valueAndTTL reads the replies to GET and PTTL of a warm-up lookup.
func valueAndTTL(call *backends.Call) (value []byte, ttl int64, ok bool) {
	if call.Err != nil {
		return nil, 0, false
	}
	n, err := resp.ScanReply(call.Reply)
	if err != nil || n == 0 {
		return nil, 0, false
	}
	value, null, err := resp.ParseBulk(call.Reply[:n])
	if err != nil || null {
		return nil, 0, false
	}
	ttl, err = resp.ParseInt(call.Reply[n:])
	return bytes.Clone(value), ttl, err == nil && ttl != -2
}

// copyBack stores a value found on a partner copy on the server that missed it, unless the
// server has a value of its own by now.
func (s *Session) copyBack(server *backends.Server, key, value []byte, ttl int64) {
	args := [][]byte{[]byte("SET"), key, value, []byte("NX")}
	if ttl > 0 {
		args = append(args, []byte("PX"), []byte(strconv.FormatInt(ttl, 10)))
	}
	call := backends.NewCall()
	call.Req = resp.AppendCommand(call.Req, args...)
	server.Send(call, s.lane, s.id)
	call.Wait()
	if call.Err == nil {
		s.r.Stats.WarmCopies.Add(1)
	}
	call.Release()
}

// argsOf parses an encoded request into its arguments.
func argsOf(req []byte) [][]byte {
	var p resp.Parser
	n, args, _, err := p.Parse(req, resp.Limits{})
	if err != nil || n == 0 {
		return nil
	}
	return args
}
