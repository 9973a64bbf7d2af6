package respserver

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/discoh/discoh/frontend"
	"github.com/discoh/discoh/resp"
)

// fakeSession records what it was asked; commands named "block*" may block, so it returns
// Block for them while its client is on a loop.
type fakeSession struct {
	client     *fakeClient
	dispatched []string
	awaited    int
}

func (s *fakeSession) Dispatch(args [][]byte, raw []byte) frontend.Action {
	if s.client.Looped() && strings.HasPrefix(string(args[0]), "block") {
		return frontend.Block
	}
	s.dispatched = append(s.dispatched, string(args[0]))
	return frontend.Continue
}
func (s *fakeSession) Flush(dst []byte, _ func([]byte) error) ([]byte, error) { return dst, nil }
func (s *fakeSession) Relay(net.Conn, []byte) ([]byte, error)                 { return nil, io.EOF }
func (s *fakeSession) Close()                                                 {}
func (s *fakeSession) Await(frontend.Waker) (bool, bool)                      { s.awaited++; return false, true }
func (s *fakeSession) Loopable() bool                                         { return true }
func (s *fakeSession) Shed() (any, bool)                                      { return nil, false }

// fakeClient is served by a loop until moved.
type fakeClient struct{ looped bool }

func (fakeClient) RemoteAddr() string         { return "test" }
func (fakeClient) Watch(func()) (stop func()) { return func() {} }
func (c *fakeClient) Looped() bool            { return c.looped }
func (c *fakeClient) ID() uint64              { return 1 }
func (c *fakeClient) Kept() any               { return nil }

func newTestSession(t *testing.T, client *fakeClient) (frontend.Session, *fakeSession) {
	t.Helper()
	fs := &fakeSession{client: client}
	limits := Limits{Request: resp.Limits{MaxArgs: 16, MaxBulk: 1 << 20, MaxInline: 1 << 10}, MaxRequestBytes: 1 << 20}
	return sessions{func(frontend.Client) requests { return fs }, &limits, new(sync.Pool)}.NewSession(client), fs
}

func TestRequestsThatMayBlockLeaveTheLoopFirst(t *testing.T) {
	client := &fakeClient{looped: true}
	sess, fs := newTestSession(t, client)
	if _, ok := sess.(frontend.Awaiter); !ok {
		t.Fatal("a session whose Session can be awaited is not an Awaiter")
	}
	get := []byte("*2\r\n$3\r\nget\r\n$1\r\nk\r\n")
	block := []byte("*2\r\n$7\r\nblockme\r\n$1\r\nk\r\n") // the fake says it may block

	if n, _, action, err := sess.Dispatch(get); n != len(get) || action != frontend.Continue || err != nil {
		t.Fatalf("GET on a loop: %d, %v, %v; want dispatched", n, action, err)
	}
	if n, _, action, err := sess.Dispatch(block); n != 0 || action != frontend.Block || err != nil {
		t.Fatalf("a request that may block on a loop: %d, %v, %v; want 0, Block", n, action, err)
	}
	client.looped = false // moved to a goroutine: the same request is dispatched there
	if n, _, action, err := sess.Dispatch(block); n != len(block) || action != frontend.Continue || err != nil {
		t.Fatalf("the same request on a goroutine: %d, %v, %v; want dispatched", n, action, err)
	}
	if got, want := strings.Join(fs.dispatched, ","), "get,blockme"; got != want {
		t.Errorf("dispatched %s; want %s", got, want)
	}
	sess.(frontend.Awaiter).Await(nil)
	if fs.awaited != 1 {
		t.Errorf("Await reached the Session %d times; want 1", fs.awaited)
	}
}

func TestProtocolErrorsAreFatalWithRedisWording(t *testing.T) {
	sess, _ := newTestSession(t, &fakeClient{})
	_, _, _, err := sess.Dispatch([]byte("*1\r\n$x\r\n"))
	var fatal *frontend.FatalError
	if !errors.As(err, &fatal) || !strings.HasPrefix(string(fatal.Reply), "-ERR Protocol error") {
		t.Fatalf("malformed bulk length: %v; want a fatal -ERR Protocol error", err)
	}
	_, need, _, err := sess.Dispatch([]byte("*2\r\n$3\r\nget\r\n$2000000\r\n"))
	if !errors.As(err, &fatal) || need != 0 {
		t.Fatalf("a request over max_request_bytes: need %d, %v; want a fatal error", need, err)
	}
}
