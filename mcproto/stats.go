package mcproto

import (
	"bytes"
	"strconv"
)

// ParseStat returns the name and value of one "STAT <name> <value>" line of a stats reply
// ("\r\n" optional), or ok false for any other line (END, ITEM, an error).
func ParseStat(line []byte) (name, value []byte, ok bool) {
	rest, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\r\n")), []byte("STAT "))
	if !ok {
		return nil, nil, false
	}
	name, value, _ = bytes.Cut(rest, []byte(" "))
	return name, value, len(name) > 0
}

// IsStatsList reports whether a whole stats reply is a list of lines closed by END (plain stats
// and most sub-commands), rather than one line: RESET, OK (stats detail on|off) or an error.
func IsStatsList(reply []byte) bool {
	return bytes.HasSuffix(reply, []byte("END\r\n")) && !isErrorLine(reply)
}

// AppendStat appends one "STAT <name> <value>" line.
func AppendStat(dst []byte, name string, value uint64) []byte {
	dst = append(append(append(dst, "STAT "...), name...), ' ')
	return append(strconv.AppendUint(dst, value, 10), "\r\n"...)
}
