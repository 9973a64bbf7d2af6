package proxy

import "github.com/discoh/discoh/backends"

// A multi-key command (MSET, MGET, DEL, a memcached get) goes to each of its servers in parts
// of at most PartKeys keys and about partBytes bytes, and at most PartsInFlight of its parts
// wait on a server at a time: the next one is sent once an earlier one is answered. The server
// connections are shared and answer in order, so another client's request waits behind at most
// that much of a huge command, not behind megabytes of it (a 500,000-key MSET is a third of a
// second of a Redis server's time). A command under the bounds is one call per server, as before.
//
// The price is atomicity: Redis applies each part at once, but a reader may see a huge MSET's
// first parts before its last. Commands split across servers never were atomic; one within
// the bounds on one server still is.
const (
	PartKeys      = 256       // keys per part: about a tenth of a millisecond of a server's time
	partBytes     = 256 << 10 // bytes of arguments per part, a key's own never cut
	PartsInFlight = 2         // parts of one command on a server at a time: one runs, one waits
)

// Oversized reports whether a command of keys keys and size bytes may not fit one part: it is
// sent in parts even when one server holds every key.
func Oversized(keys, size int) bool {
	return keys > PartKeys || size > partBytes
}

// PartSet gathers a command's arguments into parts, by server: the part being filled, its size,
// and the index of the call that will carry it in the caller's list of calls.
type PartSet struct {
	args  [][][]byte // by server: the open part's arguments, head first; empty when none is open
	keys  []int      // by server: the keys in the open part
	size  []int      // by server: the bytes of its arguments
	Index []int      // by server: the index of its call
	Open  []int      // the servers that opened parts, in order (some closed since)
}

// Begin makes ps ready for a command on n servers, keeping its storage.
func (ps *PartSet) Begin(n int) {
	ps.args = Grow(ps.args, n)
	ps.keys, ps.size, ps.Index = sized(ps.keys, n), sized(ps.size, n), sized(ps.Index, n)
	ps.Open = ps.Open[:0]
}

// sized returns s with n entries, all 0.
func sized(s []int, n int) []int {
	s = append(s[:0], make([]int, n)...)
	return s
}

// Put adds one key's arguments to server's part. A part opens with head (the command's name,
// or nil) when server has none: opened says so, and the caller records its call's index with
// opening. full says the part has reached the bounds and must be taken.
func (ps *PartSet) Put(server int, head []byte, kv [][]byte) (opened, full bool) {
	if len(ps.args[server]) == 0 {
		ps.args[server] = append(ps.args[server], head)
		ps.keys[server], ps.size[server] = 0, 0
		ps.Open = append(ps.Open, server)
		opened = true
	}
	ps.args[server] = append(ps.args[server], kv...)
	ps.keys[server]++
	for _, a := range kv {
		ps.size[server] += len(a)
	}
	return opened, ps.keys[server] >= PartKeys || ps.size[server] >= partBytes
}

// Take returns server's part, head first, and closes it. The slice is reused by the server's
// next part: the caller encodes it, and clears it (the arguments point into the client's
// input), before putting more.
func (ps *PartSet) Take(server int) [][]byte {
	args := ps.args[server]
	ps.args[server] = args[:0]
	return args
}

// Window sends the parts of one command, at most PartsInFlight per server at a time, and
// holds the rest until earlier parts to the same server are answered.
type Window struct {
	parts []windowPart // every part, in the order they were added
	last  []int        // by server: its last part, -1 for none
	held  []int        // by server: its first held part, -1 for none
	sent  []int        // by server: parts start sent
	holds int          // parts held
}

type windowPart struct {
	call   *backends.Call
	server int
	next   int  // the server's next part, -1 for none
	held   bool // not sent yet
}

// Sender sends a call to server i (a respserver or mcserver Session's send).
type Sender func(i int, call *backends.Call)

// Begin makes w ready for a command on n servers, keeping its storage.
func (w *Window) Begin(n int) {
	w.parts, w.holds = w.parts[:0], 0
	w.last, w.held, w.sent = sized(w.last, n), sized(w.held, n), sized(w.sent, n)
	for i := range n {
		w.last[i], w.held[i] = -1, -1
	}
}

// Add holds call, a part for server, until start or drain sends it.
func (w *Window) Add(call *backends.Call, server int) {
	i := len(w.parts)
	w.parts = append(w.parts, windowPart{call: call, server: server, next: -1, held: true})
	if last := w.last[server]; last >= 0 {
		w.parts[last].next = i
	} else {
		w.held[server] = i
	}
	w.last[server] = i
	w.holds++
}

// Start sends the first PartsInFlight parts of each server, once every part is made: none is
// out while a huge command is still being cut, which takes a while.
func (w *Window) Start(send Sender) {
	for i := range w.parts {
		if server := w.parts[i].server; w.sent[server] < PartsInFlight {
			w.sent[server]++
			w.sendHeld(server, send) // parts[i]: a server's parts are met in order
		}
	}
}

// sendHeld sends the server's first held part.
func (w *Window) sendHeld(server int, send Sender) {
	p := &w.parts[w.held[server]]
	w.held[server], p.held = p.next, false
	w.holds--
	send(server, p.call)
}

// Len returns the number of parts added since Begin.
func (w *Window) Len() int { return len(w.parts) }

// Holding reports whether some part waits for an earlier one's reply.
func (w *Window) Holding() bool { return w.holds > 0 }

// Drain waits for every part, in the order added, and sends a server's next held part as each
// of its earlier ones is answered. A part is sent before it is waited for: the k-th part of a
// server goes out when its (k-PartsInFlight)-th, added before it, is answered.
func (w *Window) Drain(send Sender) {
	for i := range w.parts {
		w.parts[i].call.Wait()
		if server := w.parts[i].server; w.held[server] >= 0 {
			w.sendHeld(server, send)
		}
	}
}

// Await counts the parts sent with a. Held parts are sent by the flush, which then waits for
// them: it must run on a goroutine of its own, not on a backend connection's reader.
func (w *Window) Await(a *Waiter) {
	if w.Holding() {
		a.SendsMore()
	}
	for i := range w.parts {
		if !w.parts[i].held {
			a.Add(w.parts[i].call)
		}
	}
}

// Reset forgets the parts, whose calls the caller releases.
func (w *Window) Reset() {
	clear(w.parts)
	w.parts, w.holds = w.parts[:0], 0
}

// Grow returns parts with at least n entries.
func Grow(parts [][][]byte, n int) [][][]byte {
	for len(parts) < n {
		parts = append(parts, nil)
	}
	return parts
}
