// Package source maps coherent keys to the SQL queries that produce their values.
//
// A Source pairs a key pattern with named parts, such as "user:{id}" or
// "{tenant}:order:{id}", with a query whose parameters are taken from those parts. A Set
// indexes sources by the literal prefix of their patterns, so that matching a key that no
// source names (most keys a proxy sees) costs a few map look-ups and allocates nothing.
package source

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrInvalid is matched (errors.Is) by every problem NewSet finds in a source.
var ErrInvalid = errors.New("source: invalid")

// Source says where the value of every key matching Pattern comes from.
type Source struct {
	// Pattern is a key with named parts in braces: "user:{id}". A part matches one or more
	// bytes other than ':' (the usual separator of key segments), up to the first place
	// where the pattern's next literal text occurs; a part that ends the pattern takes the
	// rest of the key. Write "{{" and "}}" for literal braces, as in "{{tenant}}:{id}".
	Pattern string
	// Database names the configured database that Query runs on.
	Database string
	// Query is one SELECT returning the value as its first column and, optionally, a
	// version as its second. Placeholders ($1.. on PostgreSQL, ? on MySQL and SQLite) take
	// the parts named by Params, in order.
	Query string
	// Params names the pattern's part for each placeholder of Query. Empty means every
	// part once, in pattern order.
	Params []string
	// TTL is the expiry of a pulled value in the cache; zero keeps it until evicted.
	TTL time.Duration
	// Flags are the memcached client flags stored with a pulled value.
	Flags uint32
	// Pools lists the pools whose keys this source covers; empty means every pool.
	Pools []string
}

// InPool reports whether the source covers keys of the named pool.
func (s *Source) InPool(pool string) bool {
	return len(s.Pools) == 0 || slices.Contains(s.Pools, pool)
}

// compiled is a Source with its pattern parsed and its parameters resolved to parts.
type compiled struct {
	src  *Source
	pat  pattern
	args []int // the part index for each placeholder
}

func compile(src *Source) (*compiled, error) {
	var errs []error
	pat, err := parsePattern(src.Pattern)
	errs = append(errs, err)
	if src.Database == "" {
		errs = append(errs, fmt.Errorf("%w: database is empty", ErrInvalid))
	}
	if src.Query == "" {
		errs = append(errs, fmt.Errorf("%w: query is empty", ErrInvalid))
	}
	if src.TTL < 0 {
		errs = append(errs, fmt.Errorf("%w: ttl %v is negative", ErrInvalid, src.TTL))
	}
	params, err := resolveParams(pat, src.Params)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return &compiled{src: src, pat: pat, args: params}, nil
}

// resolveParams turns part names into part indexes; no names means every part in order.
func resolveParams(pat pattern, names []string) ([]int, error) {
	if len(names) == 0 {
		return pat.partIndexes(), nil
	}
	idx := make([]int, len(names))
	var errs []error
	for i, name := range names {
		idx[i] = pat.partIndex(name)
		if idx[i] < 0 {
			errs = append(errs, fmt.Errorf("%w: param %q is no part of the pattern", ErrInvalid, name))
		}
	}
	return idx, errors.Join(errs...)
}

// matches reports whether key matches the pattern, without allocating.
func (c *compiled) matches(key []byte) bool {
	var spans [maxParts][2]int
	return c.pat.match(key, &spans)
}

// params returns the query parameters for key, which must match.
func (c *compiled) params(key []byte) []any {
	var spans [maxParts][2]int
	c.pat.match(key, &spans)
	params := make([]any, len(c.args))
	for i, part := range c.args {
		params[i] = string(key[spans[part][0]:spans[part][1]])
	}
	return params
}
