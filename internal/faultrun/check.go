package faultrun

import (
	"context"
	"fmt"
	"sync"
)

// checkBatch is how many keys one multi-key read of a server asks for.
const checkBatch = 500

// Final is what the end of a run finds, with the clients stopped and the servers back.
type Final struct {
	Keys int // keys with an acknowledged write, Keys and burst
	// Through the proxy, one GET per key, as the clients read:
	Lost   int // a miss
	Stale  int // older than the last acknowledged write
	Wrong  int // a value no write of the key produced
	Failed int // the GET failed
	// LostKeys are the keys Lost counts, for the harness to tell apart by server.
	LostKeys []string
	// From every server directly: keys that no server holds at their last acknowledged write
	// or later. -1 when the servers were not checked.
	LostEverywhere int
	// Copies[n] counts the keys that exactly n servers hold at their last acknowledged write
	// or later (Copies[0] == LostEverywhere); nil when the servers were not checked.
	Copies []int
	Errors []error // failed reads of servers (their keys count as not held there)
}

// FewerCopies counts the keys that fewer than n servers hold.
func (f Final) FewerCopies(n int) int {
	sum := 0
	for i := 0; i < n && i < len(f.Copies); i++ {
		sum += f.Copies[i]
	}
	return sum
}

// Check reads every key back through the proxy, the clients' way (a GET each, in parallel),
// and from each of servers directly. Call it after Stop, with the servers back. With no
// servers, LostEverywhere is -1.
func (r *Run) Check(ctx context.Context, servers []Client) Final {
	f := Final{LostEverywhere: -1}
	for _, w := range r.workers {
		f.Keys += acknowledged(w.ledger) + acknowledged(w.bursts)
	}
	// The servers first: reads through a proxy may copy keys between them (warming a
	// returning server from its partner) and must not change what this finds.
	if len(servers) > 0 {
		f.Copies, f.Errors = r.checkServers(ctx, servers)
		f.LostEverywhere = f.Copies[0]
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() {
			c := r.cfg.Dial(r.cfg.Addr)
			defer c.Close()
			var mine Final
			readBack(ctx, c, w.keys, w.ledger, &mine)
			readBack(ctx, c, w.burst, w.bursts, &mine)
			mu.Lock()
			defer mu.Unlock()
			f.Lost += mine.Lost
			f.Stale += mine.Stale
			f.Wrong += mine.Wrong
			f.Failed += mine.Failed
			f.LostKeys = append(f.LostKeys, mine.LostKeys...)
		})
	}
	wg.Wait()
	return f
}

func acknowledged(ledger []entry) int {
	n := 0
	for _, e := range ledger {
		if e.acked > 0 {
			n++
		}
	}
	return n
}

// readBack reads each key with an acknowledged write through c and judges it.
func readBack(ctx context.Context, c Client, keys []string, ledger []entry, f *Final) {
	for i, k := range keys {
		e := &ledger[i]
		if e.acked == 0 {
			continue
		}
		v, ok, err := c.Get(ctx, k)
		if err != nil {
			f.Failed++
			continue
		}
		switch e.judge(k, v, ok) {
		case missed:
			f.Lost++
			f.LostKeys = append(f.LostKeys, k)
		case stale:
			f.Stale++
		case wrong:
			f.Wrong++
		}
	}
}

// checkServers counts the keys with an acknowledged write by how many servers hold them at
// that write or later.
func (r *Run) checkServers(ctx context.Context, servers []Client) ([]int, []error) {
	copies := make([]int, len(servers)+1)
	var errs []error
	for _, w := range r.workers {
		for _, part := range []struct {
			keys   []string
			ledger []entry
		}{{w.keys, w.ledger}, {w.burst, w.bursts}} {
			for lo := 0; lo < len(part.keys); lo += checkBatch {
				hi := min(lo+checkBatch, len(part.keys))
				errs = append(errs, countCopies(ctx, servers, part.keys[lo:hi], part.ledger[lo:hi], copies)...)
			}
		}
	}
	return copies, errs
}

// countCopies adds the keys of one batch with an acknowledged write to copies, by how many
// servers hold them.
func countCopies(ctx context.Context, servers []Client, keys []string, ledger []entry, copies []int) []error {
	held := make([]int, len(keys))
	var errs []error
	for i, s := range servers {
		hits, err := s.GetMany(ctx, keys)
		if err != nil {
			errs = append(errs, fmt.Errorf("faultrun: server %d: %d keys from %s: %w", i, len(keys), keys[0], err))
			continue
		}
		for j, k := range keys {
			if v, ok := hits[k]; ok && ledger[j].holds(k, v) {
				held[j]++
			}
		}
	}
	for j, e := range ledger {
		if e.acked > 0 {
			copies[held[j]]++
		}
	}
	return errs
}
