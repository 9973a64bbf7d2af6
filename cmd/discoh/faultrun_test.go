package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/internal/faultproxy"
	"github.com/discoh/discoh/internal/faultrun"
	"github.com/discoh/discoh/internal/testproc"
)

// The fault suite of issue 13: 20 clients reading and writing 2,000 keys through the proxy,
// with a ledger of every acknowledged write (internal/faultrun), while servers are killed,
// stopped, restarted empty, stalled during a write burst, made slow, made to trickle or to send
// replies nobody asked for. By default it runs discoh only, on the cases and replicas listed in
// each case's ci field, with short outages; the flags run the rest:
//
//	go test ./cmd/discoh -run TestFaultSuite -v -faultrun.compare   # every case, discoh (replicas 1, 1 with auto_eject_hosts, 2) and nutcracker, and the table
//	go test ./cmd/discoh -run TestFaultSuite -v -faultrun.long      # issue 13's lengths
//
// The single-request forms of the slow, trickling and extra-reply cases are in faults_test.go
// (TestSlowCommandsDoNotTakeTheServerDown, TestTricklingReplyTimesOut,
// TestReplyOutOfStepNeverReachesAClient); here they run under the load.
var (
	faultCompare = flag.Bool("faultrun.compare", false, "fault suite: run every case through discoh (replicas 1, 1 with auto_eject_hosts, 2) and nutcracker and log the table")
	faultLong    = flag.Bool("faultrun.long", false, "fault suite: issue 13's lengths (faults 10 s apart, 3 s outages, a 300,000-key burst)")
)

// The pool's health settings, the same for discoh and nutcracker: a server is marked down (by
// nutcracker: ejected, its keys moved to the next server) after 2 consecutive failures and
// probed again after 500 ms. A request times out after 500 ms, so a dead or stopped server is
// detected within faultWindow, issue 13's detection window.
const (
	faultTimeout      = 500 * time.Millisecond
	faultFailureLimit = 2
	faultRetry        = 500 * time.Millisecond
	faultWindow       = time.Second
	faultServers      = 3
	faultRejoinLimit  = 15 * time.Second
)

// faultLengths are a run's timings.
type faultLengths struct {
	settle time.Duration // load before the first fault
	outage time.Duration // from a fault to the server's return
	gap    time.Duration // between the starts of faults in sequence, at least settle after a rejoin
	after  time.Duration // load after the last fault (and the servers' rejoins)
	burst  int           // keys in the write burst
}

func lengths() faultLengths {
	if *faultLong {
		return faultLengths{settle: 2 * time.Second, outage: 3 * time.Second, gap: 10 * time.Second, after: 5 * time.Second, burst: 300_000}
	}
	return faultLengths{settle: 300 * time.Millisecond, outage: 1300 * time.Millisecond, gap: 2500 * time.Millisecond, after: 500 * time.Millisecond, burst: 5_000}
}

// faultTarget is the proxy a case runs through.
type faultTarget struct {
	nutcracker bool
	replicas   int
	autoEject  bool // discoh with auto_eject_hosts, nutcracker's behaviour
}

func (tg faultTarget) String() string {
	switch {
	case tg.nutcracker:
		return "nutcracker"
	case tg.autoEject:
		return fmt.Sprintf("discoh-r%d-eject", tg.replicas)
	}
	return fmt.Sprintf("discoh-r%d", tg.replicas)
}

// promise is what a case promises through discoh with the given replicas, and is asserted.
// A count of -1 is measured and logged only: current discoh does not promise it.
type promise struct {
	failedOutside, stale, wrong, lost, lostEverywhere int64
	rejoins                                           bool // every server back rejoins within its outage and rejoinSlack
	noFailures                                        bool // slow is not dead: no operation fails at all
	// lostOnFaulted: keys lost (or unreadable) at the end, if any, are all keys of the faulted
	// servers, which with one copy lost them themselves.
	lostOnFaulted bool
	// untouchedKept: the keys a stalled server held that nobody wrote meanwhile are all still
	// on it afterwards (burst case).
	untouchedKept bool
}

// allZero is the promise of a pool whose every key has a live copy.
var allZero = promise{rejoins: true}

// rejoinTarget is issue 13's target for a server's rejoin after its return; what is asserted is
// the outage plus rejoinSlack. discoh probes a down server with exponential backoff from
// server_retry_timeout (500 ms, 1 s, 2 s, ...), so a server that returns just after a probe
// waits for the next one, up to about as long as it was away: 1.4-3.0 s were measured after
// 1.3 s outages, 3.5-4.0 s after 3 s ones. A rejoin slower than the target is logged.
const (
	rejoinTarget = 2 * time.Second
	rejoinSlack  = 2500 * time.Millisecond
)

// faultCase is one fault sequence of the suite.
type faultCase struct {
	name       string
	redisOnly  bool
	front      bool              // s2 behind a fault proxy
	burst      bool              // the load starts with a write burst, and writes 1% of the time after it
	s2Args     []string          // redis-server arguments of s2
	prepare    func(e *faultEnv) // runs on the servers before the proxy starts
	pool       string            // more YAML keys of discoh's pool
	nutcracker bool              // runs through nutcracker too (in compare mode)
	ci         []int             // discoh replicas run by default
	inject     func(e *faultEnv)
	promise    func(replicas int) promise
}

var faultCases = []faultCase{
	{
		name: "kill -9", nutcracker: true, ci: []int{2},
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			e.kill(1)
			e.sleep(e.len.outage + e.len.after)
		},
		promise: func(replicas int) promise {
			if replicas == 1 { // its keys are gone with it, and unreadable while it is down
				return promise{failedOutside: -1, lost: -1, lostEverywhere: -1, lostOnFaulted: true}
			}
			return allZero
		},
	},
	{
		name: "SIGSTOP", nutcracker: true, // in CI as the stall during the burst
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			f := e.stop(1)
			e.sleep(e.len.outage)
			e.cont(1, f)
			e.afterRejoins()
		},
		promise: func(replicas int) promise {
			if replicas == 1 { // its keys fail while it is stopped; it keeps them all
				return promise{failedOutside: -1, rejoins: true}
			}
			return allZero
		},
	},
	{
		name: "restart empty", nutcracker: true, ci: []int{1, 2},
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			f := e.kill(1)
			e.sleep(e.len.outage)
			e.restart(1, f)
			e.afterRejoins()
		},
		promise: func(replicas int) promise {
			if replicas == 1 {
				return promise{failedOutside: -1, lost: -1, lostEverywhere: -1, lostOnFaulted: true, rejoins: true}
			}
			return allZero
		},
	},
	{
		name: "stall during write burst", burst: true, nutcracker: true, ci: []int{1, 2},
		inject: stallDuringBurst, promise: burstPromise,
	},
	{
		// The queue of s2's missed writes overflows (replay_limit) during the stall.
		name: "stall during write burst, queue overflow", burst: true, pool: "    replay_limit: 1000", ci: []int{2},
		inject: stallDuringBurst, promise: burstPromise,
	},
	{
		name: "three restarts", nutcracker: true, ci: []int{2},
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			for i := range faultServers {
				if i > 0 { // single faults: the next begins once the last server is back
					e.rejoins.Wait()
					e.sleep(max(e.len.gap-time.Since(e.run.Faults()[i-1].Start), e.len.settle))
				}
				f := e.kill(i)
				e.sleep(e.len.outage)
				e.restart(i, f)
			}
			e.afterRejoins()
		},
		promise: func(replicas int) promise {
			if replicas == 1 {
				return promise{failedOutside: -1, lost: -1, lostEverywhere: -1, lostOnFaulted: true, rejoins: true}
			}
			// Issue 13's target, not met yet: a restarted server is refilled only by the reads
			// that miss on it, so a key whose one remaining copy restarts next is lost.
			return promise{lost: -1, lostEverywhere: -1, rejoins: true}
		},
	},
	{
		name: "slow script", redisOnly: true, nutcracker: true,
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			e.run.Fault("3 EVALs of 600 ms on s2")
			key := ownedKey(1, "slow")
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					opt := &redis.Options{Addr: e.addr, MaxRetries: -1, ReadTimeout: 10 * time.Second}
					if e.nutcracker {
						faultrun.WithoutHello(opt)
					}
					c := redis.NewClient(opt)
					defer c.Close()
					if err := c.Eval(e.t.Context(), busyScript, []string{key}, 600).Err(); err != nil {
						e.t.Logf("EVAL: %v", err)
					}
				})
			}
			wg.Wait()
			e.afterRejoins()
		},
		promise: func(int) promise { return promise{noFailures: true} },
	},
	{
		name: "slow KEYS", redisOnly: true, s2Args: []string{"--enable-debug-command", "yes"},
		prepare: func(e *faultEnv) {
			direct := redis.NewClient(&redis.Options{Addr: e.servers[1].Addr, ReadTimeout: time.Minute})
			defer direct.Close()
			if err := direct.Do(e.t.Context(), "DEBUG", "POPULATE", 500_000, "big").Err(); err != nil {
				e.t.Fatalf("DEBUG POPULATE: %v", err)
			}
		},
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			e.run.Fault("3 KEYS over 500k keys on s2")
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					c := redis.NewClient(&redis.Options{Addr: e.addr, MaxRetries: -1, ReadTimeout: 10 * time.Second})
					defer c.Close()
					start := time.Now()
					err := c.Keys(e.t.Context(), "big:*:none").Err()
					e.t.Logf("KEYS over 500k keys: %v after %v", err, time.Since(start).Round(time.Millisecond))
				})
			}
			wg.Wait()
			e.afterRejoins()
		},
		promise: func(int) promise { return promise{noFailures: true} },
	},
	{
		name: "trickle", front: true, nutcracker: true,
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			f := e.run.Fault("s2 trickles")
			e.front.Trickle(20 * time.Millisecond)
			e.sleep(e.len.outage)
			e.front.Trickle(0)
			f.Ended()
			e.measureRejoin(1, f)
			e.afterRejoins()
		},
		promise: func(replicas int) promise {
			if replicas == 1 { // its keys fail while it trickles
				return promise{failedOutside: -1, rejoins: true}
			}
			return allZero
		},
	},
	{
		name: "extra reply", front: true, nutcracker: true,
		inject: func(e *faultEnv) {
			e.sleep(e.len.settle)
			f := e.run.Fault("s2 sends 10 extra replies")
			extra := "STORED\r\n"
			if e.redis {
				extra = "+OK\r\n"
			}
			for range 10 {
				e.front.Inject([]byte(extra))
				e.sleep(80 * time.Millisecond)
			}
			f.Ended()
			e.measureRejoin(1, f)
			e.afterRejoins()
		},
		// The calls on the connection that got an extra reply fail, and count as the server's
		// failures: with one copy, s2 is marked down and its keys fail until the next probe.
		promise: func(replicas int) promise {
			if replicas == 1 {
				return promise{failedOutside: -1, rejoins: true}
			}
			return allZero
		},
	},
}

// stallDuringBurst stops s2 a third of the way through the write burst.
func stallDuringBurst(e *faultEnv) {
	e.waitBurst(e.len.burst / 3)
	e.heldBefore = e.held(1)
	f := e.stop(1)
	e.sleep(e.len.outage)
	e.cont(1, f)
	e.waitBurst(e.len.burst)
	e.afterRejoins()
}

// burstPromise: writes failing during a stall cost the stalled server none of the keys it had.
func burstPromise(replicas int) promise {
	p := allZero
	if replicas == 1 {
		p.failedOutside = -1
	}
	p.untouchedKept = true
	return p
}

// TestFaultSuite runs issue 13's fault sequences under load, through discoh (and nutcracker in
// compare mode), on both protocols, and logs each run's figures and, at the end, the table.
func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite runs for a minute")
	}
	var rows []faultrun.Row
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			for _, proto := range []string{"redis", "memcached"} {
				if c.redisOnly && proto != "redis" {
					continue
				}
				t.Run(proto, func(t *testing.T) {
					for _, tg := range c.targets() {
						t.Run(tg.String(), func(t *testing.T) {
							f := runFaultCase(t, c, proto == "redis", tg)
							rows = append(rows, faultrun.Row{Case: c.name + " (" + proto + ")", Proxy: tg.String(), Replicas: tg.replicas, Figures: f})
						})
					}
				})
			}
		})
	}
	t.Logf("fault suite, %d clients, %d keys, lengths %+v, health: timeout %v, failure limit %d, retry %v, window %v\n%s",
		faultrun.DefaultClients, faultrun.DefaultKeys, lengths(), faultTimeout, faultFailureLimit, faultRetry, faultWindow, faultrun.Table(rows))
}

// targets returns the proxies the case runs through in this mode.
func (c faultCase) targets() []faultTarget {
	if !*faultCompare {
		var tgs []faultTarget
		for _, r := range c.ci {
			tgs = append(tgs, faultTarget{replicas: r})
		}
		return tgs
	}
	tgs := []faultTarget{{replicas: 1}, {replicas: 1, autoEject: true}, {replicas: 2}}
	if c.nutcracker {
		tgs = append(tgs, faultTarget{nutcracker: true, replicas: 1})
	}
	return tgs
}

// faultEnv is one run of a case: its servers, the proxy over them and the load.
type faultEnv struct {
	t          *testing.T
	redis      bool
	nutcracker bool // the proxy is nutcracker, not discoh
	len        faultLengths
	servers    []*testproc.Proc
	dead       []bool
	front      *faultproxy.Proxy // between the proxy and s2, for the cases that need one
	addr       string            // the proxy's
	run        *faultrun.Run
	rejoins    sync.WaitGroup
	heldBefore map[string]bool // keys s2 held before a stall
	faulted    []bool          // servers a fault hit
}

func runFaultCase(t *testing.T, c faultCase, isRedis bool, tg faultTarget) faultrun.Figures {
	e := &faultEnv{t: t, redis: isRedis, nutcracker: tg.nutcracker, len: lengths(), dead: make([]bool, faultServers), faulted: make([]bool, faultServers)}
	var lines []string
	for i := range faultServers {
		var p *testproc.Proc
		switch {
		case !isRedis:
			p = testproc.Memcached(t)
		case i == 1:
			p = testproc.Redis(t, c.s2Args...)
		default:
			p = testproc.Redis(t)
		}
		e.servers = append(e.servers, p)
		addr := p.Addr
		if c.front && i == 1 {
			fp, err := faultproxy.New(p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fp.Close() })
			e.front, addr = fp, fp.Addr()
		}
		lines = append(lines, fmt.Sprintf("%s:1 s%d", addr, i+1))
	}
	if c.prepare != nil {
		c.prepare(e)
	}
	port := testproc.FreePort(t)
	e.addr = fmt.Sprintf("127.0.0.1:%d", port)
	var logs *os.File
	if tg.nutcracker {
		testproc.Nutcracker(t, nutcrackerFaultYAML(e.addr, isRedis, lines), port)
	} else {
		logs = startLoggedDiscoh(t, discohFaultYAML(e.addr, isRedis, tg, t.TempDir(), c.pool, lines), e.addr)
	}
	cfg := faultrun.Config{Addr: e.addr, Dial: e.dial(), Seed: uint64(time.Now().UnixNano())}
	if c.burst { // most keys stay untouched, as issue 13's 900 keys a stalled server lost to a flush
		cfg.Burst, cfg.Writes = e.len.burst, 0.01
	}
	seed := cfg.Seed
	var err error
	e.run, err = faultrun.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.run.Stop()
	c.inject(e)
	e.run.Stop()
	e.rejoins.Wait()
	final := e.run.Check(t.Context(), e.liveServers())
	f := e.run.Figures(faultWindow, final)
	t.Logf("%s through %s, %s, seed %d: %v", c.name, tg, map[bool]string{true: "redis", false: "memcached"}[isRedis], seed, f)
	for _, fault := range f.Faults {
		back := ""
		if !fault.End.IsZero() {
			back = ", back at " + fault.End.Format("15:04:05.000")
		}
		t.Logf("  %s at %s%s", fault.Name, fault.Start.Format("15:04:05.000"), back)
	}
	for _, s := range append(f.Errors, f.Odd...) {
		t.Logf("  %s", s)
	}
	for _, err := range final.Errors {
		t.Logf("  checking the servers: %v", err)
	}
	if !tg.nutcracker {
		p := c.promise(tg.replicas)
		if tg.autoEject { // its keys move to the next server: measured, and no reply is wrong
			p = promise{failedOutside: -1, stale: -1, lost: -1, lostEverywhere: -1}
		}
		e.checkPromise(p, f)
		if t.Failed() || *faultCompare {
			logTail(t, logs)
		}
	}
	return f
}

// checkPromise asserts what the case promises through discoh.
func (e *faultEnv) checkPromise(p promise, f faultrun.Figures) {
	t := e.t
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"failed operations outside the detection windows", f.FailedOutside, p.failedOutside},
		{"stale reads", f.Stale + int64(f.Final.Stale), p.stale},
		{"wrong replies", f.Wrong + int64(f.Final.Wrong), p.wrong},
		{"lost writes", int64(f.Final.Lost + f.Final.Failed), p.lost},
		{"keys lost from every server", int64(f.Final.LostEverywhere), p.lostEverywhere},
	} {
		if c.want >= 0 && c.got != c.want {
			t.Errorf("%s: %d; want %d", c.name, c.got, c.want)
		}
	}
	if f.Ops == 0 {
		t.Error("no operations ran")
	}
	if p.noFailures && f.Failed != 0 {
		t.Errorf("%d operations failed; want none", f.Failed)
	}
	bound := e.len.outage + rejoinSlack
	for _, fault := range f.Faults {
		switch {
		case !p.rejoins || fault.End.IsZero():
		case !fault.Rejoined || fault.Rejoin > bound:
			t.Errorf("%s: rejoined %v after %v; want within %v", fault.Name, fault.Rejoined, fault.Rejoin, bound)
		case fault.Rejoin > rejoinTarget:
			t.Logf("%s: rejoined after %v, more than issue 13's target of %v", fault.Name, fault.Rejoin, rejoinTarget)
		}
	}
	if p.lostOnFaulted {
		ring := testRing(faultServers)
		for _, k := range f.Final.LostKeys {
			if owner := ring.Owner([]byte(k)); !e.faulted[owner] {
				t.Errorf("%s lost; its server s%d had no fault", k, owner+1)
			}
		}
	}
	if p.untouchedKept {
		e.checkUntouched()
	}
}

// checkUntouched: every key s2 held before its stall that no client wrote since is still on it.
func (e *faultEnv) checkUntouched() {
	s2 := e.direct(1)
	untouched := e.run.Untouched()
	var keys []string
	for _, k := range untouched {
		if e.heldBefore[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		e.t.Logf("s2 held none of the %d keys nobody wrote during the run", len(untouched))
		return
	}
	after, err := s2.GetMany(e.t.Context(), keys)
	if err != nil {
		e.t.Fatalf("reading s2: %v", err)
	}
	e.t.Logf("s2 held %d keys before its stall that nobody wrote since; it holds %d of them after", len(keys), len(after))
	if len(after) != len(keys) {
		e.t.Errorf("s2 lost %d of the %d keys it held before its stall that nobody wrote since", len(keys)-len(after), len(keys))
	}
}

func (e *faultEnv) dial() faultrun.Dialer {
	switch {
	case e.redis && e.nutcracker:
		return faultrun.RedisWithoutHello
	case e.redis:
		return faultrun.Redis
	}
	return faultrun.Memcached
}

// direct returns a client of server i, bypassing the proxy.
func (e *faultEnv) direct(i int) faultrun.Client {
	c := e.dial()(e.servers[i].Addr)
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *faultEnv) liveServers() []faultrun.Client {
	var cs []faultrun.Client
	for i := range e.servers {
		if !e.dead[i] {
			cs = append(cs, e.direct(i))
		}
	}
	return cs
}

// held returns the keys of the load that server i holds.
func (e *faultEnv) held(i int) map[string]bool {
	var keys []string
	for k := range faultrun.DefaultKeys {
		keys = append(keys, fmt.Sprintf("%s:%d", faultrun.DefaultPrefix, k))
	}
	hits, err := e.direct(i).GetMany(e.t.Context(), keys)
	if err != nil {
		e.t.Fatalf("reading s%d: %v", i+1, err)
	}
	held := map[string]bool{}
	for k := range hits {
		held[k] = true
	}
	return held
}

// afterRejoins waits until the servers back from their faults rejoined (or the rejoin limit
// passed), then for the run's after time: the load goes on meanwhile, so what the final check
// finds includes what clients wrote once every server was back.
func (e *faultEnv) afterRejoins() {
	e.rejoins.Wait()
	e.sleep(e.len.after)
}

func (e *faultEnv) sleep(d time.Duration) {
	select {
	case <-time.After(d):
	case <-e.t.Context().Done():
	}
}

// waitBurst waits until n keys of the burst have been written.
func (e *faultEnv) waitBurst(n int) {
	deadline := time.Now().Add(2 * time.Minute)
	for e.run.BurstWritten() < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d burst writes of %d after 2 minutes", e.run.BurstWritten(), n)
		}
		e.sleep(5 * time.Millisecond)
	}
}

func (e *faultEnv) kill(i int) *faultrun.Fault {
	f := e.run.Fault(fmt.Sprintf("kill -9 s%d", i+1))
	e.servers[i].Kill()
	e.dead[i], e.faulted[i] = true, true
	return f
}

// restart starts server i again on its port, empty, and measures its rejoin.
func (e *faultEnv) restart(i int, f *faultrun.Fault) {
	if e.redis {
		e.servers[i] = testproc.RedisAt(e.t, e.servers[i].Port)
	} else {
		e.servers[i] = testproc.MemcachedAt(e.t, e.servers[i].Port)
	}
	e.dead[i] = false
	f.Ended()
	if err := e.direct(i).Set(e.t.Context(), "restarted", "yes"); err != nil {
		// Seen once in ~60 restarts: the new server never answered (see the report of issue 13's
		// fault suite); the sockets on its port say who holds it.
		out, _ := exec.Command("sh", "-c", fmt.Sprintf("ss -tanp | grep :%d", e.servers[i].Port)).CombinedOutput()
		e.t.Logf("s%d restarted on port %d does not answer: %v\n%s", i+1, e.servers[i].Port, err, out)
	}
	e.measureRejoin(i, f)
}

func (e *faultEnv) stop(i int) *faultrun.Fault {
	f := e.run.Fault(fmt.Sprintf("SIGSTOP s%d", i+1))
	e.servers[i].Stop()
	e.faulted[i] = true
	return f
}

func (e *faultEnv) cont(i int, f *faultrun.Fault) {
	e.servers[i].Cont()
	f.Ended()
	e.measureRejoin(i, f)
}

// measureRejoin measures, in the background, how long after f ended the proxy reads from
// server i again.
func (e *faultEnv) measureRejoin(i int, f *faultrun.Fault) {
	proxy, server := e.dial()(e.addr), e.direct(i)
	e.rejoins.Go(func() {
		defer proxy.Close()
		faultrun.Rejoin(e.t.Context(), f, proxy, server, ownedKey(i, "rejoin"), faultRejoinLimit)
	})
}

// ownedKey returns a key that server i owns first on the ring of faultServers servers.
func ownedKey(i int, prefix string) string {
	r := testRing(faultServers)
	for n := 0; ; n++ {
		if k := fmt.Sprintf("%s:%d", prefix, n); r.Owner([]byte(k)) == i {
			return k
		}
	}
}

// discohFaultYAML is the fault suite's discoh pool over servers ("host:port:weight name").
func discohFaultYAML(listen string, isRedis bool, tg faultTarget, dataDir, extra string, servers []string) string {
	return fmt.Sprintf(`pools:
  main:
    listen: %s
    redis: %v
    hash: fnv1a_64
    distribution: ketama
    timeout: %v
    server_failure_limit: %d
    server_retry_timeout: %v
    replicas: %d
    auto_eject_hosts: %v
    data_dir: %s
%s
    servers:
      - %s
`, listen, isRedis, faultTimeout, faultFailureLimit, faultRetry, tg.replicas, tg.autoEject, dataDir, extra, strings.Join(servers, "\n      - "))
}

// nutcrackerFaultYAML is the same pool for nutcracker, which ejects a failed server and moves
// its keys to the next server on the ring until it answers again (auto_eject_hosts).
func nutcrackerFaultYAML(listen string, isRedis bool, servers []string) string {
	return fmt.Sprintf(`fault:
  listen: %s
  redis: %v
  hash: fnv1a_64
  distribution: ketama
  timeout: %d
  auto_eject_hosts: true
  server_failure_limit: %d
  server_retry_timeout: %d
  servers:
    - %s
`, listen, isRedis, faultTimeout.Milliseconds(), faultFailureLimit, faultRetry.Milliseconds(), strings.Join(servers, "\n    - "))
}

// startLoggedDiscoh is startDiscoh with discoh's log kept in a file, for the report of a run.
func startLoggedDiscoh(t *testing.T, yaml, addr string) *os.File {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	logs, err := os.Create(filepath.Join(t.TempDir(), "discoh.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil))) }()
	if err := testproc.WaitListening(addr, 5*time.Second); err != nil {
		cancel()
		t.Fatalf("discoh: %v (run: %v)", err, <-done)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		logs.Close()
	})
	return logs
}

// logTail logs the last lines of discoh's log.
func logTail(t *testing.T, logs *os.File) {
	b, err := os.ReadFile(logs.Name())
	if err != nil {
		t.Logf("discoh's log: %v", err)
		return
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	t.Logf("discoh's log (last %d lines):\n%s", len(lines), bytes.Join(lines, []byte("\n")))
}
