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
