package mcserver

import (
	"sync"
	"testing"

	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/mcproto"
)

// fakeSession records the keys of the requests it was given; while blocking is set, it
// returns Block for them when its client is on a loop.
type fakeSession struct {
	client     *fakeClient
	blocking   bool
	dispatched []string
}

func (s *fakeSession) Dispatch(req *mcproto.Request) frontend.Action {
	if s.blocking && s.client.Looped() {
		return frontend.Block
	}
	s.dispatched = append(s.dispatched, string(req.Keys[0]))
	return frontend.Continue
}
func (s *fakeSession) Reject(*mcproto.Error, *mcproto.Request) frontend.Action {
	if s.blocking && s.client.Looped() {
		return frontend.Block
	}
	s.dispatched = append(s.dispatched, "rejected")
	return frontend.Continue
}
func (s *fakeSession) Flush(dst []byte, _ func([]byte) error) ([]byte, error) { return dst, nil }
func (s *fakeSession) Close()                                                 {}
func (s *fakeSession) Await(frontend.Waker) (bool, bool)                      { return false, true }
func (s *fakeSession) Loopable() bool                                         { return !s.blocking }
func (s *fakeSession) Shed() (any, bool)                                      { return nil, false }

type fakeClient struct{ looped bool }

func (fakeClient) RemoteAddr() string         { return "test" }
func (fakeClient) Watch(func()) (stop func()) { return func() {} }
func (c *fakeClient) Looped() bool            { return c.looped }
func (c *fakeClient) ID() uint64              { return 1 }
func (c *fakeClient) Kept() any               { return nil }

func TestRequestsThatMayBlockLeaveTheLoopFirst(t *testing.T) {
	client := &fakeClient{looped: true}
	fs := &fakeSession{client: client}
	sess := sessions{func(frontend.Client) requests { return fs }, Limits{Request: mcproto.Limits{ItemSizeMax: 1 << 20}}, new(sync.Pool)}.NewSession(client)
	if _, ok := sess.(frontend.Awaiter); !ok {
		t.Fatal("a session whose Session can be awaited is not an Awaiter")
	}
	get := []byte("get a\r\n")
	if n, _, action, err := sess.Dispatch(get); n != len(get) || action != frontend.Continue || err != nil {
		t.Fatalf("get on a loop: %d, %v, %v; want dispatched", n, action, err)
	}
	fs.blocking = true
	if n, _, action, err := sess.Dispatch([]byte("get b\r\n")); n != 0 || action != frontend.Block || err != nil {
		t.Fatalf("a request that may block on a loop: %d, %v, %v; want 0, Block", n, action, err)
	}
	client.looped = false
	if n, _, action, err := sess.Dispatch([]byte("get b\r\n")); n == 0 || action != frontend.Continue || err != nil {
		t.Fatalf("the same request on a goroutine: %d, %v, %v; want dispatched", n, action, err)
	}
	// A set over the item size limit is rejected; the reject may block too (it deletes the key).
	big := []byte("set c 0 0 2000000\r\n")
	fs.blocking, client.looped = true, true
	if n, _, action, err := sess.Dispatch(big); n != 0 || action != frontend.Block || err != nil {
		t.Fatalf("an oversized set whose reject may block, on a loop: %d, %v, %v; want 0, Block", n, action, err)
	}
	client.looped = false
	if n, _, action, err := sess.Dispatch(big); n == 0 || action != frontend.Continue || err != nil {
		t.Fatalf("the same set on a goroutine: %d, %v, %v; want rejected", n, action, err)
	}
	if got := fs.dispatched; len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "rejected" {
		t.Errorf("dispatched %q; want [a b rejected]", got)
	}
}
