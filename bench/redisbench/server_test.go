package redisbench

import (
	"bufio"
	"fmt"
	"net"
	"testing"

	"github.com/discoh/discoh/internal/testproc"
)

func TestFillThenBenchmarkAgainstRedis(t *testing.T) {
	srv := testproc.Redis(t)
	const keys, size = 500, 16
	if err := Fill(t.Context(), srv.Addr, keys, size); err != nil {
		t.Fatalf("Fill: %v", err)
	}
	if got := dbsize(t, srv.Addr); got != keys {
		t.Errorf("DBSIZE after Fill = %d; want %d", got, keys)
	}
	w := Workload{Command: MGet(3), Clients: 4, Requests: 2000, Pipeline: 4, ValueSize: size, Keys: keys}
	res, err := Run(t.Context(), "redis-benchmark", srv.Addr, w)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.RPS <= 0 || res.P50Ms > res.P99Ms {
		t.Errorf("got %+v; want a positive rate and p50 <= p99", res)
	}
}

func TestRunReportsServerErrors(t *testing.T) {
	srv := testproc.Redis(t)
	w := Workload{Command: []string{"nosuchcommand"}, Clients: 1, Requests: 10, Pipeline: 1, ValueSize: 3, Keys: 10}
	if _, err := Run(t.Context(), "redis-benchmark", srv.Addr, w); err == nil {
		t.Error("Run of an unknown command succeeded; want an error")
	}
}

func dbsize(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "DBSIZE\r\n")
	var n int
	if _, err := fmt.Fscanf(bufio.NewReader(c), ":%d\r\n", &n); err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	return n
}
