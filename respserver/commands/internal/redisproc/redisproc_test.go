package redisproc

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestStartServesAndCloseStops(t *testing.T) {
	srv, err := Start(t.Context(), "redis-server")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := ping(t, srv.Addr); got != "+PONG\r\n" {
		t.Errorf("PING reply = %q; want %q", got, "+PONG\r\n")
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("dial %s after Close succeeded; want the server gone", srv.Addr)
	}
}

func TestStartMissingBinary(t *testing.T) {
	if srv, err := Start(t.Context(), "/nonexistent/redis-server"); err == nil {
		srv.Close()
		t.Fatal("Start of a missing binary succeeded; want an error")
	}
}

// ping sends an inline PING and returns the reply line.
func ping(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return line
}
