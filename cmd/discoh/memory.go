package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"
)

// Memory is given back after a spike. The garbage collector runs only when discoh allocates,
// so after a burst of large replies (a client pipelining 100 KB GETs) an idle discoh would keep
// its peak heap, and the pages the runtime holds for it, for as long as it stays idle: RSS
// stayed at its 560 MB peak minutes after the client left. Every returnEvery, while the runtime
// holds more than returnThreshold over what it held at start, discoh collects and gives the
// free pages back to the system.
const (
	returnEvery     = 10 * time.Second
	returnThreshold = 64 << 20
)

// returnMemory runs until ctx ends.
func returnMemory(ctx context.Context) {
	tick := time.NewTicker(returnEvery)
	defer tick.Stop()
	base := heapHeld()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if heapHeld() > base+returnThreshold {
			debug.FreeOSMemory()
		}
	}
}

// heapHeld is the memory the runtime holds for the heap and has not given back.
func heapHeld() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapSys - ms.HeapReleased
}
