package config

import (
	"fmt"
	"slices"
	"strconv"
)

// Top-level sections of discoh's layout.
const (
	sectionPools     = "pools"
	sectionAdmin     = "admin"
	sectionLog       = "log"
	sectionDatabases = "databases"
	sectionCoherence = "coherence"
	// keyMaxMemory is the one top-level setting that is not a section: the process's bound.
	keyMaxMemory = "max_memory"
)

// isSection reports whether a top-level key is one of discoh's sections, not a pool.
func isSection(key string) bool {
	switch key {
	case sectionPools, sectionAdmin, sectionLog, sectionDatabases, sectionCoherence, keyMaxMemory:
		return true
	}
	return false
}

// Known keys of the admin and log sections; pool keys are poolFields.
var (
	adminKeys = []string{"listen", "pprof"}
	logKeys   = []string{"level", "format"}
)

// document is a YAML file arranged in discoh's layout, with its structure
// checked: every section is a map and holds only known keys.
type document struct {
	pools     map[string]map[string]any // by pool name as written
	admin     map[string]any
	log       map[string]any
	maxMemory any // nil when absent
}

// arrange accepts both layouts and reports every structural problem:
// sections that are not maps, unknown keys, pool names that clash.
func arrange(raw map[string]any) (*document, problems) {
	var ps problems
	doc := &document{}
	doc.pools = arrangePools(poolsSection(raw, &ps), &ps)
	doc.admin = section(raw, sectionAdmin, adminKeys, &ps)
	doc.log = section(raw, sectionLog, logKeys, &ps)
	doc.maxMemory = raw[keyMaxMemory]
	return doc, ps
}

// poolsSection returns the map of pools, from under "pools:" or, in a
// nutcracker file, from the top level.
func poolsSection(raw map[string]any, ps *problems) any {
	if isNutcracker(raw) {
		pools := map[string]any{}
		for name, v := range raw {
			if !isSection(name) {
				pools[name] = v
			}
		}
		return pools
	}
	for _, key := range sortedKeys(raw) {
		if !isSection(key) {
			ps.add(key, "unknown key")
		}
	}
	return raw[sectionPools]
}

// isNutcracker reports whether raw is a plain nutcracker file: no "pools"
// key, and pools (maps with listen and servers) at the top level.
func isNutcracker(raw map[string]any) bool {
	if _, ok := raw[sectionPools]; ok {
		return false
	}
	for _, v := range raw {
		m, ok := asMap(v)
		if !ok {
			continue
		}
		_, hasListen := m["listen"]
		_, hasServers := m["servers"]
		if hasListen && hasServers {
			return true
		}
	}
	return false
}

// arrangePools checks each pool's shape and keys. Names are compared
// without case, because viper (and so the environment) ignores it.
func arrangePools(v any, ps *problems) map[string]map[string]any {
	if v == nil {
		return nil
	}
	all, ok := asMap(v)
	if !ok {
		ps.add(sectionPools, "want a map of pools, got %s", describe(v))
		return nil
	}
	pools := map[string]map[string]any{}
	seen := map[string]string{}
	for _, name := range sortedKeys(all) {
		if keys, ok := arrangePool(name, all[name], seen, ps); ok {
			pools[name] = keys
		}
	}
	return pools
}

// arrangePool checks one pool's name, shape and keys.
func arrangePool(name string, v any, seen map[string]string, ps *problems) (map[string]any, bool) {
	field := sectionPools + "." + name
	if err := checkPoolName(name); err != nil {
		ps.addErr(field, err)
		return nil, false
	}
	if err := claimPoolName(seen, name); err != nil {
		ps.addErr(field, err)
		return nil, false
	}
	keys, ok := asMap(v)
	if !ok {
		ps.add(field, "want a map of pool settings, got %s", describe(v))
		return nil, false
	}
	checkKeys(field, keys, poolKeys(), ps)
	return keys, true
}

// tree returns doc as the nested map viper reads. viper lower-cases its
// keys in place, so doc's maps must not be read afterwards.
func (doc *document) tree() map[string]any {
	pools := make(map[string]any, len(doc.pools))
	for name, keys := range doc.pools {
		pools[name] = keys
	}
	tree := map[string]any{sectionPools: pools}
	if doc.admin != nil {
		tree[sectionAdmin] = doc.admin
	}
	if doc.log != nil {
		tree[sectionLog] = doc.log
	}
	if doc.maxMemory != nil {
		tree[keyMaxMemory] = doc.maxMemory
	}
	return tree
}

// sortedNames returns the pool names of doc in order.
func (doc *document) sortedNames() []string {
	names := make([]string, 0, len(doc.pools))
	for name := range doc.pools {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// section returns the map under raw[name], checking its keys.
func section(raw map[string]any, name string, known []string, ps *problems) map[string]any {
	v, ok := raw[name]
	if !ok || v == nil {
		return nil
	}
	m, ok := asMap(v)
	if !ok {
		ps.add(name, "want a map, got %s", describe(v))
		return nil
	}
	checkKeys(name, m, known, ps)
	return m
}

// checkKeys reports every key of m not in known, catching typos.
func checkKeys(field string, m map[string]any, known []string, ps *problems) {
	for _, key := range sortedKeys(m) {
		if !slices.Contains(known, key) {
			ps.add(field+"."+key, "unknown key")
		}
	}
}

// asMap returns v as a map with string keys. YAML gives map[any]any when
// some key is not a string (a pool named 1, say).
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// describe shows a YAML value in an error message.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a map"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
