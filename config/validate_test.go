package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// validConfig returns a config that passes Validate: a Redis pool, alpha,
// and a memcached pool, beta.
func validConfig() *Config {
	alpha := DefaultPool("alpha")
	alpha.Listen = "127.0.0.1:6380"
	alpha.Redis = true
	alpha.Servers = []Server{
		{Addr: "127.0.0.1:7001", Weight: 1, Name: "r1"},
		{Addr: "127.0.0.1:7002", Weight: 1, Name: "r2"},
	}
	beta := DefaultPool("beta")
	beta.Listen = "127.0.0.1:11311"
	beta.Servers = []Server{{Addr: "127.0.0.1:11211", Weight: 1}}
	return &Config{
		Pools: []*Pool{alpha, beta},
		Log:   Log{Format: DefaultLogFormat},
	}
}

func TestValidConfig(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("got %v; want nil", err)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"listen on all interfaces", func(c *Config) { c.Pools[0].Listen = ":6380" }},
		{"listen on any free port twice", func(c *Config) { c.Pools[0].Listen, c.Pools[1].Listen = "127.0.0.1:0", "127.0.0.1:0" }},
		{"same port on other hosts", func(c *Config) { c.Pools[1].Listen = "127.0.0.2:6380" }},
		{"embedded servers on free ports", func(c *Config) {
			c.Pools[1].Embedded = true
			c.Pools[1].Servers = []Server{{Addr: "127.0.0.1:0", Weight: 1}, {Addr: "127.0.0.1:0", Weight: 1}}
		}},
		{"unnamed servers", func(c *Config) { c.Pools[0].Servers[0].Name, c.Pools[0].Servers[1].Name = "", "" }},
		{"replicas on every server", func(c *Config) { c.Pools[0].Replicas = 2 }},
		{"no hash tag", func(c *Config) { c.Pools[0].HashTag = "" }},
		{"unlimited clients, never idle", func(c *Config) {
			c.Pools[0].Limits.MaxConnections, c.Pools[0].Limits.IdleTimeout = 0, 0
		}},
		{"redis password", func(c *Config) { c.Pools[0].RedisAuth = "s3cret" }},
		{"admin listener", func(c *Config) { c.Admin.Listen = "127.0.0.1:9090" }},
		{"json logs", func(c *Config) { c.Log.Format = "json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(c)
			if err := c.Validate(); err != nil {
				t.Errorf("got %v; want nil", err)
			}
		})
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"no pools", func(c *Config) { c.Pools = nil }, "pools: no pools defined"},
		{"nil pool", func(c *Config) { c.Pools[1] = nil }, "pools[1]: nil pool"},
		{"empty name", func(c *Config) { c.Pools[1].Name = "" }, "pools[1]: pool name is empty"},
		{"bad name", func(c *Config) { c.Pools[1].Name = "b c" },
			`pools[1]: pool name "b c" may only use letters, digits, '_' and '-'`},
		{"names clash", func(c *Config) { c.Pools[1].Name = "Alpha" },
			`pools.Alpha: pool name clashes with "alpha" (names ignore case)`},

		{"no listen", func(c *Config) { c.Pools[0].Listen = "" }, "pools.alpha.listen: missing"},
		{"listen without port", func(c *Config) { c.Pools[0].Listen = "localhost" },
			`pools.alpha.listen: "localhost" is not host:port`},
		{"listen port not a number", func(c *Config) { c.Pools[0].Listen = "127.0.0.1:x" },
			`pools.alpha.listen: port "x" is not a number`},
		{"listen port out of range", func(c *Config) { c.Pools[0].Listen = "127.0.0.1:70000" },
			"pools.alpha.listen: port 70000 is out of range"},
		{"listen on a unix socket", func(c *Config) { c.Pools[0].Listen = "/tmp/alpha.sock" },
			`pools.alpha.listen: "/tmp/alpha.sock": unix sockets are not supported (want host:port)`},
		{"listen clash", func(c *Config) { c.Pools[1].Listen = "127.0.0.1:6380" },
			"pools.beta.listen: port 6380 is also taken by pools.alpha.listen"},
		{"listen clash with all interfaces", func(c *Config) { c.Pools[1].Listen = "0.0.0.0:6380" },
			"pools.beta.listen: port 6380 is also taken by pools.alpha.listen"},
		{"admin listen clash", func(c *Config) { c.Admin.Listen = ":11311" },
			"admin.listen: port 11311 is also taken by pools.beta.listen"},
		{"admin listen invalid", func(c *Config) { c.Admin.Listen = "9090" },
			`admin.listen: "9090" is not host:port`},

		{"unknown hash", func(c *Config) { c.Pools[0].Hash = "fnv2" },
			`pools.alpha.hash: unknown hash "fnv2" (want one of one_at_a_time, md5, crc16, crc32, crc32a, ` +
				`fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins, xxhash)`},
		{"unknown distribution", func(c *Config) { c.Pools[0].Distribution = "ring" },
			`pools.alpha.distribution: unknown distribution "ring" (want one of ketama, modula, random)`},
		{"hash tag of one character", func(c *Config) { c.Pools[0].HashTag = "{" },
			`pools.alpha.hash_tag: "{" must be two characters, or empty`},
		{"hash tag of three characters", func(c *Config) { c.Pools[0].HashTag = "{}}" },
			`pools.alpha.hash_tag: "{}}" must be two characters, or empty`},
		{"no replicas", func(c *Config) { c.Pools[0].Replicas = 0 }, "pools.alpha.replicas: 0 must be at least 1"},
		{"more replicas than servers", func(c *Config) { c.Pools[0].Replicas = 3 },
			"pools.alpha.replicas: 3 is more than the 2 servers"},

		{"no servers", func(c *Config) { c.Pools[1].Servers = nil }, "pools.beta.servers: no servers"},
		{"server port not a number", func(c *Config) { c.Pools[0].Servers[1].Addr = "127.0.0.1:x" },
			`pools.alpha.servers[1]: port "x" is not a number`},
		{"server without host", func(c *Config) { c.Pools[0].Servers[1].Addr = ":7002" },
			`pools.alpha.servers[1]: address ":7002" has no host`},
		{"server without port", func(c *Config) { c.Pools[0].Servers[1].Addr = "127.0.0.1" },
			`pools.alpha.servers[1]: "127.0.0.1" is not host:port`},
		{"server port 0 outside embedded pools", func(c *Config) { c.Pools[0].Servers[1].Addr = "127.0.0.1:0" },
			"pools.alpha.servers[1]: port 0 is only allowed in embedded pools"},
		{"server weight 0", func(c *Config) { c.Pools[0].Servers[1].Weight = 0 },
			"pools.alpha.servers[1]: weight 0 must be at least 1"},
		{"server names clash", func(c *Config) { c.Pools[0].Servers[1].Name = "r1" },
			`pools.alpha.servers[1]: name "r1" is also used by servers[0]`},
		{"server addresses clash", func(c *Config) { c.Pools[0].Servers[1].Addr = "127.0.0.1:7001" },
			"pools.alpha.servers[1]: address 127.0.0.1:7001 is also used by servers[0]"},

		{"timeout 0", func(c *Config) { c.Pools[0].Timeout = 0 }, "pools.alpha.timeout: 0s must be positive"},
		{"negative timeout", func(c *Config) { c.Pools[0].Timeout = -time.Second },
			"pools.alpha.timeout: -1s must be positive"},
		{"no server connections", func(c *Config) { c.Pools[0].ServerConnections = 0 },
			"pools.alpha.server_connections: 0 must be at least 1"},
		{"negative backlog", func(c *Config) { c.Pools[0].Backlog = -1 }, "pools.alpha.backlog: -1 must be at least 0"},
		{"server retry timeout 0", func(c *Config) { c.Pools[0].ServerRetryTimeout = 0 },
			"pools.alpha.server_retry_timeout: 0s must be positive"},
		{"server failure limit 0", func(c *Config) { c.Pools[0].ServerFailureLimit = 0 },
			"pools.alpha.server_failure_limit: 0 must be at least 1"},
		{"replay limit 0", func(c *Config) { c.Pools[0].ReplayLimit = 0 },
			"pools.alpha.replay_limit: 0 must be at least 1"},
		{"redis_auth on memcached", func(c *Config) { c.Pools[1].RedisAuth = "pw" },
			"pools.beta.redis_auth: set on a memcached pool (needs redis: true)"},
		{"redis_db", func(c *Config) { c.Pools[0].RedisDB = 1 },
			"pools.alpha.redis_db: 1 is not supported: discoh serves database 0 only"},

		{"negative client connections", func(c *Config) { c.Pools[0].Limits.MaxConnections = -1 },
			"pools.alpha.client_connections: -1 must be at least 0"},
		{"negative idle timeout", func(c *Config) { c.Pools[0].Limits.IdleTimeout = -time.Second },
			"pools.alpha.client_idle_timeout: -1s must not be negative"},
		{"write timeout 0", func(c *Config) { c.Pools[0].Limits.WriteTimeout = 0 },
			"pools.alpha.client_write_timeout: 0s must be positive"},
		{"max_bulk_bytes 0", func(c *Config) { c.Pools[0].Limits.MaxBulkBytes = 0 },
			"pools.alpha.max_bulk_bytes: 0 must be at least 1"},
		{"max_args 0", func(c *Config) { c.Pools[0].Limits.MaxArgs = 0 }, "pools.alpha.max_args: 0 must be at least 1"},
		{"max_inline_bytes 0", func(c *Config) { c.Pools[0].Limits.MaxInlineBytes = 0 },
			"pools.alpha.max_inline_bytes: 0 must be at least 1"},
		{"max_pending_output_bytes 0", func(c *Config) { c.Pools[0].Limits.MaxPendingOutputBytes = 0 },
			"pools.alpha.max_pending_output_bytes: 0 must be at least 1"},
		{"max_pipeline 0", func(c *Config) { c.Pools[0].Limits.MaxPipeline = 0 },
			"pools.alpha.max_pipeline: 0 must be at least 1"},
		{"item_size_max 0", func(c *Config) { c.Pools[1].Limits.ItemSizeMax = 0 },
			"pools.beta.item_size_max: 0 must be at least 1"},
		{"bulk larger than request", func(c *Config) { c.Pools[0].Limits.MaxBulkBytes = DefaultMaxRequestBytes + 1 },
			"pools.alpha.max_bulk_bytes: 536870913 is more than max_request_bytes (536870912)"},

		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: unknown format "xml" (want one of text, json)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(c)
			got := messages(t, c.Validate())
			if want := []string{tt.want}; !slices.Equal(got, want) {
				t.Errorf("got %q; want %q", got, want)
			}
		})
	}
}

func TestValidateRequestBytesZero(t *testing.T) {
	c := validConfig()
	c.Pools[0].Limits.MaxRequestBytes = 0
	want := []string{
		"pools.alpha.max_request_bytes: 0 must be at least 1",
		"pools.alpha.max_bulk_bytes: 536870912 is more than max_request_bytes (0)",
	}
	if got := messages(t, c.Validate()); !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.Pools[0].Hash = "fnv2"
	c.Pools[0].Servers[1].Weight = 0
	c.Pools[1].Listen = "127.0.0.1:6380"
	c.Pools[1].Timeout = 0
	c.Log.Format = ""
	want := []string{
		`pools.alpha.hash: unknown hash "fnv2" (want one of ` + strings.Join(Hashes, ", ") + ")",
		"pools.alpha.servers[1]: weight 0 must be at least 1",
		"pools.beta.timeout: 0s must be positive",
		"pools.beta.listen: port 6380 is also taken by pools.alpha.listen",
		`log.format: unknown format "" (want one of text, json)`,
	}
	if got := messages(t, c.Validate()); !slices.Equal(got, want) {
		t.Errorf("got problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
