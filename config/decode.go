package config

import (
	"fmt"
	"time"

	"github.com/spf13/viper"
)

// envPrefix starts every environment override: DISCOH_POOLS_MAIN_LISTEN.
const envPrefix = "DISCOH"

// A poolField decodes one YAML key of a pool into p. key is the viper key,
// which is also the field path errors name.
type poolField struct {
	name   string
	decode func(p *Pool, v *viper.Viper, key string, ps *problems)
}

// poolFields lists every key a pool accepts: twemproxy's, then discoh's.
var poolFields = []poolField{
	{"listen", bind(parseString, func(p *Pool) *string { return &p.Listen })},
	{"redis", bind(parseBool, func(p *Pool) *bool { return &p.Redis })},
	{"hash", bind(parseString, func(p *Pool) *string { return &p.Hash })},
	{"distribution", bind(parseString, func(p *Pool) *string { return &p.Distribution })},
	{"hash_tag", bind(parseString, func(p *Pool) *string { return &p.HashTag })},
	{"timeout", bind(parseDuration, func(p *Pool) *time.Duration { return &p.Timeout })},
	{"server_connections", bind(parseInt, func(p *Pool) *int { return &p.ServerConnections })},
	{"servers", decodeServers},
	{"backlog", bind(parseInt, func(p *Pool) *int { return &p.Backlog })},
	{"preconnect", bind(parseBool, func(p *Pool) *bool { return &p.Preconnect })},
	{"auto_eject_hosts", bind(parseBool, func(p *Pool) *bool { return &p.AutoEjectHosts })},
	{"tcpkeepalive", bind(parseBool, func(p *Pool) *bool { return &p.TCPKeepAlive })},
	{"server_retry_timeout", bind(parseDuration, func(p *Pool) *time.Duration { return &p.ServerRetryTimeout })},
	{"server_failure_limit", bind(parseInt, func(p *Pool) *int { return &p.ServerFailureLimit })},
	{"redis_auth", bind(parseString, func(p *Pool) *string { return &p.RedisAuth })},
	{"redis_db", bind(parseInt, func(p *Pool) *int { return &p.RedisDB })},
	{"client_connections", bind(parseInt, func(p *Pool) *int { return &p.Limits.MaxConnections })},

	{"embedded", bind(parseBool, func(p *Pool) *bool { return &p.Embedded })},
	{"replicas", bind(parseInt, func(p *Pool) *int { return &p.Replicas })},
	{"data_dir", bind(parseString, func(p *Pool) *string { return &p.DataDir })},
	{"replay_limit", bind(parseInt, func(p *Pool) *int { return &p.ReplayLimit })},
	{"client_idle_timeout", bind(parseDuration, func(p *Pool) *time.Duration { return &p.Limits.IdleTimeout })},
	{"client_write_timeout", bind(parseDuration, func(p *Pool) *time.Duration { return &p.Limits.WriteTimeout })},
	{"max_request_bytes", bind(parseSize, func(p *Pool) *int { return &p.Limits.MaxRequestBytes })},
	{"max_bulk_bytes", bind(parseSize, func(p *Pool) *int { return &p.Limits.MaxBulkBytes })},
	{"max_args", bind(parseInt, func(p *Pool) *int { return &p.Limits.MaxArgs })},
	{"max_inline_bytes", bind(parseSize, func(p *Pool) *int { return &p.Limits.MaxInlineBytes })},
	{"max_pending_output_bytes", bind(parseSize, func(p *Pool) *int { return &p.Limits.MaxPendingOutputBytes })},
	{"max_pipeline", bind(parseInt, func(p *Pool) *int { return &p.Limits.MaxPipeline })},
	{"event_loop", bind(parseBool, func(p *Pool) *bool { return &p.Limits.EventLoop })},
	{"item_size_max", bind(parseSize, func(p *Pool) *int { return &p.Limits.ItemSizeMax })},
}

// poolKeys returns the YAML keys a pool accepts.
func poolKeys() []string {
	keys := make([]string, len(poolFields))
	for i, f := range poolFields {
		keys[i] = f.name
	}
	return keys
}

// bind makes a poolField decoder that parses one value into the pool field
// that at points to.
func bind[T any](parse func(any) (T, error), at func(*Pool) *T) func(*Pool, *viper.Viper, string, *problems) {
	return func(p *Pool, v *viper.Viper, key string, ps *problems) {
		lookup(v, key, parse, at(p), ps)
	}
}

// lookup sets *dst to the parsed value of key, if the file or the
// environment sets it.
func lookup[T any](v *viper.Viper, key string, parse func(any) (T, error), dst *T, ps *problems) {
	if !v.IsSet(key) {
		return
	}
	val, err := parse(v.Get(key))
	if err != nil {
		ps.addErr(key, err)
		return
	}
	*dst = val
}

// decodeServers reads the servers list, naming each bad entry by index.
func decodeServers(p *Pool, v *viper.Viper, key string, ps *problems) {
	if !v.IsSet(key) {
		return
	}
	entries, err := serverEntries(v.Get(key))
	if err != nil {
		ps.addErr(key, err)
		return
	}
	p.Servers = nil
	for i, entry := range entries {
		s, err := parseServer(entry)
		if err != nil {
			ps.addErr(fmt.Sprintf("%s[%d]", key, i), err)
			continue
		}
		p.Servers = append(p.Servers, s)
	}
}

// newViper layers the environment over doc. Each known key is bound to its
// variable, since viper finds nested keys in the environment only when
// bound.
func newViper(doc *document) (*viper.Viper, error) {
	v := viper.New()
	v.SetEnvPrefix(envPrefix)
	v.SetEnvKeyReplacer(envKeys)
	for name := range doc.pools {
		for _, f := range poolFields {
			v.MustBindEnv(poolKey(name, f.name))
		}
	}
	for _, k := range adminKeys {
		v.MustBindEnv(sectionAdmin + "." + k)
	}
	for _, k := range logKeys {
		v.MustBindEnv(sectionLog + "." + k)
	}
	v.MustBindEnv(keyMaxMemory)
	return v, v.MergeConfigMap(doc.tree())
}

// decode builds a Config from v, for the pools named in the file.
func decode(v *viper.Viper, poolNames []string, ps *problems) *Config {
	c := &Config{Log: Log{Level: DefaultLogLevel, Format: DefaultLogFormat}}
	for _, name := range poolNames {
		c.Pools = append(c.Pools, decodePool(v, name, ps))
	}
	lookup(v, sectionAdmin+".listen", parseString, &c.Admin.Listen, ps)
	lookup(v, sectionAdmin+".pprof", parseBool, &c.Admin.Pprof, ps)
	lookup(v, sectionLog+".level", parseLevel, &c.Log.Level, ps)
	lookup(v, sectionLog+".format", parseString, &c.Log.Format, ps)
	lookup(v, keyMaxMemory, parseSize, &c.MaxMemory, ps)
	return c
}

func decodePool(v *viper.Viper, name string, ps *problems) *Pool {
	p := DefaultPool(name)
	for _, f := range poolFields {
		f.decode(p, v, poolKey(name, f.name), ps)
	}
	return p
}

func poolKey(name, key string) string {
	return sectionPools + "." + name + "." + key
}
