package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestConnBehavesAsNetConn(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := NewConn(a), NewConn(b)
	if ca.raw == nil {
		t.Fatal("a TCP connection was not given raw access")
	}
	big := make([]byte, 8<<20) // far over the socket buffers: Write must wait and finish
	for i := range big {
		big[i] = byte(i)
	}
	done := make(chan error, 1)
	go func() { _, err := ca.Write(big); a.(*net.TCPConn).CloseWrite(); done <- err }()
	got, err := io.ReadAll(readerFunc(cb.Read))
	if err != nil || len(got) != len(big) || got[len(got)-1] != big[len(big)-1] {
		t.Fatalf("read %d bytes, %v; want %d and end of input", len(got), err, len(big))
	}
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := cb.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) && err != io.EOF {
		t.Fatalf("Read past a deadline = %v", err)
	}
}

func TestReadDeadline(t *testing.T) {
	_, b := tcpPair(t)
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := NewConn(b).Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with nothing sent = %v; want the deadline", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestWaitReadable(t *testing.T) {
	a, b := tcpPair(t)
	c := NewConn(a)
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if err := c.WaitReadable(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitReadable with nothing sent = %v; want the read deadline", err)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.Write([]byte("hi"))
	}()
	if err := c.WaitReadable(); err != nil {
		t.Fatalf("WaitReadable while input arrives = %v", err)
	}
	buf := make([]byte, 8)
	if n, err := c.Read(buf); string(buf[:n]) != "hi" || err != nil {
		t.Fatalf("Read after WaitReadable = %q, %v; want the input, not consumed by the wait", buf[:n], err)
	}
	b.Close()
	if err := c.WaitReadable(); err != nil {
		t.Fatalf("WaitReadable after the peer closed = %v; want nil (the end is readable)", err)
	}
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer closed = %d, %v; want EOF", n, err)
	}
}
