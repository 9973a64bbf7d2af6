package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testproc"
)

// adminStack is discoh serving a Redis pool of two servers and a memcached pool of one, with
// its admin endpoint on.
type adminStack struct {
	admin, redis, mc string
	redisServers     []*testproc.Proc
}

func startAdminStack(t *testing.T, adminExtra string) *adminStack {
	t.Helper()
	st := &adminStack{
		admin: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t)),
		redis: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t)),
		mc:    fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t)),
	}
	st.redisServers = []*testproc.Proc{testproc.Redis(t), testproc.Redis(t)}
	startDiscoh(t, fmt.Sprintf(`pools:
  main:
    listen: %s
    redis: true
    timeout: 300ms
    server_failure_limit: 1
    server_retry_timeout: 1h
    data_dir: %s
    servers:
      - %s:1 r1
      - %s:1 r2
  cache:
    listen: %s
    redis: false
    data_dir: %s
    servers:
      - %s:1 m1
admin:
  listen: %s
%s`, st.redis, t.TempDir(), st.redisServers[0].Addr, st.redisServers[1].Addr,
		st.mc, t.TempDir(), testproc.Memcached(t).Addr, st.admin, adminExtra), st.redis)
	return st
}

// get fetches path from the admin endpoint.
func (st *adminStack) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + st.admin + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// metrics scrapes /metrics and parses it with Prometheus's own text parser.
func (st *adminStack) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := st.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v\n%s", err, body)
	}
	return families
}

// value returns the value of family's sample whose labels include labels (name=value pairs).
func value(t *testing.T, families map[string]*dto.MetricFamily, family string, labels ...string) float64 {
	t.Helper()
	f := families[family]
	if f == nil {
		t.Fatalf("/metrics has no %s", family)
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("/metrics has no %s with %v", family, labels)
	return 0
}

// TestAdminMetrics: /metrics is Prometheus text that Prometheus's parser accepts, reports
// each pool, its servers and its clients, and its counters move with the requests served.
func TestAdminMetrics(t *testing.T) {
	st := startAdminStack(t, "")
	before := st.metrics(t)
	rc := redis.NewClient(&redis.Options{Addr: st.redis, Protocol: 2})
	defer rc.Close()
	for i := range 100 {
		if err := rc.Set(t.Context(), fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	mc := memcache.New(st.mc)
	mc.Get("missing") // a miss
	after := st.metrics(t)

	if got := value(t, after, "discoh_pool_info", "pool", "main", "protocol", "redis"); got != 1 {
		t.Errorf("discoh_pool_info{pool=main} = %v; want 1", got)
	}
	commands := value(t, after, "discoh_commands_total", "pool", "main") - value(t, before, "discoh_commands_total", "pool", "main")
	if commands < 100 {
		t.Errorf("discoh_commands_total grew by %v over 100 SETs; want at least 100", commands)
	}
	sent := value(t, after, "discoh_server_requests_total", "pool", "main", "server", "r1") +
		value(t, after, "discoh_server_requests_total", "pool", "main", "server", "r2")
	if sent < 100 {
		t.Errorf("discoh_server_requests_total over r1 and r2 = %v after 100 SETs; want at least 100", sent)
	}
	for _, s := range []string{"r1", "r2"} {
		if up := value(t, after, "discoh_server_up", "pool", "main", "server", s); up != 1 {
			t.Errorf("discoh_server_up{server=%s} = %v; want 1", s, up)
		}
	}
	if got := value(t, after, "discoh_client_connections", "pool", "main"); got < 1 {
		t.Errorf("discoh_client_connections{pool=main} = %v with a client connected; want at least 1", got)
	}
	if got := value(t, after, "discoh_get_misses_total", "pool", "cache"); got != 1 {
		t.Errorf("discoh_get_misses_total{pool=cache} = %v after one miss; want 1", got)
	}
	if after["go_goroutines"] == nil || after["process_resident_memory_bytes"] == nil {
		t.Error("/metrics lacks the Go and process collectors (go_goroutines, process_resident_memory_bytes)")
	}
}

// TestAdminHealthAndReadiness: /healthz answers while discoh runs; /readyz answers 200 while
// every key has a live copy and 503, naming the server, once a server holding the only copy of
// some keys is ejected; the status page (/) shows the same.
func TestAdminHealthAndReadiness(t *testing.T) {
	st := startAdminStack(t, "")
	if code, body := st.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q; want 200 ok", code, body)
	}
	if code, body := st.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with every server up: %d %s; want 200", code, body)
	}
	code, page := st.get(t, "/")
	for _, want := range []string{"pool main", "pool cache", `<tr class="up"><td>r1</td>`, `<tr class="up"><td>r2</td>`,
		`<tr class="up"><td>m1</td>`, "ready"} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("status page: %d, lacks %q:\n%s", code, want, page)
		}
	}
	st.redisServers[1].Kill()
	rc := redis.NewClient(&redis.Options{Addr: st.redis, Protocol: 2, MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		for i := range 20 { // keys on r2 fail, and r2 is ejected
			rc.Get(t.Context(), fmt.Sprintf("k%d", i))
		}
		if code, body = st.get(t, "/readyz"); code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var r struct {
		Ready   bool     `json:"ready"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != http.StatusServiceUnavailable || r.Ready ||
		len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "pool main") || !strings.Contains(r.Reasons[0], "r2") {
		t.Errorf("/readyz with r2 ejected: %d %s (%v); want 503 naming pool main and r2", code, body, err)
	}
	_, page = st.get(t, "/")
	for _, want := range []string{`<tr class="down"><td>r2</td>`, `<tr class="up"><td>r1</td>`, "not ready: pool main: every copy down: r2"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page with r2 ejected lacks %q:\n%s", want, page)
		}
	}
}

// TestAdminPprofIsOffByDefault: the profiler is served only when admin.pprof says so.
func TestAdminPprofIsOffByDefault(t *testing.T) {
	if code, _ := startAdminStack(t, "").get(t, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without admin.pprof: %d; want 404", code)
	}
	if code, body := startAdminStack(t, "  pprof: true\n").get(t, "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with admin.pprof: %d; want 200 and the profiles' index", code)
	}
}
