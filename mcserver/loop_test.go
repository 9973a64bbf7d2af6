package mcserver

import (
	"errors"
	"log/slog"
	"strconv"
	"testing"

	"github.com/discoh/discoh/backends/backendstest"
	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/frontend/frontendtest"
	"github.com/discoh/discoh/mcproto"
)

// TestRequestsLeaveTheLoopWhileAServerIsDown: while every server is up, requests are dispatched
// on the loop, with one copy per key or several; once one is down, a write to its keys would be
// journalled for its replay (an fsync), so every request leaves the loop first, a reject that
// deletes the key too.
func TestRequestsLeaveTheLoopWhileAServerIsDown(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(strconv.Itoa(replicas)+"_copies", func(t *testing.T) {
			client := &frontendtest.Client{}
			pool := backendstest.Guarded(t, replicas, Framer, Protocol())
			ms := NewMemcache("await", "", pool, slog.New(slog.DiscardHandler)).NewSession(client)
			req := mcproto.Request{Kind: mcproto.Get, Keys: [][]byte{[]byte("k")}}
			tooBig := mcproto.Request{Kind: mcproto.Set, Keys: [][]byte{[]byte("k")}}
			refusal := &mcproto.Error{Delete: true, Skip: 1}

			if got := ms.Dispatch(&req); got == frontend.Block {
				t.Error("get on a loop, every server up: Block; want it dispatched on the loop")
			}
			for _, server := range pool.Servers {
				server.Missed([]byte("other"), errors.New("test")) // ejects it
			}
			before := backendstest.Journalled(pool)
			if got := ms.Dispatch(&req); got != frontend.Block {
				t.Errorf("get on a loop, servers down: %v; want Block", got)
			}
			if got := ms.Reject(refusal, &tooBig); got != frontend.Block {
				t.Errorf("reject that deletes, on a loop, servers down: %v; want Block", got)
			}
			if n := backendstest.Journalled(pool) - before; n != 0 {
				t.Errorf("%d keys journalled for replay on the loop; want none", n)
			}
		})
	}
}
