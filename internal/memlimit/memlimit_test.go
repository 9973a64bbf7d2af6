package memlimit

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestOverFollowsHeldMemory: holding more than 7/8 of the bound turns Over on, and giving the
// memory back turns it off.
func TestOverFollowsHeldMemory(t *testing.T) {
	debug.FreeOSMemory()
	max := Held() + 64<<20
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() { Watch(ctx, max, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	defer func() { cancel(); <-done }()
	if waitFor(Over, 200*time.Millisecond) {
		t.Fatal("Over before anything was allocated")
	}
	hold := make([]byte, 80<<20)
	for i := range hold {
		hold[i] = 1 // touched, so the pages are held
	}
	if !waitFor(Over, 2*time.Second) {
		t.Fatalf("Over stayed false holding %d MB over a bound %d MB above the start", len(hold)>>20, 64)
	}
	runtime.KeepAlive(hold)
	hold = nil
	debug.FreeOSMemory()
	if !waitFor(func() bool { return !Over() }, 2*time.Second) {
		t.Fatal("Over stayed true after the memory was given back")
	}
}

// waitFor polls cond until it holds or within passes.
func waitFor(cond func() bool, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}
