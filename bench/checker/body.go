package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errBody is returned for a cached value that is not a body the checker wrote.
var errBody = errors.New("checker: not a v<version>:<payload> body")

// A body is "v<version>:<payload>": the row's value with the version that wrote it, so that
// a reader can tell which write a cached value came from.

// bodyVersion returns the version that body embeds.
func bodyVersion(body string) (int64, error) {
	rest, hasV := strings.CutPrefix(body, "v")
	digits, _, hasColon := strings.Cut(rest, ":")
	if !hasV || !hasColon || !canonical(digits) {
		return 0, fmt.Errorf("%w: %.40q", errBody, body)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %.40q", errBody, body)
	}
	return v, nil
}

// canonical reports whether digits is a positive decimal as PostgreSQL prints it: no sign,
// no leading zero.
func canonical(digits string) bool {
	if digits == "" || digits[0] == '0' {
		return false
	}
	return !strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
}

// keyOf is the cache key of row id.
func keyOf(prefix string, id int) string {
	return prefix + strconv.Itoa(id)
}
