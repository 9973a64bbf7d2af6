package config

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// The parse functions turn one value into its Go type. A value comes from
// YAML (string, int, bool, list...) or from the environment (always a
// string), so each accepts its type's string form too.

func parseString(raw any) (string, error) {
	switch v := raw.(type) {
	case string:
		return v, nil
	case int, int64, uint64:
		return fmt.Sprint(v), nil // a numeric password, say
	}
	return "", fmt.Errorf("%s is not a string", describe(raw))
}

func parseBool(raw any) (bool, error) {
	switch v := raw.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("%s is not true or false", describe(raw))
}

func parseInt(raw any) (int, error) {
	if n, ok := asInt(raw); ok {
		return n, nil
	}
	return 0, fmt.Errorf("%s is not an integer", describe(raw))
}

// asInt accepts the integer types YAML produces and decimal strings.
func asInt(raw any) (int, bool) {
	switch v := raw.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case uint64:
		return int(v), v <= math.MaxInt
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

// parseDuration accepts Go durations ("400ms", "2s") and, as twemproxy
// does, bare integers of milliseconds.
func parseDuration(raw any) (time.Duration, error) {
	if s, ok := raw.(string); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return d, nil
		}
	}
	if ms, ok := asInt(raw); ok {
		ns, err := scale(ms, int(time.Millisecond))
		return time.Duration(ns), err
	}
	return 0, fmt.Errorf("%s is not a duration (want e.g. 400ms, 2s, or an integer of milliseconds)", describe(raw))
}

// sizeUnits are the suffixes a byte size may carry, in powers of 1024.
var sizeUnits = map[string]int{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30,
}

// parseSize accepts a byte count: an integer, or a string such as "64kb".
func parseSize(raw any) (int, error) {
	if n, ok := asInt(raw); ok {
		return n, nil
	}
	if s, ok := raw.(string); ok {
		s = strings.ToLower(strings.TrimSpace(s))
		digits := strings.TrimRight(s, "bkmg")
		unit, known := sizeUnits[s[len(digits):]]
		if n, err := strconv.Atoi(strings.TrimSpace(digits)); err == nil && known {
			return scale(n, unit)
		}
	}
	return 0, fmt.Errorf("%s is not a size (want e.g. 1048576, 64kb or 512mb)", describe(raw))
}

// scale multiplies n by unit, refusing overflow.
func scale(n, unit int) (int, error) {
	if n > math.MaxInt/unit || n < math.MinInt/unit {
		return 0, fmt.Errorf("%d is too large", n)
	}
	return n * unit, nil
}

// parseLevel accepts slog's level names in any case: debug, info, warn,
// error (and offsets such as info+2).
func parseLevel(raw any) (slog.Level, error) {
	var level slog.Level
	s, ok := raw.(string)
	if ok && level.UnmarshalText([]byte(strings.TrimSpace(s))) == nil {
		return level, nil
	}
	return 0, fmt.Errorf("%s is not a log level (want debug, info, warn or error)", describe(raw))
}

// serverEntries returns the items of a servers list: a YAML list, or a
// comma-separated string from the environment.
func serverEntries(raw any) ([]any, error) {
	switch v := raw.(type) {
	case []any:
		return v, nil
	case string:
		var entries []any
		for entry := range strings.SplitSeq(v, ",") {
			entries = append(entries, entry)
		}
		return entries, nil
	}
	return nil, fmt.Errorf("%s is not a list of servers", describe(raw))
}

// parseServer reads twemproxy's "host:port:weight [name]".
func parseServer(raw any) (Server, error) {
	s, ok := raw.(string)
	if !ok {
		return Server{}, fmt.Errorf("%s is not a string like \"host:port:weight [name]\"", describe(raw))
	}
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 || strings.Count(fields[0], ":") < 2 {
		return Server{}, fmt.Errorf("%q is not \"host:port:weight [name]\"", s)
	}
	i := strings.LastIndexByte(fields[0], ':')
	weight, err := strconv.Atoi(fields[0][i+1:])
	if err != nil {
		return Server{}, fmt.Errorf("weight %q is not a number", fields[0][i+1:])
	}
	server := Server{Addr: fields[0][:i], Weight: weight}
	if len(fields) == 2 {
		server.Name = fields[1]
	}
	return server, nil
}
