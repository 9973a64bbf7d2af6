package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// poolYAML returns a file with one pool, main, holding lines (YAML at the
// pool's indent). listen and servers get valid values unless lines set them.
func poolYAML(lines ...string) string {
	var b strings.Builder
	b.WriteString("pools:\n  main:\n")
	if !hasKey(lines, "listen:") {
		b.WriteString("    listen: 127.0.0.1:6380\n")
	}
	if !hasKey(lines, "servers:") {
		b.WriteString("    servers: [\"127.0.0.1:7001:1\"]\n")
	}
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func hasKey(lines []string, key string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, key) })
}

// messages returns the message of each problem joined in err, checking
// that each is a *FieldError matching ErrInvalid.
func messages(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("got %T %q; want errors.Join of *FieldError", err, err)
	}
	var out []string
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) || !errors.Is(e, ErrInvalid) {
			t.Errorf("problem %q: got %T; want a *FieldError matching ErrInvalid", e, e)
		}
		out = append(out, e.Error())
	}
	return out
}

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, yaml)
	}
	return c
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func checkPools(t *testing.T, got *Config, want ...*Pool) {
	t.Helper()
	if len(got.Pools) != len(want) {
		t.Fatalf("got %d pools; want %d", len(got.Pools), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got.Pools[i], want[i]) {
			t.Errorf("pool %d:\ngot  %+v\nwant %+v", i, *got.Pools[i], *want[i])
		}
	}
}

func TestLoadNutcrackerLayout(t *testing.T) {
	alpha := DefaultPool("alpha")
	alpha.Listen = "127.0.0.1:22121"
	alpha.Redis = true
	alpha.AutoEjectHosts = true
	alpha.TCPKeepAlive = true
	alpha.ServerRetryTimeout = 2 * time.Second
	alpha.ServerFailureLimit = 1
	alpha.Servers = []Server{{Addr: "127.0.0.1:6379", Weight: 1}}

	beta := DefaultPool("beta")
	beta.Listen = "127.0.0.1:22122"
	beta.Redis = true
	beta.HashTag = "{}"
	beta.Timeout = 400 * time.Millisecond
	beta.Servers = []Server{
		{Addr: "127.0.0.1:6380", Weight: 1, Name: "server1"},
		{Addr: "127.0.0.1:6381", Weight: 1, Name: "server2"},
		{Addr: "127.0.0.1:6382", Weight: 1, Name: "server3"},
	}

	gamma := DefaultPool("gamma")
	gamma.Listen = "127.0.0.1:22123"
	gamma.Hash = "murmur"
	gamma.Distribution = "modula"
	gamma.Timeout = 400 * time.Millisecond
	gamma.Backlog = 1024
	gamma.Preconnect = true
	gamma.AutoEjectHosts = true
	gamma.ServerRetryTimeout = 2 * time.Second
	gamma.ServerFailureLimit = 3
	gamma.Limits.MaxConnections = 100
	gamma.Servers = []Server{
		{Addr: "127.0.0.1:11212", Weight: 1},
		{Addr: "127.0.0.1:11213", Weight: 2},
	}

	path := filepath.Join("testdata", "nutcracker.yml")
	c := mustLoad(t, path)
	checkPools(t, c, alpha, beta, gamma)
	if c.Path != path {
		t.Errorf("got Path %q; want %q", c.Path, path)
	}
}

func TestLoadDiscohLayout(t *testing.T) {
	cache := DefaultPool("cache")
	cache.Listen = "127.0.0.1:11311"
	cache.Embedded = true
	cache.Limits.ItemSizeMax = 2 << 20
	cache.Servers = []Server{
		{Addr: "127.0.0.1:0", Weight: 1, Name: "m1"},
		{Addr: "127.0.0.1:0", Weight: 1, Name: "m2"},
	}

	main := DefaultPool("main")
	main.Listen = "127.0.0.1:6380"
	main.Redis = true
	main.Hash = "xxhash"
	main.HashTag = "{}"
	main.Timeout = 250 * time.Millisecond
	main.ServerConnections = 2
	main.Replicas = 2
	main.RedisAuth = "s3cret"
	main.Limits = ClientLimits{
		IdleTimeout:           5 * time.Minute,
		WriteTimeout:          3 * time.Second,
		MaxRequestBytes:       64 << 20,
		MaxBulkBytes:          32 << 20,
		MaxArgs:               4096,
		MaxInlineBytes:        16 << 10,
		MaxPendingOutputBytes: 8 << 20,
		MaxPipeline:           128,
		EventLoop:             true,
		ItemSizeMax:           DefaultItemSizeMax,
	}
	main.Servers = []Server{
		{Addr: "127.0.0.1:7001", Weight: 1, Name: "r1"},
		{Addr: "127.0.0.1:7002", Weight: 1, Name: "r2"},
	}

	c := mustLoad(t, filepath.Join("testdata", "discoh.yaml"))
	checkPools(t, c, cache, main) // sorted by name
	if want := (Admin{Listen: "127.0.0.1:9090"}); c.Admin != want {
		t.Errorf("got Admin %+v; want %+v", c.Admin, want)
	}
	if want := (Log{Level: slog.LevelDebug, Format: "json"}); c.Log != want {
		t.Errorf("got Log %+v; want %+v", c.Log, want)
	}
}

func TestParseDefaults(t *testing.T) {
	c := mustParse(t, poolYAML())
	want := &Pool{
		Name:               "main",
		Listen:             "127.0.0.1:6380",
		Hash:               "fnv1a_64",
		Distribution:       "ketama",
		Timeout:            time.Second,
		ServerConnections:  1,
		Servers:            []Server{{Addr: "127.0.0.1:7001", Weight: 1}},
		Replicas:           1,
		ReplayLimit:        100_000,
		Backlog:            512,
		ServerRetryTimeout: 30 * time.Second,
		ServerFailureLimit: 2,
		Limits: ClientLimits{
			WriteTimeout:          10 * time.Second,
			MaxRequestBytes:       512 << 20,
			MaxBulkBytes:          512 << 20,
			MaxArgs:               1 << 20,
			MaxInlineBytes:        64 << 10,
			MaxPendingOutputBytes: 64 << 20,
			MaxPipeline:           1024,
			EventLoop:             true,
			ItemSizeMax:           1 << 20,
		},
	}
	checkPools(t, c, want)
	if c.Admin != (Admin{}) {
		t.Errorf("got Admin %+v; want none", c.Admin)
	}
	if want := (Log{Level: slog.LevelInfo, Format: "text"}); c.Log != want {
		t.Errorf("got Log %+v; want %+v", c.Log, want)
	}
	if c.Path != "" {
		t.Errorf("got Path %q; want \"\" from Parse", c.Path)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		line string
		got  func(p *Pool) any
		want any
	}{
		{"timeout: 400", func(p *Pool) any { return p.Timeout }, 400 * time.Millisecond},
		{"timeout: 1.5s", func(p *Pool) any { return p.Timeout }, 1500 * time.Millisecond},
		{`timeout: "250"`, func(p *Pool) any { return p.Timeout }, 250 * time.Millisecond},
		{"server_retry_timeout: 2m", func(p *Pool) any { return p.ServerRetryTimeout }, 2 * time.Minute},
		{"client_idle_timeout: 0", func(p *Pool) any { return p.Limits.IdleTimeout }, time.Duration(0)},
		{"max_bulk_bytes: 1024", func(p *Pool) any { return p.Limits.MaxBulkBytes }, 1024},
		{"max_bulk_bytes: 64KB", func(p *Pool) any { return p.Limits.MaxBulkBytes }, 64 << 10},
		{"max_bulk_bytes: 3m", func(p *Pool) any { return p.Limits.MaxBulkBytes }, 3 << 20},
		{"item_size_max: 1gb", func(p *Pool) any { return p.Limits.ItemSizeMax }, 1 << 30},
		{"max_bulk_bytes: 100b", func(p *Pool) any { return p.Limits.MaxBulkBytes }, 100},
		{"redis: true", func(p *Pool) any { return p.Redis }, true},
		{`redis: "false"`, func(p *Pool) any { return p.Redis }, false},
		{"hash_tag: \"\"", func(p *Pool) any { return p.HashTag }, ""},
		{"hash_tag: \"[]\"", func(p *Pool) any { return p.HashTag }, "[]"},
		{"timeout: null", func(p *Pool) any { return p.Timeout }, DefaultTimeout},
		{"servers: [\"10.0.0.1:7001:3  big \"]", func(p *Pool) any { return p.Servers },
			[]Server{{Addr: "10.0.0.1:7001", Weight: 3, Name: "big"}}},
		{"servers: [\"[::1]:7001:1\"]", func(p *Pool) any { return p.Servers },
			[]Server{{Addr: "[::1]:7001", Weight: 1}}},
		{"servers: \"127.0.0.1:7001:1 a,127.0.0.1:7002:1 b\"", func(p *Pool) any { return p.Servers },
			[]Server{{Addr: "127.0.0.1:7001", Weight: 1, Name: "a"}, {Addr: "127.0.0.1:7002", Weight: 1, Name: "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c := mustParse(t, poolYAML(tt.line))
			if got := tt.got(c.Pools[0]); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestParseNumericPassword(t *testing.T) {
	c := mustParse(t, poolYAML("redis: true", "redis_auth: 12345"))
	if got := c.Pools[0].RedisAuth; got != "12345" {
		t.Errorf("got %q; want %q", got, "12345")
	}
}

func TestParseMaxMemory(t *testing.T) {
	if got := mustParse(t, poolYAML()+"max_memory: 512mb\n").MaxMemory; got != 512<<20 {
		t.Errorf("max_memory: 512mb parsed as %d; want %d", got, 512<<20)
	}
	if got := mustParse(t, poolYAML()).MaxMemory; got != 0 {
		t.Errorf("max_memory absent parsed as %d; want 0 (no bound)", got)
	}
}

func TestParseLogLevels(t *testing.T) {
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"INFO", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			c := mustParse(t, poolYAML()+"log: {level: "+tt.level+"}\n")
			if c.Log.Level != tt.want {
				t.Errorf("got %v; want %v", c.Log.Level, tt.want)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	const notServer = `"%s" is not "host:port:weight [name]"`
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"typo in a pool key", poolYAML("hahs: fnv1a_64"), []string{"pools.main.hahs: unknown key"}},
		{"keys are case-sensitive", poolYAML("Hash: md5"), []string{"pools.main.Hash: unknown key"}},
		{"typo at the top", "pool:\n  main: {listen: 127.0.0.1:1}\n", []string{"pool: unknown key"}},
		{"typo in admin", poolYAML() + "admin: {lisen: 127.0.0.1:9090}\n", []string{"admin.lisen: unknown key"}},
		{"typo in log", poolYAML() + "log: {levle: debug}\n", []string{"log.levle: unknown key"}},
		{"pools not a map", "pools: [a, b]\n", []string{"pools: want a map of pools, got a list"}},
		{"pool not a map", "pools: {main: 5}\n", []string{"pools.main: want a map of pool settings, got 5"}},
		{"admin not a map", poolYAML() + "admin: on\n", []string{`admin: want a map, got "on"`}},
		{"pool names clash", "pools:\n  Main: {}\n  main: {}\n",
			[]string{`pools.main: pool name clashes with "Main" (names ignore case)`}},
		{"pool name with a dot", "pools:\n  a.b: {}\n",
			[]string{`pools.a.b: pool name "a.b" may only use letters, digits, '_' and '-'`}},
		{"bool", poolYAML("redis: yes"), []string{`pools.main.redis: "yes" is not true or false`}},
		{"int", poolYAML("server_connections: two"), []string{`pools.main.server_connections: "two" is not an integer`}},
		{"float for int", poolYAML("backlog: 1.5"), []string{"pools.main.backlog: 1.5 is not an integer"}},
		{"string", poolYAML("listen: [a]"), []string{"pools.main.listen: a list is not a string"}},
		{"duration", poolYAML("timeout: soon"),
			[]string{`pools.main.timeout: "soon" is not a duration (want e.g. 400ms, 2s, or an integer of milliseconds)`}},
		{"duration overflow", poolYAML("timeout: 99999999999999999"),
			[]string{"pools.main.timeout: 99999999999999999 is too large"}},
		{"size", poolYAML("item_size_max: 2tb"),
			[]string{`pools.main.item_size_max: "2tb" is not a size (want e.g. 1048576, 64kb or 512mb)`}},
		{"size overflow", poolYAML("item_size_max: 99999999999gb"),
			[]string{"pools.main.item_size_max: 99999999999 is too large"}},
		{"max_memory not a size", poolYAML() + "max_memory: lots\n",
			[]string{`max_memory: "lots" is not a size (want e.g. 1048576, 64kb or 512mb)`}},
		{"max_memory too small", poolYAML() + "max_memory: 1mb\n",
			[]string{"max_memory: 1048576 is less than 16777216 (16mb), too little to serve anything"}},
		{"log level", poolYAML() + "log: {level: loud}\n",
			[]string{`log.level: "loud" is not a log level (want debug, info, warn or error)`}},
		{"servers not a list", poolYAML("servers: 5"), []string{"pools.main.servers: 5 is not a list of servers"}},
		{"server not a string", poolYAML("servers: [5]"),
			[]string{`pools.main.servers[0]: 5 is not a string like "host:port:weight [name]"`}},
		{"server without weight", poolYAML(`servers: ["127.0.0.1:7001"]`),
			[]string{"pools.main.servers[0]: " + strings.ReplaceAll(notServer, "%s", "127.0.0.1:7001")}},
		{"server with two names", poolYAML(`servers: ["127.0.0.1:7001:1 a b"]`),
			[]string{"pools.main.servers[0]: " + strings.ReplaceAll(notServer, "%s", "127.0.0.1:7001:1 a b")}},
		{"server weight", poolYAML(`servers: ["127.0.0.1:7001:1", "127.0.0.1:7002:x r2"]`),
			[]string{`pools.main.servers[1]: weight "x" is not a number`}},
		{"every problem at once", poolYAML("hahs: x", "timeout: soon", "redis: maybe") + "log: {format: xml, x: 1}\n",
			[]string{
				"pools.main.hahs: unknown key",
				"log.x: unknown key",
				`pools.main.redis: "maybe" is not true or false`,
				`pools.main.timeout: "soon" is not a duration (want e.g. 400ms, 2s, or an integer of milliseconds)`,
			}},
		{"then cross-field checks", poolYAML("replicas: 2"),
			[]string{"pools.main.replicas: 2 is more than the 1 servers"}},
		{"empty file", "", []string{"pools: no pools defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if c != nil {
				t.Errorf("got a config %+v; want nil with an error", c)
			}
			if got := messages(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("got problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestParseBadYAML(t *testing.T) {
	for _, yaml := range []string{"pools: [\n", "- a list\n", "a: 1\na: 2\n"} {
		t.Run(yaml, func(t *testing.T) {
			_, err := Parse([]byte(yaml))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "yaml:") {
				t.Errorf("got %v; want a YAML error matching ErrInvalid", err)
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	nutcracker := "alpha:\n  listen: 127.0.0.1:22121\n  servers: [\"127.0.0.1:7001:1\"]\n"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		got  func(c *Config) any
		want any
	}{
		{"listen", poolYAML(), map[string]string{"DISCOH_POOLS_MAIN_LISTEN": "127.0.0.1:7000"},
			func(c *Config) any { return c.Pools[0].Listen }, "127.0.0.1:7000"},
		{"timeout in ms", poolYAML("timeout: 2s"), map[string]string{"DISCOH_POOLS_MAIN_TIMEOUT": "250"},
			func(c *Config) any { return c.Pools[0].Timeout }, 250 * time.Millisecond},
		{"bool", poolYAML(), map[string]string{"DISCOH_POOLS_MAIN_REDIS": "true"},
			func(c *Config) any { return c.Pools[0].Redis }, true},
		{"limit", poolYAML(), map[string]string{"DISCOH_POOLS_MAIN_MAX_PENDING_OUTPUT_BYTES": "1mb"},
			func(c *Config) any { return c.Pools[0].Limits.MaxPendingOutputBytes }, 1 << 20},
		{"servers", poolYAML(), map[string]string{"DISCOH_POOLS_MAIN_SERVERS": "127.0.0.1:7005:2 a, 127.0.0.1:7006:1 b"},
			func(c *Config) any { return c.Pools[0].Servers },
			[]Server{{Addr: "127.0.0.1:7005", Weight: 2, Name: "a"}, {Addr: "127.0.0.1:7006", Weight: 1, Name: "b"}}},
		{"log level and format", poolYAML(), map[string]string{"DISCOH_LOG_LEVEL": "debug", "DISCOH_LOG_FORMAT": "json"},
			func(c *Config) any { return c.Log }, Log{Level: slog.LevelDebug, Format: "json"}},
		{"admin", poolYAML(), map[string]string{"DISCOH_ADMIN_LISTEN": "127.0.0.1:9090"},
			func(c *Config) any { return c.Admin.Listen }, "127.0.0.1:9090"},
		{"admin pprof", poolYAML() + "admin: {listen: 127.0.0.1:9090, pprof: false}\n", map[string]string{"DISCOH_ADMIN_PPROF": "true"},
			func(c *Config) any { return c.Admin }, Admin{Listen: "127.0.0.1:9090", Pprof: true}},
		{"max_memory", poolYAML(), map[string]string{"DISCOH_MAX_MEMORY": "2gb"},
			func(c *Config) any { return c.MaxMemory }, 2 << 30},
		{"nutcracker layout", nutcracker, map[string]string{"DISCOH_POOLS_ALPHA_LISTEN": "127.0.0.1:7000"},
			func(c *Config) any { return c.Pools[0].Listen }, "127.0.0.1:7000"},
		{"mixed-case pool name", strings.Replace(poolYAML(), "main:", "Main:", 1),
			map[string]string{"DISCOH_POOLS_MAIN_LISTEN": "127.0.0.1:7000"},
			func(c *Config) any { return c.Pools[0].Name + " " + c.Pools[0].Listen }, "Main 127.0.0.1:7000"},
		{"dash in pool name", strings.Replace(poolYAML(), "main:", "my-pool:", 1),
			map[string]string{"DISCOH_POOLS_MY_POOL_LISTEN": "127.0.0.1:7000"},
			func(c *Config) any { return c.Pools[0].Listen }, "127.0.0.1:7000"},
		{"empty is ignored", poolYAML(`hash_tag: "{}"`), map[string]string{"DISCOH_POOLS_MAIN_HASH_TAG": ""},
			func(c *Config) any { return c.Pools[0].HashTag }, "{}"},
		{"unknown but empty is ignored", poolYAML(), map[string]string{"DISCOH_POOLS_OTHER_LISTEN": ""},
			func(c *Config) any { return len(c.Pools) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := mustParse(t, tt.yaml)
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestEnvUnknownNames checks that a variable naming no pool or key is an error, as an unknown
// key in the file is, and that every such variable is named.
func TestEnvUnknownNames(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"unknown pool", poolYAML(), map[string]string{"DISCOH_POOLS_MIAN_LISTEN": "127.0.0.1:7000"},
			[]string{"DISCOH_POOLS_MIAN_LISTEN: names no pool of the file (main)"}},
		{"unknown pool key", poolYAML(), map[string]string{"DISCOH_POOLS_MAIN_LISTN": "127.0.0.1:7000"},
			[]string{"DISCOH_POOLS_MAIN_LISTN: unknown key of pool main"}},
		{"unknown log key", poolYAML(), map[string]string{"DISCOH_LOG_LEVLE": "debug"},
			[]string{"DISCOH_LOG_LEVLE: unknown key"}},
		{"file-only section", poolYAML(), map[string]string{"DISCOH_DATABASES_MAIN_DSN": "x"},
			[]string{"DISCOH_DATABASES_MAIN_DSN: the databases section is read from the file only"}},
		{"unknown section", poolYAML(), map[string]string{"DISCOH_POOL_MAIN_LISTEN": "x"},
			[]string{"DISCOH_POOL_MAIN_LISTEN: unknown section (want DISCOH_POOLS_<POOL>_<KEY>, DISCOH_LOG_<KEY> or DISCOH_ADMIN_<KEY>)"}},
		{"every one named, with the file's problems", poolYAML("hahs: md5"),
			map[string]string{"DISCOH_POOLS_MAIN_X": "1", "DISCOH_POOLS_MAIN_LISTEN": "127.0.0.1:7000", "DISCOH_ADMIN_PORT": "1"},
			[]string{"pools.main.hahs: unknown key", "DISCOH_ADMIN_PORT: unknown key", "DISCOH_POOLS_MAIN_X: unknown key of pool main"}},
		{"pool name with a dash", strings.Replace(poolYAML(), "main:", "my-pool:", 1),
			map[string]string{"DISCOH_POOLS_MY_POOL_LISTENER": "x"},
			[]string{"DISCOH_POOLS_MY_POOL_LISTENER: unknown key of pool my-pool"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Parse([]byte(tt.yaml))
			if got := messages(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("got %q; want %q", got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v; want it to match ErrInvalid", err)
			}
		})
	}
}

func TestEnvOverrideIsValidated(t *testing.T) {
	t.Setenv("DISCOH_POOLS_MAIN_TIMEOUT", "soon")
	t.Setenv("DISCOH_POOLS_MAIN_HASH", "fnv2")
	_, err := Parse([]byte(poolYAML()))
	want := []string{`pools.main.timeout: "soon" is not a duration (want e.g. 400ms, 2s, or an integer of milliseconds)`}
	if got := messages(t, err); !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	t.Setenv("DISCOH_POOLS_MAIN_TIMEOUT", "1s")
	_, err = Parse([]byte(poolYAML()))
	want = []string{`pools.main.hash: unknown hash "fnv2" (want one of ` + strings.Join(Hashes, ", ") + ")"}
	if got := messages(t, err); !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
			t.Errorf("got %v; want fs.ErrNotExist, not ErrInvalid", err)
		}
	})
	t.Run("invalid file names its path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(path, []byte(poolYAML("hahs: md5")), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		want := "config " + path + ": pools.main.hahs: unknown key"
		if !errors.Is(err, ErrInvalid) || err.Error() != want {
			t.Errorf("got %v; want %q matching ErrInvalid", err, want)
		}
	})
}

// TestLoadShippedConfig checks the repository's default config.yaml.
func TestLoadShippedConfig(t *testing.T) {
	const path = "../config.yaml"
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skip("../config.yaml does not exist yet; nothing to check")
	}
	c := mustLoad(t, path)
	if len(c.Pools) == 0 {
		t.Errorf("got no pools in %s; want at least one", path)
	}
}

func TestConfigPool(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "nutcracker.yml"))
	if p := c.Pool("beta"); p == nil || p.Name != "beta" {
		t.Errorf("got Pool(beta) = %v; want the beta pool", p)
	}
	if p := c.Pool("omega"); p != nil {
		t.Errorf("got Pool(omega) = %v; want nil", p)
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/nutcracker.yml", "testdata/discoh.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(poolYAML("timeout: 400", "max_bulk_bytes: 1kb")))
	f.Add([]byte("pools: {a: {listen: ':0', servers: ['h:0:1'], embedded: true}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Parse accepted a config that Validate rejects: %v", err)
		}
		if !slices.IsSortedFunc(c.Pools, func(a, b *Pool) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("pools not sorted by name")
		}
	})
}
