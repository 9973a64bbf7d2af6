package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/faultproxy"
	"github.com/discoh/discoh/internal/testproc"
)

// startFaultyRedis starts one redis-server behind a fault proxy and discoh over the proxy, with
// the given pool timeout.
func startFaultyRedis(t *testing.T, timeout string) (addr string, fp *faultproxy.Proxy, server *testproc.Proc) {
	t.Helper()
	server = testproc.Redis(t)
	fp, err := faultproxy.New(server.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fp.Close() })
	addr = fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	startDiscoh(t, fmt.Sprintf("pools:\n  main:\n    listen: %s\n    redis: true\n    timeout: %s\n    data_dir: %s\n    servers:\n      - %s:1 s1\n",
		addr, timeout, t.TempDir(), fp.Addr()), addr)
	return addr, fp, server
}

// busyScript keeps Redis busy for ms milliseconds.
const busyScript = `local t0 = redis.call('TIME') local start = t0[1] * 1000000 + t0[2]
while true do local t = redis.call('TIME') if t[1] * 1000000 + t[2] - start > tonumber(ARGV[1]) * 1000 then break end end
return 1`

// Slow is not dead: scripts and KEYS that outlast the pool's timeout, and the requests that
// wait behind them, are answered as Redis answers them, and the server stays up for everyone.
func TestSlowCommandsDoNotTakeTheServerDown(t *testing.T) {
	addr, _, _ := startFaultyRedis(t, "200ms")
	client := func(proto int) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, MaxRetries: -1, ReadTimeout: 10 * time.Second})
		t.Cleanup(func() { c.Close() })
		return c
	}
	ctx := t.Context()
	c := client(2)
	c.Set(ctx, "k", "v", 0)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 3 { // three 600 ms scripts back to back: the server is busy for 1.8 s
		wg.Go(func() {
			if err := client(2).Eval(ctx, busyScript, nil, 600).Err(); err != nil {
				errs <- fmt.Errorf("EVAL: %w", err)
			}
		})
	}
	for _, proto := range []int{2, 3} { // other clients, on both of the server's connections
		wg.Go(func() {
			time.Sleep(50 * time.Millisecond)
			if got, err := client(proto).Get(ctx, "k").Result(); got != "v" || err != nil {
				errs <- fmt.Errorf("RESP%d GET behind the scripts = %q, %v; want v", proto, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if info := c.Info(ctx, "servers").Val(); !strings.Contains(info, "health=up") || !strings.Contains(info, "failures=0") {
		t.Errorf("server after slow scripts:\n%s", info)
	}
}

// A server that trickles a reply byte by byte is a dead one for that call: the client gets an
// error within about the timeout, not after the whole trickle.
func TestTricklingReplyTimesOut(t *testing.T) {
	addr, fp, _ := startFaultyRedis(t, "300ms")
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: 30 * time.Second})
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	c.Set(ctx, "k", strings.Repeat("v", 200), 0)
	fp.Trickle(20 * time.Millisecond) // the 207-byte reply would take over 4 s
	start := time.Now()
	err := c.Get(ctx, "k").Err()
	took := time.Since(start)
	fp.Trickle(0)
	if err == nil || took > 1500*time.Millisecond {
		t.Fatalf("GET from a trickling server: %v after %v; want an error within about 300ms", err, took)
	}
	t.Logf("trickling server: %v after %v", err, took)
}

// A reply nobody asked for never reaches a client as the answer to its request: the replies
// would be out of step with the requests from then on, so the connection is closed. Here the
// extra reply is an OK (as if a SET had been answered twice) arriving while pipelined GETs
// wait: the first of them would get it, and each the next one's value.
func TestReplyOutOfStepNeverReachesAClient(t *testing.T) {
	addr, fp, _ := startFaultyRedis(t, "1s")
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1})
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	for i := range 20 {
		c.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0)
	}
	wrong := 0
	for round := range 5 {
		fp.Inject([]byte("+OK\r\n"))
		cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range 20 {
				p.Get(ctx, fmt.Sprintf("k%d", i))
			}
			return nil
		})
		for i, cmd := range cmds {
			got, err := cmd.(*redis.StringCmd).Result()
			if err == nil && got != fmt.Sprintf("v%d", i) {
				wrong++
				t.Errorf("round %d: GET k%d = %q; want v%d or an error", round, i, got, i)
			}
		}
	}
	if wrong > 0 {
		t.Fatalf("%d wrong replies", wrong)
	}
	// The server answers: out-of-step replies cost the calls on their connection, not the
	// server's health (marked down, every key would fail until it is probed again).
	if info := c.Info(ctx, "servers").Val(); !strings.Contains(info, "downs=0,") {
		t.Errorf("stray replies marked the server down:\n%s", info)
	}
}

// Writes that fail while a server stalls must not cost the server, once back, any key it had: a
// key whose SET was acknowledged holds the new value; one whose SET failed holds the old value,
// or the new one if the SET was written before the stall was noticed (the server applies it
// when it resumes, as it would for a client talking to it directly). discoh used to queue every
// failed write's key for deletion on the server's return, and to flush the server past 100,000.
func TestWritesFailedDuringAStallLoseNoKeys(t *testing.T) {
	st := startRedisStack(t, 2, "    server_retry_timeout: 200ms")
	c := st.client(t, 2)
	ctx := t.Context()
	keys := writeKeys(t, c, "stall", 200)
	st.servers[0].Stop()
	acked := map[string]bool{}
	for _, k := range keys {
		if c.Set(ctx, k, "new", 0).Err() == nil {
			acked[k] = true
		}
	}
	st.servers[0].Cont()
	if len(acked) == 0 || len(acked) == len(keys) {
		t.Fatalf("%d of %d SETs acknowledged during the stall; want the stalled server's to fail", len(acked), len(keys))
	}
	waitHealthy(t, c)
	lost, wrong := 0, 0
	for _, k := range keys {
		switch got, err := c.Get(ctx, k).Result(); {
		case err == redis.Nil:
			lost++
		case got != "new" && (acked[k] || got != "v-"+k):
			wrong++
			t.Errorf("GET %s = %q, %v; want new, or its old value if its SET failed (acknowledged: %v)", k, got, err, acked[k])
		}
	}
	if lost > 0 || wrong > 0 {
		t.Fatalf("after the stall: %d keys lost, %d wrong of %d (%d writes acknowledged)", lost, wrong, len(keys), len(acked))
	}
}

// A server that comes back while 20 clients keep writing rejoins within 2 s: the writes that
// arrive while it catches up go to it directly, so its replay queue stops growing. No
// acknowledged write is lost or read back stale afterwards.
func TestServerRejoinsUnderSteadyWrites(t *testing.T) {
	st := startRedisStack(t, 3, "    replicas: 2\n    server_retry_timeout: 200ms")
	ctx := t.Context()
	var mu sync.Mutex
	last := map[string]string{} // key -> last acknowledged value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			c := st.client(t, 2)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Each key has one writer, so its last acknowledged value is well defined.
				k, v := fmt.Sprintf("steady:%d:%d", w, i%100), fmt.Sprintf("%d-%d", w, i)
				if c.Set(ctx, k, v, 0).Err() == nil {
					mu.Lock()
					last[k] = v
					mu.Unlock()
				}
			}
		})
	}
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriters()
	c := st.client(t, 2)
	time.Sleep(300 * time.Millisecond)
	st.servers[1].Stop()
	time.Sleep(1500 * time.Millisecond) // marked down; its keys' writes are queued for it
	st.servers[1].Cont()
	back := time.Now()
	for !strings.Contains(c.Info(ctx, "servers").Val(), "name=s2,") || !serverUp(c, "s2") {
		if time.Since(back) > 10*time.Second {
			t.Fatalf("s2 not up 10 s after its return, under writes:\n%s", c.Info(ctx, "servers").Val())
		}
		time.Sleep(20 * time.Millisecond)
	}
	rejoin := time.Since(back)
	stopWriters()
	t.Logf("s2 rejoined %v after SIGCONT, under 20 writing clients", rejoin)
	if rejoin > 2*time.Second {
		t.Errorf("s2 rejoined %v after its return; want within 2 s", rejoin)
	}
	wrong := 0
	for k, v := range last {
		if got, err := c.Get(ctx, k).Result(); got != v {
			wrong++
			if wrong < 5 {
				t.Errorf("GET %s = %q, %v; want %q, its last acknowledged value", k, got, err, v)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d keys lost or stale", wrong, len(last))
	}
}

// serverUp reports whether INFO servers shows the named server up.
func serverUp(c *redis.Client, name string) bool {
	for _, line := range strings.Split(c.Info(context.Background(), "servers").Val(), "\n") {
		if strings.Contains(line, "name="+name+",") {
			return strings.Contains(line, "health=up")
		}
	}
	return false
}

// Clients that pipeline many GETs of a large value cost the server a bounded output buffer per
// discoh connection: the calls past the reply window wait in discoh, where no deadline runs,
// instead of in Redis, whose replies then come too late for the timeout (which once took the
// server down for everyone). A client of another key is answered throughout.
func TestDeepPipelinesOfLargeRepliesStayBounded(t *testing.T) {
	st := startRedisStack(t, 1, "    server_connections: 1")
	ctx := context.Background()
	rc := st.client(t, 2)
	if err := rc.Set(ctx, "big", strings.Repeat("x", 100_000), 0).Err(); err != nil {
		t.Fatal(err)
	}
	rc.Set(ctx, "small", "v", 0)
	req := []byte(strings.Repeat("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 1000))
	for range 10 {
		nc, err := net.Dial("tcp", st.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		go nc.Write(req) // never read: the replies back up into discoh
	}
	server := st.direct(t, 0)
	peak := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		peak = max(peak, peakOutputMemory(t, server))
		if v, err := rc.Get(ctx, "small").Result(); err != nil || v != "v" {
			t.Fatalf("GET small during the pipelines = %q, %v", v, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("peak server-side memory of a discoh connection: %.1f MB", float64(peak)/(1<<20))
	if peak > 16<<20 {
		t.Errorf("the server buffered up to %d MB of replies for one discoh connection; want at most 16 MB", peak>>20)
	}
	if info := rc.Info(ctx, "servers").Val(); !strings.Contains(info, "failures=0,") {
		t.Errorf("the server's calls failed:\n%s", info)
	}
}

// peakOutputMemory returns the largest tot-mem of the server's clients other than the asking one.
func peakOutputMemory(t *testing.T, server *redis.Client) int {
	t.Helper()
	list, err := server.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	peak := 0
	for line := range strings.Lines(list) {
		if strings.Contains(line, "cmd=client|list") {
			continue
		}
		for field := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(field, "tot-mem="); ok {
				n, _ := strconv.Atoi(v)
				peak = max(peak, n)
			}
		}
	}
	return peak
}

// The memcached form: a get's reply names its key, so a reply shifted onto the wrong get is
// caught by its key even where its shape fits. Here a whole get reply for another key, or a
// STORED, arrives while pipelined gets wait: each get would get the one before's value.
func TestMemcacheReplyOutOfStepNeverReachesAClient(t *testing.T) {
	server := testproc.Memcached(t)
	fp, err := faultproxy.New(server.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fp.Close() })
	addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	startDiscoh(t, fmt.Sprintf("pools:\n  main:\n    listen: %s\n    redis: false\n    timeout: 1s\n    data_dir: %s\n    servers:\n      - %s:1 s1\n",
		addr, t.TempDir(), fp.Addr()), addr)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	r := bufio.NewReader(nc)
	for i := range 20 {
		fmt.Fprintf(nc, "set k%d 0 0 %d\r\nv%d\r\n", i, len(fmt.Sprint("v", i)), i)
		if line, _ := r.ReadString('\n'); line != "STORED\r\n" {
			t.Fatalf("set k%d: %q", i, line)
		}
	}
	wrong := 0
	for round := range 5 {
		stray := "VALUE k19 0 3\r\nv19\r\nEND\r\n" // fits a get's shape, not its key
		if round%2 == 1 {
			stray = "STORED\r\n" // fits no get
		}
		fp.Inject([]byte(stray))
		var req strings.Builder
		for i := range 20 {
			fmt.Fprintf(&req, "get k%d\r\n", i)
		}
		io.WriteString(nc, req.String())
		for i := range 20 {
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("round %d, get k%d: %v", round, i, err)
			}
			if strings.HasPrefix(line, "SERVER_ERROR") {
				continue
			}
			if !strings.HasPrefix(line, "VALUE ") {
				t.Fatalf("round %d, get k%d: %q", round, i, line)
			}
			value, _ := r.ReadString('\n')
			r.ReadString('\n') // END
			if want := fmt.Sprintf("v%d\r\n", i); value != want {
				wrong++
				t.Errorf("round %d: get k%d = %q; want %q or an error", round, i, value, want)
			}
		}
	}
	if wrong > 0 {
		t.Fatalf("%d wrong replies", wrong)
	}
	// The server answers: out-of-step replies cost the calls on their connection, not the
	// server's health.
	io.WriteString(nc, "stats\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "END\r\n" {
			break
		}
		if strings.HasPrefix(line, "STAT server0_downs ") && line != "STAT server0_downs 0\r\n" {
			t.Errorf("stray replies marked the server down: %q", line)
		}
	}
}

// SCRIPT KILL stops a runaway script through discoh as it does directly: it goes to the server on
// a connection of its own, not behind the script on the shared one (where it waited out the slow
// limit, 30 s, and the server was marked down with the script still running).
func TestScriptKillStopsARunawayScript(t *testing.T) {
	server := testproc.Redis(t, "--busy-reply-threshold", "100")
	addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	startDiscoh(t, fmt.Sprintf("pools:\n  main:\n    listen: %s\n    redis: true\n    timeout: 1s\n    data_dir: %s\n    servers:\n      - %s:1 s1\n",
		addr, t.TempDir(), server.Addr), addr)
	ctx := t.Context()
	runner := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: 10 * time.Second})
	killer := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { runner.Close(); killer.Close() })
	done := make(chan error, 1)
	go func() { done <- runner.Eval(ctx, "local i = 0 while true do i = i + 1 end", nil).Err() }()
	time.Sleep(300 * time.Millisecond) // the script runs past the busy threshold
	if err := killer.ScriptKill(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT KILL: %v; want OK", err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the script's EVAL: %v; want the error of a killed script", err)
	}
	if err := killer.Set(ctx, "after", "v", 0).Err(); err != nil {
		t.Errorf("SET after the kill: %v", err)
	}
	if info := killer.Info(ctx, "servers").Val(); !strings.Contains(info, "downs=0,") {
		t.Errorf("a killed script marked the server down:\n%s", info)
	}
}
