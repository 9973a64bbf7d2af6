package frontend

import (
	"bytes"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// One client that pipelines requests with literal replies (PING, ECHO, unknown commands all
// answer without a backend) faster than the loop serves them keeps loopConn.step looping:
// every read fills the space offered (readable stays true), every batch's Await says
// !pending, flush writes at once, and step goes round again without ever returning to the
// loop. Every other client of that loop waits for as long as the flood lasts.
func TestPipeliningClientDoesNotStarveItsLoop(t *testing.T) {
	forEachMode(t, func(t *testing.T, serve serveFunc) {
		_, addr := serve(t, Limits{MaxPipeline: 1024})
		flood, _ := dial(t, addr) // accepted first: loop 0
		// Accepted (GOMAXPROCS)th after it: loop 0 again (round robin).
		for range runtime.GOMAXPROCS(0) - 1 {
			dial(t, addr)
		}
		victim, vr := dial(t, addr)
		flood.SetDeadline(time.Now().Add(10 * time.Second))

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { io.Copy(io.Discard, flood) })
		wg.Go(func() {
			chunk := bytes.Repeat([]byte("echo x\n"), 64<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := flood.Write(chunk); err != nil {
					return
				}
			}
		})
		defer func() { close(stop); flood.Close(); wg.Wait() }()

		time.Sleep(200 * time.Millisecond) // the flood is under way
		start := time.Now()
		victim.Write([]byte("echo b\n"))
		victim.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, err := vr.ReadString('\n')
		if line != "b\n" {
			t.Errorf("victim read %q, %v after %v: its loop serves only the flooding client", line, err, time.Since(start))
		} else if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("victim waited %v for one echo", d)
		}
	})
}

// A request larger than moveBytes moves its client off the loop while it arrives: the loop's
// other clients are served meanwhile, and the request, once whole, is answered as usual.
func TestHugeRequestMovesOffItsLoop(t *testing.T) {
	srv, addr := serve(t, Limits{EventLoop: true})
	big, br := dial(t, addr)
	for range runtime.GOMAXPROCS(0) - 1 { // the next client accepted shares big's loop
		dial(t, addr)
	}
	other, or := dial(t, addr)
	body := bytes.Repeat([]byte("x"), 2*moveBytes)
	big.Write([]byte("echo "))
	big.Write(body[:moveBytes+stepBytes]) // not whole yet, and past moveBytes
	other.Write([]byte("where\n"))
	if line, err := or.ReadString('\n'); line != "loop\n" {
		t.Fatalf("the other client read %q, %v; want loop", line, err)
	}
	big.Write(body[moveBytes+stepBytes:])
	big.Write([]byte("\nwhere\n"))
	if line, err := br.ReadString('\n'); err != nil || line != string(body)+"\n" {
		t.Fatalf("echo of %d bytes: read %d bytes, %v", len(body), len(line), err)
	}
	if line, err := br.ReadString('\n'); line != "goroutine\n" {
		t.Fatalf("the huge request's client read %q, %v; want goroutine", line, err)
	}
	if n := srv.Moved.Load(); n != 1 {
		t.Errorf("Moved = %d; want 1", n)
	}
}
