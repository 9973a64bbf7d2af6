package faultrun

import (
	"fmt"
	"testing"

	"github.com/discoh/discoh/internal/testproc"
)

// nutcracker closes a connection on HELLO, which go-redis sends on every new connection:
// RedisWithoutHello answers it on the client's side, so the runs can go through nutcracker.
func TestRedisWithoutHelloThroughNutcracker(t *testing.T) {
	server := testproc.Redis(t)
	port := testproc.FreePort(t)
	testproc.Nutcracker(t, fmt.Sprintf("t:\n  listen: 127.0.0.1:%d\n  redis: true\n  timeout: 500\n  servers:\n    - %s:1 s1\n", port, server.Addr), port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	plain := Redis(addr)
	defer plain.Close()
	if err := plain.Set(t.Context(), "k", "v"); err == nil {
		t.Log("nutcracker took go-redis's HELLO: RedisWithoutHello is no longer needed")
	}
	c := RedisWithoutHello(addr)
	defer c.Close()
	if err := c.Set(t.Context(), "k", "v"); err != nil {
		t.Fatalf("SET through nutcracker: %v", err)
	}
	got, err := c.GetMany(t.Context(), []string{"k", "missing"})
	if err != nil || len(got) != 1 || got["k"] != "v" {
		t.Errorf("MGET k missing through nutcracker = %v, %v; want k=v", got, err)
	}
}
