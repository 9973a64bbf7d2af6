package proxy

import (
	"github.com/discoh/discoh/backends"
)

// RetryOnCopies sends failed's request to the other live copies of key in turn, with send,
// until one answers; it returns that call and releases failed, or returns failed.
func RetryOnCopies(pool *backends.Pool, failed *backends.Call, key []byte, send func(int, *backends.Call)) *backends.Call {
	retry := AskCopies(pool, key, failed.Server, failed.Req, failed.Kind, send)
	if retry == nil {
		return failed
	}
	failed.Release()
	return retry
}

// AskCopies sends req, a read of key, to key's live copies other than skip, in ring order, and
// returns the first call that was answered, or nil when none was.
func AskCopies(pool *backends.Pool, key []byte, skip *backends.Server, req []byte, kind uint8, send func(int, *backends.Call)) *backends.Call {
	for _, i := range pool.ReadTargets(key, nil) {
		if pool.Servers[i] == skip {
			continue
		}
		call := backends.NewCall()
		call.Req, call.Kind = append(call.Req, req...), kind
		send(i, call)
		call.Wait()
		if call.Err == nil {
			return call
		}
		call.Release()
	}
	return nil
}

// FirstSuccess returns the first call that got a reply, or nil when none did.
func FirstSuccess(calls []*backends.Call) *backends.Call {
	for _, call := range calls {
		if call.Err == nil {
			return call
		}
	}
	return nil
}

// Targets appends the live servers for key, or, when none is live, the key's primary: a call
// to it fails fast with an error that names the server and why it is down.
func Targets(p *backends.Pool, key []byte, write bool, dst []int) []int {
	start := len(dst)
	if write {
		dst = p.WriteTargets(key, dst)
	} else {
		dst = p.ReadTargets(key, dst)
	}
	if len(dst) == start {
		dst = append(dst, p.Owner(key))
	}
	return dst
}
