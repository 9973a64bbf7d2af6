package source

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// Set is a read-only collection of sources, indexed for Match. It is safe for concurrent use.
type Set struct {
	// prefixed holds the patterns that start with literal text, by that text.
	prefixed index
	// anchored holds the patterns that start with a part followed by ':', by the literal after
	// that part: since a part holds no ':', the literal starts at the key's first ':'.
	anchored index
	// others are the remaining patterns that start with a part, tried in configuration order.
	others  []*compiled
	sources []Source
}

// NewSet validates and indexes sources. It reports every problem, each naming the source by
// its position and pattern; the errors match ErrInvalid. Two sources with the same pattern
// are an error.
func NewSet(sources []Source) (*Set, error) {
	s := &Set{sources: slices.Clone(sources)}
	var errs []error
	seen := make(map[string]bool)
	for i := range s.sources {
		src := &s.sources[i]
		c, err := compile(src)
		if err == nil && seen[src.Pattern] {
			err = fmt.Errorf("%w: pattern appears twice", ErrInvalid)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sources[%d] %q: %w", i, src.Pattern, err))
			continue
		}
		seen[src.Pattern] = true
		s.add(c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) add(c *compiled) {
	switch p := c.pat; {
	case len(p.prefix) > 0 || len(p.parts) == 0:
		s.prefixed.add(p.prefix, c)
	case len(p.lits[0]) > 0 && p.lits[0][0] == separator:
		s.anchored.add(p.lits[0], c)
	default:
		s.others = append(s.others, c)
	}
}

// ForPool returns the set of the sources that cover the named pool (Source.InPool).
func (s *Set) ForPool(pool string) *Set {
	var kept []Source
	for _, src := range s.sources {
		if src.InPool(pool) {
			kept = append(kept, src)
		}
	}
	out, _ := NewSet(kept) // a subset of valid sources is valid
	return out
}

// Len returns the number of sources in the set.
func (s *Set) Len() int { return len(s.sources) }

// Match returns the source that covers key and the query parameters taken from key's parts.
// When several patterns match, the one with the longest literal prefix wins; among patterns
// that start with a part, those followed by ':' come first, the longest literal after the
// part first; ties go by configuration order. A key that no source covers costs a few map
// look-ups and allocates nothing.
func (s *Set) Match(key []byte) (src *Source, params []any, ok bool) {
	c := s.find(key)
	if c == nil {
		return nil, nil, false
	}
	return c.src, c.params(key), true
}

// Covers reports whether a source covers key, like Match but allocating nothing either way.
func (s *Set) Covers(key []byte) bool { return s.find(key) != nil }

func (s *Set) find(key []byte) *compiled {
	if c := s.prefixed.find(key, 0); c != nil {
		return c
	}
	if colon := bytes.IndexByte(key, separator); colon > 0 {
		if c := s.anchored.find(key, colon); c != nil {
			return c
		}
	}
	for _, c := range s.others {
		if c.matches(key) {
			return c
		}
	}
	return nil
}

// index groups compiled sources by a literal that must occur at a known place in the key.
type index struct {
	by      map[string][]*compiled // each group in configuration order
	lengths []int                  // the distinct literal lengths, longest first
}

func (x *index) add(lit []byte, c *compiled) {
	if x.by == nil {
		x.by = make(map[string][]*compiled)
	}
	if _, ok := x.by[string(lit)]; !ok {
		x.lengths = append(x.lengths, len(lit))
		slices.SortFunc(x.lengths, func(a, b int) int { return b - a })
		x.lengths = slices.Compact(x.lengths)
	}
	x.by[string(lit)] = append(x.by[string(lit)], c)
}

// find returns the first source whose literal is found at key[at:] and whose pattern
// matches key.
func (x *index) find(key []byte, at int) *compiled {
	for _, n := range x.lengths {
		if at+n > len(key) {
			continue
		}
		for _, c := range x.by[string(key[at:at+n])] {
			if c.matches(key) {
				return c
			}
		}
	}
	return nil
}
