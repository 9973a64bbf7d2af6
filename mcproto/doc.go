// Package mcproto is the memcached text protocol, as memcached 1.6 speaks it: pure functions over
// []byte, with no I/O.
//
// A client-facing server reads requests with [Parser.Parse], which reports malformed input
// with exactly the reply memcached would send and says how many bytes to discard ([Error]).
// A backend connection frames the replies of a real memcached with [ScanResponse] and walks
// the VALUE blocks of a get reply with [NextValue], to merge a multi-get split across servers.
// The Append functions write requests and replies. [ParseStat] and [IsStatsList] read a
// server's stats reply, for a proxy that sums the servers' counters or prefixes their lines.
//
// Only the text protocol is spoken: a request that starts with the binary protocol's magic
// byte (0x80) is an [Error] that closes the connection at once, without a reply, as memcached
// closes one that speaks a protocol it does not accept.
//
// Meta commands (mg, ms, md, ma, mn, me) are parsed just enough to route them (key, data
// length, quiet flag) and are forwarded as their original line. In quiet mode a backend sends
// nothing for some outcomes; a proxy that pairs requests with replies sends [StripQuiet]'s
// line instead and drops the replies [QuietSuppressed] says memcached would have held back.
//
// Parsing allocates nothing in steady state: the returned slices point into the input, and
// a Parser and a Request keep their scratch space across calls.
package mcproto
