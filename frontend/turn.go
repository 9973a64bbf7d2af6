package frontend

import "time"

// A turn orders clients that move off an event loop one right after another: Go starts their
// goroutines in no set order (the last one started often runs first), yet their requests must
// reach the servers in the order the loops read them. Clients blocked on one key are served by
// Redis in the order their commands arrived; without turns, the second of two BLPOPs could
// overtake the first.
type turn struct{ done chan struct{} }

// turnWait bounds how long a moved client waits for the one moved before it to dispatch: long
// enough for a dispatch that dials a server, short enough that a stuck one costs little.
const turnWait = 100 * time.Millisecond

func newTurn() *turn { return &turn{done: make(chan struct{})} }

// wait returns once t has ended, or after turnWait. A nil turn has ended.
func (t *turn) wait() {
	if t == nil {
		return
	}
	timer := time.NewTimer(turnWait)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
	}
}

// dispatchInTurn dispatches as dispatch does; the first time after the client moved off its
// loop, it first waits for the client moved before it to have dispatched, and then lets the
// client moved after it go.
func (c *clientConn) dispatchInTurn(limit int) (int, Action, error) {
	if c.turn == nil {
		return c.dispatch(c.sess, limit)
	}
	c.turnAfter.wait()
	defer c.endTurn()
	return c.dispatch(c.sess, limit)
}

// endTurn lets the client moved after this one dispatch. It runs once the first dispatch after
// the move is done, or when the client ends before one.
func (c *clientConn) endTurn() {
	if c.turn != nil {
		close(c.turn.done)
		c.turn, c.turnAfter = nil, nil
	}
}
