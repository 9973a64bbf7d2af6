package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Database is one SQL database the coherence directory pulls values from.
type Database struct {
	Name     string
	Driver   string        // postgres, mysql or sqlite
	DSN      string        // the driver's connection string
	MaxConns int           // max_conns: connections at most; 0 = the driver's default
	Timeout  time.Duration // per query; 0 = the directory's pull timeout
	Demo     bool          // sqlite only: create and fill a demo table users(id, body, version)
}

// Coherence configures the coherence directory (DESIGN.md section 4). With no sources every
// key is proxied untouched.
type Coherence struct {
	Window      time.Duration // how long a pulled value is authoritative after an invalidation
	ReadWait    time.Duration // read_wait: how long a read waits for a pull in flight
	PullTimeout time.Duration // pull_timeout
	MaxPulls    int           // max_pulls: background pulls in flight per pool
	Revalidate  time.Duration // revalidate: delay of the second pull after an invalidation
	Sources     []Source
}

// Source maps a key pattern to the query that returns its value.
type Source struct {
	Pattern  string   // "user:{id}"
	Database string   // a name under databases
	Query    string   // "SELECT body FROM users WHERE id = $1"
	Params   []string // the pattern parts for the query's parameters; default: in pattern order
	TTL      time.Duration
	Flags    uint32   // memcached client flags of pulled values
	Pools    []string // the pools it applies to; empty = all
}

// The YAML shapes of the two sections, decoded strictly so that typos are errors.
type (
	databaseYAML struct {
		Driver   string `yaml:"driver"`
		DSN      string `yaml:"dsn"`
		MaxConns int    `yaml:"max_conns"`
		Timeout  string `yaml:"timeout"`
		Demo     bool   `yaml:"demo"`
	}
	coherenceYAML struct {
		Window      string       `yaml:"window"`
		ReadWait    string       `yaml:"read_wait"`
		PullTimeout string       `yaml:"pull_timeout"`
		MaxPulls    int          `yaml:"max_pulls"`
		Revalidate  string       `yaml:"revalidate"`
		Sources     []sourceYAML `yaml:"sources"`
	}
	sourceYAML struct {
		Pattern  string   `yaml:"pattern"`
		Database string   `yaml:"database"`
		Query    string   `yaml:"query"`
		Params   []string `yaml:"params"`
		TTL      string   `yaml:"ttl"`
		Flags    uint32   `yaml:"flags"`
		Pools    []string `yaml:"pools"`
	}
)

// Drivers are the database drivers a database may name.
var Drivers = []string{"postgres", "mysql", "sqlite"}

// decodeCoherence reads the databases and coherence sections of raw into c.
func decodeCoherence(raw map[string]any, c *Config, ps *problems) {
	dbs := map[string]databaseYAML{}
	if strict(raw[sectionDatabases], &dbs, sectionDatabases, ps) {
		for _, name := range sortedKeys(anyMap(dbs)) {
			c.Databases = append(c.Databases, decodeDatabase(name, dbs[name], ps))
		}
	}
	var co coherenceYAML
	if strict(raw[sectionCoherence], &co, sectionCoherence, ps) {
		c.Coherence = decodeCoherenceSection(co, ps)
	}
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// strict decodes v (a parsed YAML subtree) into dst, refusing unknown keys.
func strict(v any, dst any, field string, ps *problems) bool {
	if v == nil {
		return false
	}
	data, err := yaml.Marshal(v)
	if err == nil {
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		err = dec.Decode(dst)
	}
	if err != nil {
		ps.add(field, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		return false
	}
	return true
}

func decodeDatabase(name string, y databaseYAML, ps *problems) Database {
	field := sectionDatabases + "." + name
	d := Database{Name: name, Driver: y.Driver, DSN: y.DSN, MaxConns: y.MaxConns, Demo: y.Demo}
	d.Timeout = duration(y.Timeout, field+".timeout", ps)
	return d
}

func decodeCoherenceSection(y coherenceYAML, ps *problems) Coherence {
	co := Coherence{MaxPulls: y.MaxPulls}
	co.Window = duration(y.Window, sectionCoherence+".window", ps)
	co.ReadWait = duration(y.ReadWait, sectionCoherence+".read_wait", ps)
	co.PullTimeout = duration(y.PullTimeout, sectionCoherence+".pull_timeout", ps)
	co.Revalidate = duration(y.Revalidate, sectionCoherence+".revalidate", ps)
	for i, sy := range y.Sources {
		field := fmt.Sprintf("%s.sources[%d]", sectionCoherence, i)
		co.Sources = append(co.Sources, Source{Pattern: sy.Pattern, Database: sy.Database, Query: sy.Query,
			Params: sy.Params, TTL: duration(sy.TTL, field+".ttl", ps), Flags: sy.Flags, Pools: sy.Pools})
	}
	return co
}

// duration parses a duration string; "" is zero (the default).
func duration(s, field string, ps *problems) time.Duration {
	if s == "" {
		return 0
	}
	d, err := parseDuration(s)
	if err != nil {
		ps.addErr(field, err)
	}
	return d
}

// checkCoherence reports sources that name unknown databases or pools, and bad databases.
func (c *Config) checkCoherence(ps *problems) {
	for _, d := range c.Databases {
		field := sectionDatabases + "." + d.Name
		if !slices.Contains(Drivers, d.Driver) {
			ps.add(field+".driver", "unknown driver %q (want one of %s)", d.Driver, strings.Join(Drivers, ", "))
		}
		if d.DSN == "" {
			ps.add(field+".dsn", "missing")
		}
	}
	for i, s := range c.Coherence.Sources {
		field := fmt.Sprintf("%s.sources[%d]", sectionCoherence, i)
		if s.Pattern == "" || s.Query == "" {
			ps.addErr(field, errors.New("pattern and query are required"))
		}
		if !slices.ContainsFunc(c.Databases, func(d Database) bool { return d.Name == s.Database }) {
			ps.add(field+".database", "unknown database %q", s.Database)
		}
		for _, p := range s.Pools {
			if c.Pool(p) == nil {
				ps.add(field+".pools", "unknown pool %q", p)
			}
		}
	}
}
