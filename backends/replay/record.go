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
//	record: kind (1 byte) | payload length (4, big endian) | CRC-32C of kind, length and payload (4) | payload
//
// Kinds, by their payload:
//
//	key    (1) a key: the server missed an invalidation of it
//	lost   (2) none: the server missed more than the file says, so the records before it no
//	           longer matter and the server must be flushed (written by older versions when
//	           their queue overflowed, and by this one when it could not write the queue)
//	filter (3) a filter's filterBytes bytes: the queue overflowed; the server may hold stale
//	           copies of the keys the filter holds (written when the file is rewritten)
//	hash   (4) a key's 8-byte hash (hashKey, big endian): one more key for the filter (appended
//	           as keys come after an overflow)
//
// A file that holds a filter or hash record opens overflowed, its key records added to the
// filter. Versions that predate the filter read the new kinds as damage, and so flush.
const (
	header     = "discohrq\x00\x01"
	recordHead = 9
	hashSize   = 8

	kindKey    byte = 1
	kindLost   byte = 2
	kindFilter byte = 3
	kindHash   byte = 4
)

// MaxKeySize is the longest key a queue records as it is. A longer key overflows the queue
// into its filter: memcached keys are at most 250 bytes and Redis keys that long are rare, and
// the bound keeps every record, and so the file, bounded.
const MaxKeySize = 64 << 10

// ErrCorrupt says a queue file could not be read to its end: a torn write, a bad checksum or
// a foreign file. Open treats it as lost: what the server missed is unknown.
var ErrCorrupt = errors.New("replay: corrupt queue file")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends one record to buf.
func appendRecord(buf []byte, kind byte, payload []byte) []byte {
	start := len(buf)
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload)))
	buf = append(buf, 0, 0, 0, 0)
	buf = append(buf, payload...)
	sum := crc32.Update(crc32.Checksum(buf[start:start+5], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(buf[start+5:], sum)
	return buf
}

// appendHash appends the hash record of a key's hash h.
func appendHash(buf []byte, h uint64) []byte {
	return appendRecord(buf, kindHash, binary.BigEndian.AppendUint64(nil, h))
}

// contents is what a queue file says: the keys in the order they were first recorded, the
// filter of an overflowed queue, or that the queue was lost.
type contents struct {
	keys   [][]byte // slices of the file's bytes
	filter *filter  // nil unless the file holds filter or hash records
	lost   bool
}

// decode reads a queue file. An empty file is an empty queue. It stops at the first bad
// record and returns what it read before it with an error wrapping ErrCorrupt; callers must
// then treat the queue as lost.
func decode(data []byte) (contents, error) {
	var c contents
	if len(data) == 0 {
		return c, nil
	}
	if len(data) < len(header) || string(data[:len(header)]) != header {
		return c, fmt.Errorf("%w: no queue file header", ErrCorrupt)
	}
	for off := len(header); off < len(data); {
		kind, payload, n, err := decodeRecord(data[off:])
		if err != nil {
			return c, fmt.Errorf("%w: at offset %d: %w", ErrCorrupt, off, err)
		}
		off += n
		c.apply(kind, payload)
	}
	return c, nil
}

// apply adds one record to c.
func (c *contents) apply(kind byte, payload []byte) {
	switch kind {
	case kindKey:
		c.keys = append(c.keys, payload)
	case kindLost:
		c.keys, c.filter, c.lost = nil, nil, true
	case kindFilter:
		c.lazyFilter().mergeBytes(payload)
	case kindHash:
		c.lazyFilter().add(binary.BigEndian.Uint64(payload))
	}
}

// lazyFilter returns c's filter, made on first use.
func (c *contents) lazyFilter() *filter {
	if c.filter == nil {
		c.filter = newFilter()
	}
	return c.filter
}

// decodeRecord reads the record at the start of data and returns its kind, its payload (a
// slice of data) and its length.
func decodeRecord(data []byte) (kind byte, payload []byte, n int, err error) {
	if len(data) < recordHead {
		return 0, nil, 0, errors.New("truncated record header")
	}
	kind = data[0]
	size := binary.BigEndian.Uint32(data[1:5])
	if err := checkSize(kind, size); err != nil {
		return 0, nil, 0, err
	}
	n = recordHead + int(size)
	if len(data) < n {
		return 0, nil, 0, errors.New("truncated payload")
	}
	payload = data[recordHead:n]
	sum := crc32.Update(crc32.Checksum(data[:5], castagnoli), castagnoli, payload)
	if sum != binary.BigEndian.Uint32(data[5:9]) {
		return 0, nil, 0, errors.New("checksum mismatch")
	}
	return kind, payload, n, nil
}

// checkSize checks a record's payload length against its kind.
func checkSize(kind byte, size uint32) error {
	switch kind {
	case kindKey, kindLost:
		if size > MaxKeySize {
			return fmt.Errorf("key length %d over %d", size, MaxKeySize)
		}
	case kindFilter:
		if size != filterBytes {
			return fmt.Errorf("filter of %d bytes; want %d", size, filterBytes)
		}
	case kindHash:
		if size != hashSize {
			return fmt.Errorf("hash of %d bytes; want %d", size, hashSize)
		}
	default:
		return fmt.Errorf("unknown record kind %d", kind)
	}
	return nil
}
