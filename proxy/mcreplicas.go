package proxy

import (
	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
)

// firstCopy waits for every copy of a write, records the key as missed by the copies that
// failed, releases all but the answer and returns the first copy that succeeded (or the first).
func (s *MemcacheSession) firstCopy(copies []*backends.Call) *backends.Call {
	var answer *backends.Call
	for _, call := range copies {
		call.Wait()
		if call.Err != nil {
			missed(call)
		} else if answer == nil {
			answer = call
		}
	}
	if answer == nil {
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
func (s *MemcacheSession) failover(failed *backends.Call) *backends.Call {
	keys := mcKeysOf(failed.Req)
	if len(keys) == 0 {
		return failed
	}
	return retryOnCopies(s.m.pool, failed, keys[0], s.send)
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
