package main

import (
	"os"
	"runtime"
)

// setProcs gives discoh half the processors it may use, at least one, unless GOMAXPROCS says
// otherwise. A proxy shares its host with its load: on the 2-core benchmark machine, one
// processor served more requests per second, at less CPU per request, than two, at every
// pipeline depth measured (see bench/results), since each event loop then runs without
// hand-offs between threads. Several pools or more processors scale with more loops.
func setProcs() int {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)/2))
	}
	return runtime.GOMAXPROCS(0)
}
