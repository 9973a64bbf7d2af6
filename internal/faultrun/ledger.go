package faultrun

import (
	"strconv"
	"strings"
)

// entry is the ledger's record of one key. Every key has one writer, so its last acknowledged
// write is plain state, no clock needed to order writers: a read that returns anything older
// is stale. A write that failed may still have been applied (the server took it, the reply was
// lost), so values up to the last write sent are fresh too.
type entry struct {
	acked int64 // number of the last acknowledged write, 0 for none
	sent  int64 // number of the last write sent, acknowledged or not
}

// verdict is the judgement of one read.
type verdict int

const (
	fresh  verdict = iota
	stale          // older than the last acknowledged write
	wrong          // no write of this key sent this value: another key's, a status reply
	missed         // a miss, though a write was acknowledged
)

// judge judges a read of key that returned value (ok == false for a miss).
func (e *entry) judge(key, value string, ok bool) verdict {
	if !ok {
		if e.acked > 0 {
			return missed
		}
		return fresh
	}
	n, valid := parseValue(key, value)
	switch {
	case !valid || n > e.sent || n <= 0:
		return wrong
	case n < e.acked:
		return stale
	}
	return fresh
}

// holds reports whether value, read directly from a server, is the key's last acknowledged
// write or a later one.
func (e *entry) holds(key, value string) bool {
	n, valid := parseValue(key, value)
	return valid && n >= e.acked && n <= e.sent
}

// formatValue is write n of key: the key and n, so a reply meant for another key or call is
// recognised, padded to size bytes.
func formatValue(key string, n int64, size int) string {
	v := key + "=" + strconv.FormatInt(n, 10) + ";"
	if pad := size - len(v); pad > 0 {
		v += strings.Repeat(".", pad)
	}
	return v
}

// parseValue returns the write number in a value of key made by formatValue.
func parseValue(key, value string) (int64, bool) {
	rest, ok := strings.CutPrefix(value, key+"=")
	if !ok {
		return 0, false
	}
	num, pad, ok := strings.Cut(rest, ";")
	if !ok || strings.Trim(pad, ".") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil
}
