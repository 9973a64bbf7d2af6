package resp

import (
	"slices"
	"strconv"
	"strings"
)

// The Append functions encode one RESP value at the end of dst and return the extended slice,
// without allocating when dst has room.

// AppendArrayLen appends an array header, "*n\r\n"; n elements must follow.
func AppendArrayLen(dst []byte, n int) []byte { return appendHeader(dst, '*', int64(n)) }

// AppendMapLen appends the header of a map of n pairs: "%n\r\n" in RESP3, or in RESP2 the flat
// array "*2n\r\n" that Redis sends instead. 2n values, key then value, must follow.
func AppendMapLen(dst []byte, n int, resp3 bool) []byte {
	if resp3 {
		return appendHeader(dst, '%', int64(n))
	}
	return appendHeader(dst, '*', 2*int64(n))
}

// AppendBulk appends b as a bulk string.
func AppendBulk(dst, b []byte) []byte {
	dst = appendHeader(dst, '$', int64(len(b)))
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkString appends s as a bulk string.
func AppendBulkString(dst []byte, s string) []byte {
	dst = appendHeader(dst, '$', int64(len(s)))
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendInt appends an integer reply, ":n\r\n".
func AppendInt(dst []byte, n int64) []byte { return appendHeader(dst, ':', n) }

// AppendError appends msg, such as "ERR unknown command", as an error reply. As Redis does, it
// drops line breaks at the end of msg and turns any others into spaces; an empty msg becomes
// "ERR".
func AppendError(dst []byte, msg string) []byte {
	msg = strings.TrimRight(msg, "\r\n")
	if msg == "" {
		msg = "ERR"
	}
	return appendLine(append(dst, '-'), msg)
}

// AppendSimple appends s as a simple string ("+OK\r\n"), with line breaks treated as in
// AppendError.
func AppendSimple(dst []byte, s string) []byte { return appendLine(append(dst, '+'), s) }

// AppendNull appends a null bulk string: "$-1\r\n" in RESP2, "_\r\n" in RESP3.
func AppendNull(dst []byte, resp3 bool) []byte {
	if resp3 {
		return append(dst, "_\r\n"...)
	}
	return append(dst, "$-1\r\n"...)
}

// AppendNullArray appends a null array: "*-1\r\n" in RESP2, "_\r\n" in RESP3.
func AppendNullArray(dst []byte, resp3 bool) []byte {
	if resp3 {
		return append(dst, "_\r\n"...)
	}
	return append(dst, "*-1\r\n"...)
}

// AppendCommand appends args as a multibulk request, the form servers are sent.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	if len(args) > growAfterArgs {
		dst = slices.Grow(dst, commandSize(args))
	}
	dst = AppendArrayLen(dst, len(args))
	for _, arg := range args {
		dst = AppendBulk(dst, arg)
	}
	return dst
}

// growAfterArgs is the argument count past which AppendCommand sizes dst once, instead of
// growing it step by step (a part of a huge MSET is 512 arguments).
const growAfterArgs = 16

// commandSize bounds the encoded size of a command of args: each bulk's header is at most
// "$" and 19 digits and "\r\n", its end "\r\n".
func commandSize(args [][]byte) int {
	n := 24
	for _, a := range args {
		n += len(a) + 24
	}
	return n
}

func appendHeader(dst []byte, kind byte, n int64) []byte {
	dst = strconv.AppendInt(append(dst, kind), n, 10)
	return append(dst, '\r', '\n')
}

// appendLine appends s and "\r\n", dropping line breaks at the end of s and turning any others
// into spaces so that the line stays one line.
func appendLine(dst []byte, s string) []byte {
	s = strings.TrimRight(s, "\r\n")
	if !strings.ContainsAny(s, "\r\n") {
		dst = append(dst, s...)
		return append(dst, '\r', '\n')
	}
	for i := range len(s) {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}
