// Package commands is the Redis command table: every command and
// subcommand a real Redis publishes in COMMAND, with its arity, flags, ACL
// categories and key specs, and the lookups the proxy needs to route a
// command: which entry it is (Lookup) and which of its arguments are keys
// (Command.Keys).
//
// The table in table_gen.go is generated from a live redis-server; regenerate
// it with go generate after a Redis upgrade.
package commands

//go:generate go run ./gen -o table_gen.go

import (
	"slices"
	"strings"

	"github.com/discoh/discoh/resp"
)

// maxNameLen bounds the command and subcommand names Lookup will try; the
// longest Redis name is about 20 bytes, anything longer is unknown.
const maxNameLen = 64

// Command is one entry of the command table. Entries are shared: callers
// must not modify them.
type Command struct {
	// Name is the lower-case name: "get", or "parent|sub" for a subcommand
	// ("object|encoding").
	Name string
	// Arity counts the arguments including the name (and the subcommand
	// name); negative means at least -Arity.
	Arity      int
	Flags      Flag
	Categories Category
	// FirstKey, LastKey and Step are the legacy key positions of COMMAND
	// (first, last, step). Specs supersede them.
	FirstKey, LastKey, Step int
	// Tips are Redis's hints for proxies and clients, such as
	// "request_policy:all_shards" or "nondeterministic_output".
	Tips []string
	// Specs say where the keys are; see KeySpec.
	Specs []KeySpec
	// Slow marks a command that may run for long on a healthy server (see slow.go).
	Slow bool
	// Reply is the type of reply the command gets, where it is known (see reply.go).
	Reply resp.Shape
	// Subcommands holds a container command's subcommands, keyed by the
	// lower-case subcommand name alone ("encoding" under "object").
	Subcommands map[string]*Command

	// fallback finds the keys when the specs cannot, as Redis's getkeys_proc
	// does for the same commands (see fallback.go).
	fallback keysFunc
}

// KeySpec locates one group of keys: BeginSearch finds where the group
// starts, FindKeys how far it goes.
type KeySpec struct {
	Flags       KeyFlag
	BeginSearch BeginSearch
	FindKeys    FindKeys
	// Notes is Redis's remark on the spec, if any.
	Notes string
}

// SearchKind says how a key spec finds its first key.
type SearchKind uint8

// Begin search kinds.
const (
	SearchUnknown SearchKind = iota // the keys cannot be found from the arguments
	SearchIndex                     // at a fixed index
	SearchKeyword                   // right after a keyword
)

// BeginSearch finds the first key of a key spec.
type BeginSearch struct {
	Kind SearchKind
	// Index is the first key's argument index (SearchIndex).
	Index int
	// Keyword is searched case-insensitively from StartFrom; a negative
	// StartFrom counts from the end and searches backwards (SearchKeyword).
	Keyword   string
	StartFrom int
}

// FindKind says how a key spec finds its keys after the first.
type FindKind uint8

// Find keys kinds.
const (
	FindUnknown FindKind = iota // the keys cannot be found from the arguments
	FindRange                   // a range of arguments
	FindKeyNum                  // a count argument followed by the keys
)

// FindKeys finds the keys of a key spec from its first key.
type FindKeys struct {
	Kind FindKind
	// LastKey is the last key relative to the first (0 or more), or to the
	// end of the arguments when negative (FindRange). With a Limit above 0
	// and LastKey -1, the range covers 1/Limit of the remaining arguments.
	LastKey int
	// KeyStep is the distance between keys (both kinds).
	KeyStep int
	Limit   int
	// KeyNumIdx is the count argument relative to the first key, and
	// FirstKey the first key relative to it (FindKeyNum).
	KeyNumIdx, FirstKey int
}

// all lists the top-level commands sorted by name, for All.
var all = sortedCommands()

// Lookup returns the table entry for a command given as its arguments
// (name first, case-insensitive). For a container command such as OBJECT it
// returns the subcommand named by args[1], nil when args[1] names none, or
// the container itself when there is no args[1]. It returns nil for an
// unknown command. Lookup does not allocate.
func Lookup(args [][]byte) *Command {
	if len(args) == 0 {
		return nil
	}
	var buf [maxNameLen]byte
	name, ok := lower(&buf, args[0])
	if !ok {
		return nil
	}
	c := table[string(name)]
	if c == nil || c.Subcommands == nil || len(args) < 2 {
		return c
	}
	sub, ok := lower(&buf, args[1])
	if !ok {
		return nil
	}
	return c.Subcommands[string(sub)]
}

// IsContainer reports whether name (any case) is a command of subcommands, such as OBJECT.
func IsContainer(name []byte) bool {
	var buf [maxNameLen]byte
	lowered, ok := lower(&buf, name)
	if !ok {
		return false
	}
	c := table[string(lowered)]
	return c != nil && c.Subcommands != nil
}

// lower writes the ASCII lower case of name into buf, as Redis compares
// command names; ok is false when name does not fit.
func lower(buf *[maxNameLen]byte, name []byte) (lowered []byte, ok bool) {
	if len(name) > len(buf) {
		return nil, false
	}
	for i, b := range name {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		buf[i] = b
	}
	return buf[:len(name)], true
}

// ArityOK reports whether nargs arguments (name and subcommand included)
// satisfy the command's arity: exactly Arity, or at least -Arity when Arity
// is negative.
func (c *Command) ArityOK(nargs int) bool {
	if c.Arity < 0 {
		return nargs >= -c.Arity
	}
	return nargs == c.Arity
}

// Count returns the number of top-level commands, as COMMAND COUNT does.
func Count() int { return len(table) }

// All returns the top-level commands sorted by name, for COMMAND and
// COMMAND LIST answers. The slice is the caller's; the entries are shared.
func All() []*Command { return slices.Clone(all) }

// sortedCommands lists the table's top-level entries by name.
func sortedCommands() []*Command {
	cmds := make([]*Command, 0, len(table))
	for _, c := range table {
		cmds = append(cmds, c)
	}
	slices.SortFunc(cmds, func(a, b *Command) int { return strings.Compare(a.Name, b.Name) })
	return cmds
}
