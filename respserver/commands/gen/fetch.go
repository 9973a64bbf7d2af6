package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// errReply means Redis answered COMMAND in a shape the generator does not
// know; the message says where.
var errReply = errors.New("gen: unexpected COMMAND reply")

// table is what the generator learns from one redis-server.
type table struct {
	version  string
	commands []command // sorted by name
}

// command is one COMMAND entry, as published.
type command struct {
	name              string
	arity             int
	flags             []string
	first, last, step int
	categories        []string
	tips              []string
	specs             []keySpec
	subcommands       []command // sorted by name
}

// keySpec is one key specification, as published.
type keySpec struct {
	flags     []string
	notes     string
	beginType string // "index", "keyword" or "unknown"
	index     int
	keyword   string
	startFrom int
	findType  string // "range", "keynum" or "unknown"
	lastKey   int
	keyStep   int
	limit     int
	keyNumIdx int
	firstKey  int
}

// fetch reads the server's version and its COMMAND reply.
func fetch(ctx context.Context, addr string) (table, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 3, DisableIdentity: true})
	defer rdb.Close()
	info, err := rdb.InfoMap(ctx, "server").Result()
	if err != nil {
		return table{}, fmt.Errorf("gen: INFO server: %w", err)
	}
	reply, err := rdb.Do(ctx, "COMMAND").Slice()
	if err != nil {
		return table{}, fmt.Errorf("gen: COMMAND: %w", err)
	}
	cmds, err := parseCommands(reply)
	return table{version: info["Server"]["redis_version"], commands: cmds}, err
}

// parseCommands parses a list of COMMAND entries, sorted by name.
func parseCommands(reply []any) ([]command, error) {
	cmds := make([]command, 0, len(reply))
	for _, v := range reply {
		c, err := parseCommand(v)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	slices.SortFunc(cmds, func(a, b command) int { return strings.Compare(a.name, b.name) })
	return cmds, nil
}

// parseCommand parses one entry: name, arity, flags, first key, last key,
// step, ACL categories, tips, key specs, subcommands.
func parseCommand(v any) (command, error) {
	f, ok := v.([]any)
	if !ok || len(f) < 10 {
		return command{}, fmt.Errorf("%w: entry %v", errReply, v)
	}
	p := &parser{}
	c := command{
		name: p.str(f[0]), arity: p.num(f[1]), flags: p.strs(f[2]),
		first: p.num(f[3]), last: p.num(f[4]), step: p.num(f[5]),
		categories: p.strs(f[6]), tips: p.strs(f[7]),
	}
	c.specs = p.specs(f[8])
	if p.err != nil {
		return command{}, fmt.Errorf("command %q: %w", c.name, p.err)
	}
	subs, ok := f[9].([]any)
	if !ok {
		return command{}, fmt.Errorf("%w: subcommands of %q: %v", errReply, c.name, f[9])
	}
	var err error
	c.subcommands, err = parseCommands(subs)
	return c, err
}

// parser converts reply values, keeping the first error so that callers can
// read a whole entry and check once.
type parser struct{ err error }

func (p *parser) fail(what string, v any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s %v (%T)", errReply, what, v, v)
	}
}

func (p *parser) str(v any) string {
	s, ok := v.(string)
	if !ok {
		p.fail("want a string, got", v)
	}
	return s
}

func (p *parser) num(v any) int {
	n, ok := v.(int64)
	if !ok {
		p.fail("want an integer, got", v)
	}
	return int(n)
}

func (p *parser) list(v any) []any {
	l, ok := v.([]any)
	if !ok {
		p.fail("want a list, got", v)
	}
	return l
}

func (p *parser) strs(v any) []string {
	var out []string
	for _, e := range p.list(v) {
		out = append(out, p.str(e))
	}
	return out
}

// dict reads a map: a RESP3 map, or a RESP2 flat list of names and values.
func (p *parser) dict(v any) map[string]any {
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, val := range m {
			out[p.str(k)] = val
		}
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[p.str(m[i])] = m[i+1]
		}
	default:
		p.fail("want a map, got", v)
	}
	return out
}

func (p *parser) specs(v any) []keySpec {
	var out []keySpec
	for _, e := range p.list(v) {
		out = append(out, p.spec(p.dict(e)))
	}
	return out
}

// spec parses one key spec: flags, optional notes, begin_search, find_keys.
func (p *parser) spec(m map[string]any) keySpec {
	s := keySpec{flags: p.strs(m["flags"])}
	if notes, ok := m["notes"]; ok {
		s.notes = p.str(notes)
	}
	begin := p.dict(m["begin_search"])
	s.beginType = p.str(begin["type"])
	p.beginSearch(&s, p.dict(begin["spec"]))
	find := p.dict(m["find_keys"])
	s.findType = p.str(find["type"])
	p.findKeys(&s, p.dict(find["spec"]))
	return s
}

func (p *parser) beginSearch(s *keySpec, m map[string]any) {
	switch s.beginType {
	case "index":
		s.index = p.num(m["index"])
	case "keyword":
		s.keyword = p.str(m["keyword"])
		s.startFrom = p.num(m["startfrom"])
	case "unknown":
	default:
		p.fail("begin_search type", s.beginType)
	}
}

func (p *parser) findKeys(s *keySpec, m map[string]any) {
	switch s.findType {
	case "range":
		s.lastKey = p.num(m["lastkey"])
		s.keyStep = p.num(m["keystep"])
		s.limit = p.num(m["limit"])
	case "keynum":
		s.keyNumIdx = p.num(m["keynumidx"])
		s.firstKey = p.num(m["firstkey"])
		s.keyStep = p.num(m["keystep"])
	case "unknown":
	default:
		p.fail("find_keys type", s.findType)
	}
}
