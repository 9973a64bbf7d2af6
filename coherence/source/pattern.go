package source

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxParts bounds the parts of one pattern, so that matching keeps its spans on the stack.
const maxParts = 8

// separator is the byte a part never contains: "user:{id}" does not match "user:1:name".
const separator = ':'

// pattern is a parsed key pattern: prefix, then parts[i] followed by lits[i] for each part.
// lits[i] is empty only for a part that ends the pattern.
type pattern struct {
	prefix []byte
	parts  []string
	lits   [][]byte
}

// parsePattern parses "user:{id}"-style patterns; see Source.Pattern.
func parsePattern(s string) (pattern, error) {
	if s == "" {
		return pattern{}, fmt.Errorf("%w: pattern is empty", ErrInvalid)
	}
	var p pattern
	lit, rest, err := literal(s)
	p.prefix = lit
	for err == nil && rest != "" {
		var name string
		name, rest, err = partName(rest)
		if err == nil {
			lit, rest, err = literal(rest)
			p.parts, p.lits = append(p.parts, name), append(p.lits, lit)
		}
	}
	if err == nil {
		err = p.check()
	}
	if err != nil {
		return pattern{}, fmt.Errorf("%w: pattern %q: %w", ErrInvalid, s, err)
	}
	return p, nil
}

// literal reads literal text up to the next part, undoubling "{{" and "}}".
func literal(s string) (lit []byte, rest string, err error) {
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{") || strings.HasPrefix(s[i:], "}}"):
			lit = append(lit, s[i])
			i++
		case s[i] == '{':
			return lit, s[i:], nil
		case s[i] == '}':
			return nil, "", errors.New("unmatched '}' (write \"}}\" for a literal brace)")
		default:
			lit = append(lit, s[i])
		}
	}
	return lit, "", nil
}

// partName reads "{name}" from the start of s.
func partName(s string) (name, rest string, err error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", "", errors.New("unmatched '{' (write \"{{\" for a literal brace)")
	}
	name = s[1:end]
	if !isIdentifier(name) {
		return "", "", fmt.Errorf("part name %q is not letters, digits and '_'", name)
	}
	return name, s[end+1:], nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// check rejects patterns whose matches would be ambiguous or would not fit in the spans.
func (p pattern) check() error {
	if len(p.parts) > maxParts {
		return fmt.Errorf("more than %d parts", maxParts)
	}
	for i, name := range p.parts {
		if slices.Index(p.parts, name) != i {
			return fmt.Errorf("part {%s} appears twice", name)
		}
		if len(p.lits[i]) == 0 && i < len(p.parts)-1 {
			return fmt.Errorf("parts {%s} and {%s} have no text between them", name, p.parts[i+1])
		}
	}
	return nil
}

func (p pattern) partIndex(name string) int { return slices.Index(p.parts, name) }

func (p pattern) partIndexes() []int {
	idx := make([]int, len(p.parts))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// match reports whether key matches the pattern and records where each part lies. It does
// not allocate.
func (p pattern) match(key []byte, spans *[maxParts][2]int) bool {
	if !bytes.HasPrefix(key, p.prefix) {
		return false
	}
	pos := len(p.prefix)
	for i := range p.parts {
		end, next, ok := p.partEnd(key, pos, i)
		if !ok || end == pos || bytes.IndexByte(key[pos:end], separator) >= 0 {
			return false
		}
		spans[i] = [2]int{pos, end}
		pos = next
	}
	return pos == len(key)
}

// partEnd finds where part i, starting at pos, ends and where the text after its literal
// starts. The last literal must end the key; the others are found at their first occurrence.
func (p pattern) partEnd(key []byte, pos, i int) (end, next int, ok bool) {
	lit := p.lits[i]
	switch {
	case len(lit) == 0:
		return len(key), len(key), true
	case i == len(p.parts)-1:
		end = len(key) - len(lit)
		return end, len(key), end >= pos && bytes.HasSuffix(key, lit)
	}
	at := bytes.Index(key[pos:], lit)
	return pos + at, pos + at + len(lit), at >= 0
}
