package commands

import (
	"errors"
	"fmt"
)

// Errors returned by Command.Keys. Their text is worded as Redis words its
// errors, so a front end can send it to the client after a '-'; Keys wraps
// them with the offending argument and the command's name.
var (
	// ErrArity means the argument count breaks the command's arity.
	ErrArity = errors.New("ERR wrong number of arguments")
	// ErrNumKeys means a key count argument is not an integer, is negative,
	// is zero for a command that needs keys, or exceeds the arguments left.
	ErrNumKeys = errors.New("ERR numkeys")
	// ErrKeySyntax means the arguments do not hold keys where the command's
	// key specs place them.
	ErrKeySyntax = errors.New("ERR syntax error")
	// ErrNoKeySpec means the command's keys cannot be found from its
	// arguments at all.
	ErrNoKeySpec = errors.New("ERR keys cannot be located")
)

// errNoKeys is the internal verdict that a key count of zero leaves a
// command that may have no keys (EVAL script 0) without any.
var errNoKeys = errors.New("commands: zero keys")

// errIncomplete is the internal verdict that a spec may have missed keys.
var errIncomplete = errors.New("commands: incomplete key spec")

// keysFunc appends the key indexes of args to dst, as a spec walk would.
type keysFunc func(args [][]byte, dst []int) ([]int, error)

// Keys appends to dst the index in args of every key of the command (args
// holds the whole command, name first) and returns the extended slice. Keys
// come in key spec order, found exactly as Redis 7.0 finds them for COMMAND
// GETKEYS; a command with no keys appends nothing. Keys is stricter than
// GETKEYS only where Redis lists keys for a call the command itself then
// rejects (EVAL with a key count beyond its arguments, a count such as
// "01"): there it returns ErrNumKeys. On error dst is returned unchanged.
// Keys does not allocate when dst has room and the command is well formed.
func (c *Command) Keys(args [][]byte, dst []int) ([]int, error) {
	if !c.ArityOK(len(args)) {
		return dst, fmt.Errorf("%w for '%s' command", ErrArity, c.Name)
	}
	keys, err := c.keysFromSpecs(args, dst)
	if err != nil && c.fallback != nil {
		// Like Redis, a spec that cannot finish hands over to the
		// command's own finder.
		keys, err = c.fallback(args, dst)
	}
	if err != nil {
		return dst, c.keysError(err)
	}
	if len(keys) == len(dst) && c.needsKeys() {
		return dst, fmt.Errorf("%w: no key arguments for '%s' command", ErrKeySyntax, c.Name)
	}
	return keys, nil
}

// keysError words a failed key search for the client. It is nil when the
// search found that the call rightly has no keys.
func (c *Command) keysError(err error) error {
	switch {
	case errors.Is(err, errNoKeys):
		return nil
	case errors.Is(err, errIncomplete):
		err = ErrNoKeySpec
	}
	return fmt.Errorf("%w for '%s' command", err, c.Name)
}

// needsKeys reports whether a call of the command must name a key, so
// that finding none means a malformed call (XREAD without STREAMS), as
// COMMAND GETKEYS judges it.
func (c *Command) needsKeys() bool {
	if c.Flags.Has(NoMandatoryKeys) {
		return false
	}
	for i := range c.Specs {
		if !c.Specs[i].Flags.Has(KeyNotKey) {
			return true
		}
	}
	return false
}

// keysFromSpecs walks the key specs in order, as Redis's
// getKeysUsingKeySpecs does. Any invalid spec fails the whole walk. Redis
// skips the walk for specs with variable flags (SET, BITFIELD), but only
// to learn the flags: the positions it then reports are the specs' own.
func (c *Command) keysFromSpecs(args [][]byte, dst []int) ([]int, error) {
	start := len(dst)
	for i := range c.Specs {
		spec := &c.Specs[i]
		if spec.Flags.Has(KeyNotKey) {
			continue
		}
		var err error
		dst, err = spec.appendKeys(args, dst, c.Flags.Has(NoMandatoryKeys))
		if err != nil {
			return dst[:start], err
		}
	}
	return dst, nil
}

// appendKeys appends the keys this spec finds in args. A keyword that is
// absent is no error: the spec then has no keys.
func (s *KeySpec) appendKeys(args [][]byte, dst []int, keysOptional bool) ([]int, error) {
	first, found, err := s.BeginSearch.first(args)
	if err != nil || !found {
		return dst, err
	}
	first, last, err := s.FindKeys.bounds(args, first, keysOptional)
	if err != nil {
		return dst, err
	}
	for i := first; i <= last; i += s.FindKeys.KeyStep {
		dst = append(dst, i)
	}
	if s.Flags.Has(KeyIncomplete) {
		return dst, errIncomplete
	}
	return dst, nil
}

// first returns the index where the spec's keys begin. Like Redis, a
// forward keyword search stops before the last argument and a backward one
// before args[1]: a keyword there could not be followed by a key.
func (b *BeginSearch) first(args [][]byte) (first int, found bool, err error) {
	switch b.Kind {
	case SearchIndex:
		return b.Index, true, nil
	case SearchKeyword:
		first, found = b.searchKeyword(args)
		return first, found, nil
	}
	return 0, false, ErrNoKeySpec
}

// searchKeyword returns the index after the first match of the keyword.
func (b *BeginSearch) searchKeyword(args [][]byte) (int, bool) {
	argc := len(args)
	from, to := b.StartFrom, argc-1
	if b.StartFrom < 0 {
		from, to = argc+b.StartFrom, 1
	}
	step := 1
	if from > to {
		step = -1
	}
	for i := from; i != to && i >= 1 && i < argc; i += step {
		if equalFoldASCII(args[i], b.Keyword) {
			return i + 1, true
		}
	}
	return 0, false
}

// bounds returns the first and last key index from the spec's first
// argument, rejecting bounds outside args as Redis does.
func (f *FindKeys) bounds(args [][]byte, first int, keysOptional bool) (int, int, error) {
	if f.KeyStep < 1 {
		return 0, 0, ErrNoKeySpec
	}
	switch f.Kind {
	case FindRange:
		return f.rangeBounds(len(args), first)
	case FindKeyNum:
		return f.keyNumBounds(args, first, keysOptional)
	}
	return 0, 0, ErrNoKeySpec
}

// rangeBounds handles FindRange specs.
func (f *FindKeys) rangeBounds(argc, first int) (int, int, error) {
	var last int
	switch {
	case f.LastKey >= 0:
		last = first + f.LastKey
	case f.Limit == 0:
		last = argc + f.LastKey
	default:
		last = first + (argc-first)/f.Limit + f.LastKey
	}
	if first >= argc || last >= argc || last < first {
		return 0, 0, fmt.Errorf("%w in the key arguments", ErrKeySyntax)
	}
	return first, last, nil
}

// keyNumBounds handles FindKeyNum specs: a count, then that many keys.
func (f *FindKeys) keyNumBounds(args [][]byte, first int, keysOptional bool) (int, int, error) {
	countAt := first + f.KeyNumIdx
	if countAt >= len(args) {
		return 0, 0, fmt.Errorf("%w in the key arguments", ErrKeySyntax)
	}
	n, ok := parseCount(args[countAt])
	if !ok || n < 0 || (n == 0 && !keysOptional) {
		return 0, 0, fmt.Errorf("%w '%s' is not a valid number of keys", ErrNumKeys, clip(args[countAt]))
	}
	if n == 0 {
		return 0, 0, errNoKeys
	}
	first += f.FirstKey
	if n > int64(len(args)-first) {
		return 0, 0, fmt.Errorf("%w '%s' is more than the keys given", ErrNumKeys, clip(args[countAt]))
	}
	return first, first + int(n) - 1, nil
}

// maxQuoted bounds how much of a client's argument an error message repeats.
const maxQuoted = 32

// clip shortens an argument quoted in an error message.
func clip(arg []byte) []byte {
	if len(arg) > maxQuoted {
		return arg[:maxQuoted]
	}
	return arg
}

// parseCount parses a decimal integer as strictly as Redis's string2ll:
// no sign but '-', no leading zeros, no spaces, no overflow.
func parseCount(b []byte) (int64, bool) {
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' || n > (1<<63-1-int64(d-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// equalFoldASCII compares b and s ignoring ASCII case, like strcasecmp.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lowerByte(b[i]) != lowerByte(s[i]) {
			return false
		}
	}
	return true
}

func lowerByte(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
