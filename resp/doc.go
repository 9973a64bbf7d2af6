// Package resp is the Redis serialization protocol (RESP2 and RESP3) as pure functions over
// byte slices: parsing client requests under hard limits, framing and splitting server replies,
// and appending encoded values. Nothing here does I/O or keeps a connection's state, and the
// steady-state paths do not allocate: parsed arguments and reply frames are slices into the
// caller's buffer.
package resp
