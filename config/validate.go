package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Validate reports every problem in c, each as a *FieldError naming the
// field's YAML path, joined with errors.Join; nil if there are none.
func (c *Config) Validate() error {
	var ps problems
	if len(c.Pools) == 0 {
		ps.add(sectionPools, "no pools defined")
	}
	c.checkPoolNames(&ps)
	for _, p := range c.Pools {
		if p != nil {
			p.check(&ps)
		}
	}
	c.checkListenClashes(&ps)
	c.checkLog(&ps)
	c.checkMaxMemory(&ps)
	c.checkCoherence(&ps)
	return ps.join()
}

// checkPoolNames reports pools without a usable, unique name.
func (c *Config) checkPoolNames(ps *problems) {
	seen := map[string]string{}
	for i, p := range c.Pools {
		field := fmt.Sprintf("%s[%d]", sectionPools, i)
		if p == nil {
			ps.add(field, "nil pool")
			continue
		}
		if err := checkPoolName(p.Name); err != nil {
			ps.addErr(field, err)
			continue
		}
		if err := claimPoolName(seen, p.Name); err != nil {
			ps.addErr(p.field(""), err)
		}
	}
}

// claimPoolName records name in seen, keyed without case, and reports a
// name seen before that differs only in case: viper, and so the
// environment, could not tell the two apart.
func claimPoolName(seen map[string]string, name string) error {
	lower := strings.ToLower(name)
	if other, ok := seen[lower]; ok {
		return fmt.Errorf("pool name clashes with %q (names ignore case)", other)
	}
	seen[lower] = name
	return nil
}

// checkPoolName keeps names usable in key paths, environment variable
// names and metric labels.
func checkPoolName(name string) error {
	if name == "" {
		return fmt.Errorf("pool name is empty")
	}
	valid := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
	}
	if strings.IndexFunc(name, func(r rune) bool { return !valid(r) }) >= 0 {
		return fmt.Errorf("pool name %q may only use letters, digits, '_' and '-'", name)
	}
	return nil
}

// field returns the YAML path of one of p's keys, or of p for "".
func (p *Pool) field(key string) string {
	if key == "" {
		return sectionPools + "." + p.Name
	}
	return sectionPools + "." + p.Name + "." + key
}

func (p *Pool) check(ps *problems) {
	p.checkListen(ps)
	p.checkRouting(ps)
	p.checkServers(ps)
	p.checkBackend(ps)
	p.Limits.check(p.field, ps)
}

func (p *Pool) checkListen(ps *problems) {
	if p.Listen == "" {
		ps.add(p.field("listen"), "missing")
		return
	}
	if _, _, err := splitAddr(p.Listen); err != nil {
		ps.addErr(p.field("listen"), err)
	}
}

// checkRouting checks the keys that decide which server owns a key.
func (p *Pool) checkRouting(ps *problems) {
	if !slices.Contains(Hashes, p.Hash) {
		ps.add(p.field("hash"), "unknown hash %q (want one of %s)", p.Hash, strings.Join(Hashes, ", "))
	}
	if !slices.Contains(Distributions, p.Distribution) {
		ps.add(p.field("distribution"), "unknown distribution %q (want one of %s)",
			p.Distribution, strings.Join(Distributions, ", "))
	}
	if p.HashTag != "" && len(p.HashTag) != 2 {
		ps.add(p.field("hash_tag"), "%q must be two characters, or empty", p.HashTag)
	}
	atLeast(ps, p.field("replicas"), p.Replicas, 1)
	if len(p.Servers) > 0 && p.Replicas > len(p.Servers) {
		ps.add(p.field("replicas"), "%d is more than the %d servers", p.Replicas, len(p.Servers))
	}
}

// checkBackend checks how the pool talks to its servers.
func (p *Pool) checkBackend(ps *problems) {
	positive(ps, p.field("timeout"), p.Timeout)
	atLeast(ps, p.field("server_connections"), p.ServerConnections, 1)
	atLeast(ps, p.field("backlog"), p.Backlog, 0)
	positive(ps, p.field("server_retry_timeout"), p.ServerRetryTimeout)
	atLeast(ps, p.field("server_failure_limit"), p.ServerFailureLimit, 1)
	atLeast(ps, p.field("replay_limit"), p.ReplayLimit, 1)
	if p.RedisAuth != "" && !p.Redis {
		ps.add(p.field("redis_auth"), "set on a memcached pool (needs redis: true)")
	}
	if p.RedisDB != 0 {
		ps.add(p.field("redis_db"), "%d is not supported: discoh serves database 0 only", p.RedisDB)
	}
}

func (l ClientLimits) check(field func(string) string, ps *problems) {
	atLeast(ps, field("client_connections"), l.MaxConnections, 0)
	if l.IdleTimeout < 0 {
		ps.add(field("client_idle_timeout"), "%v must not be negative", l.IdleTimeout)
	}
	positive(ps, field("client_write_timeout"), l.WriteTimeout)
	for _, f := range []struct {
		key   string
		value int
	}{
		{"max_request_bytes", l.MaxRequestBytes},
		{"max_bulk_bytes", l.MaxBulkBytes},
		{"max_args", l.MaxArgs},
		{"max_inline_bytes", l.MaxInlineBytes},
		{"max_pending_output_bytes", l.MaxPendingOutputBytes},
		{"max_pipeline", l.MaxPipeline},
		{"item_size_max", l.ItemSizeMax},
	} {
		atLeast(ps, field(f.key), f.value, 1)
	}
	if l.MaxBulkBytes > l.MaxRequestBytes {
		ps.add(field("max_bulk_bytes"), "%d is more than max_request_bytes (%d)", l.MaxBulkBytes, l.MaxRequestBytes)
	}
}

func (c *Config) checkMaxMemory(ps *problems) {
	if c.MaxMemory != 0 && c.MaxMemory < minMaxMemory {
		ps.add(keyMaxMemory, "%d is less than %d (16mb), too little to serve anything", c.MaxMemory, minMaxMemory)
	}
}

// minMaxMemory is the least max_memory accepted: discoh itself needs a few megabytes.
const minMaxMemory = 16 << 20

func (c *Config) checkLog(ps *problems) {
	if !slices.Contains(LogFormats, c.Log.Format) {
		ps.add(sectionLog+".format", "unknown format %q (want one of %s)", c.Log.Format, strings.Join(LogFormats, ", "))
	}
}

func atLeast(ps *problems, field string, value, least int) {
	if value < least {
		ps.add(field, "%d must be at least %d", value, least)
	}
}

func positive(ps *problems, field string, d time.Duration) {
	if d <= 0 {
		ps.add(field, "%v must be positive", d)
	}
}
