package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The queue file is a header followed by records:
//
//	header: "discohrq" "\x00\x01" (magic, version 1)
//	record: kind (1 byte) | key length (4, big endian) | CRC-32C of kind, length and key (4) | key
//
// A key record says the server missed an invalidation of key; an overflow
// record (with an empty key) says it missed more than the queue holds, so
// the keys before it no longer matter.
const (
	header     = "discohrq\x00\x01"
	recordHead = 9

	kindKey      byte = 1
	kindOverflow byte = 2
)

// MaxKeySize is the longest key a queue records. A longer key overflows
// the queue, so the server is flushed instead: memcached keys are at most
// 250 bytes and Redis keys that long are rare, and the bound keeps every
// record, and so the file, bounded.
const MaxKeySize = 64 << 10

// ErrCorrupt says a queue file could not be read to its end: a torn write,
// a bad checksum or a foreign file. Open treats it as an overflow.
var ErrCorrupt = errors.New("replay: corrupt queue file")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends one record to buf.
func appendRecord(buf []byte, kind byte, key []byte) []byte {
	start := len(buf)
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(key)))
	buf = append(buf, 0, 0, 0, 0)
	buf = append(buf, key...)
	sum := crc32.Update(crc32.Checksum(buf[start:start+5], castagnoli), castagnoli, key)
	binary.BigEndian.PutUint32(buf[start+5:], sum)
	return buf
}

// contents is what a queue file says: the keys in the order they were
// first recorded, or that the queue overflowed.
type contents struct {
	keys     [][]byte // slices of the file's bytes
	overflow bool
}

// decode reads a queue file. An empty file is an empty queue. It stops at
// the first bad record and returns what it read before it with an error
// wrapping ErrCorrupt; callers must then treat the queue as overflowed.
func decode(data []byte) (contents, error) {
	var c contents
	if len(data) == 0 {
		return c, nil
	}
	if len(data) < len(header) || string(data[:len(header)]) != header {
		return c, fmt.Errorf("%w: no queue file header", ErrCorrupt)
	}
	for off := len(header); off < len(data); {
		kind, key, n, err := decodeRecord(data[off:])
		if err != nil {
			return c, fmt.Errorf("%w: at offset %d: %w", ErrCorrupt, off, err)
		}
		off += n
		switch kind {
		case kindKey:
			c.keys = append(c.keys, key)
		case kindOverflow:
			c.keys, c.overflow = nil, true
		}
	}
	return c, nil
}

// decodeRecord reads the record at the start of data and returns its kind,
// its key (a slice of data) and its length.
func decodeRecord(data []byte) (kind byte, key []byte, n int, err error) {
	if len(data) < recordHead {
		return 0, nil, 0, errors.New("truncated record header")
	}
	kind = data[0]
	if kind != kindKey && kind != kindOverflow {
		return 0, nil, 0, fmt.Errorf("unknown record kind %d", kind)
	}
	size := binary.BigEndian.Uint32(data[1:5])
	if size > MaxKeySize {
		return 0, nil, 0, fmt.Errorf("key length %d over %d", size, MaxKeySize)
	}
	n = recordHead + int(size)
	if len(data) < n {
		return 0, nil, 0, errors.New("truncated key")
	}
	key = data[recordHead:n]
	sum := crc32.Update(crc32.Checksum(data[:5], castagnoli), castagnoli, key)
	if sum != binary.BigEndian.Uint32(data[5:9]) {
		return 0, nil, 0, errors.New("checksum mismatch")
	}
	return kind, key, n, nil
}
