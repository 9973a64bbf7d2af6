package commands

import "fmt"

// fallbacks find the keys of the commands whose key specs cannot: SORT's
// STORE and BY/GET keys may sit anywhere among its options, and MIGRATE's
// KEYS keyword may also be an AUTH password. Each mirrors the getkeys_proc
// Redis 7.0 itself falls back to for that command.
var fallbacks = map[string]keysFunc{
	"sort":    sortKeys,
	"sort_ro": sortROKeys,
	"migrate": migrateKeys,
}

func init() {
	for name, f := range fallbacks {
		if c := table[name]; c != nil {
			c.fallback = f
		}
	}
}

// sortOptionArgs and migrateOptionArgs say how many arguments follow each
// option that has any, so that an argument such as a GET pattern named
// "store" is not taken for an option.
var (
	sortOptionArgs    = map[string]int{"limit": 2, "get": 1, "by": 1}
	migrateOptionArgs = map[string]int{"copy": 0, "replace": 0, "auth": 1, "auth2": 2}
)

// sortKeys finds SORT's keys: the sorted key, then the key after the last
// STORE option. The BY and GET patterns name keys only through the sorted
// values, so Redis does not report them and neither does sortKeys.
func sortKeys(args [][]byte, dst []int) ([]int, error) {
	store := 0
	for i := 2; i < len(args); i++ {
		if n, ok := optionArgCount(args[i], sortOptionArgs); ok {
			i += n
		} else if equalFoldASCII(args[i], "store") && i+1 < len(args) {
			store = i + 1
		}
	}
	dst = append(dst, 1)
	if store > 0 {
		dst = append(dst, store)
	}
	return dst, nil
}

// sortROKeys finds SORT_RO's only key, the sorted one.
func sortROKeys(_ [][]byte, dst []int) ([]int, error) {
	return append(dst, 1), nil
}

// migrateKeys finds MIGRATE's keys: the key argument, or, when a KEYS
// option follows the timeout, every argument after KEYS. KEYS needs the key
// argument to be empty.
func migrateKeys(args [][]byte, dst []int) ([]int, error) {
	const keyArg, firstOption = 3, 6
	for i := firstOption; i < len(args); i++ {
		if equalFoldASCII(args[i], "keys") {
			if len(args[keyArg]) > 0 {
				return dst, fmt.Errorf("%w: KEYS needs an empty key argument", ErrKeySyntax)
			}
			return appendSpan(dst, i+1, len(args)), nil
		}
		if n, ok := optionArgCount(args[i], migrateOptionArgs); ok {
			i += n
		}
	}
	return append(dst, keyArg), nil
}

// optionArgCount returns how many arguments follow arg when it names one
// of the options; ok is false for any other argument.
func optionArgCount(arg []byte, options map[string]int) (n int, ok bool) {
	for name, n := range options {
		if equalFoldASCII(arg, name) {
			return n, true
		}
	}
	return 0, false
}

// appendSpan appends the indexes from up to, not including, end.
func appendSpan(dst []int, from, end int) []int {
	for i := from; i < end; i++ {
		dst = append(dst, i)
	}
	return dst
}
