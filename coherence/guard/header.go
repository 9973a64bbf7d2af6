package guard

import (
	"encoding/binary"
	"time"
)

// On memcached the guard state travels in front of the value, in one item, so that a
// single cas changes both. The header is fixed-size binary, hidden from clients by Read.
const (
	// headerMagic starts every guarded item; items without it were stored by something else
	// and are returned as they are.
	headerMagic = "\x00dcoh\x01"
	headerLen   = len(headerMagic) + 4*8 + 1
)

// The states of a key, as the Redis scripts name them too.
const (
	statePending = 'p' // invalidated; no pull has installed a value or found the row absent
	stateAbsent  = 'a' // the pull found no row
	stateStored  = 'f' // a value follows the header
	stateCreated = 'c' // created by a read miss, to hold a lease
)

// header is the guard state of one memcached item.
type header struct {
	version   Version
	windowEnd int64 // milliseconds since the epoch
	expires   int64 // expiry of the value, in milliseconds since the epoch; 0 for none
	lease     Version
	state     byte
}

func (h header) append(dst []byte) []byte {
	dst = append(dst, headerMagic...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.version))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.windowEnd))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.expires))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.lease))
	return append(dst, h.state)
}

// parseHeader splits an item's data into its header and value; ok is false for an item
// stored without a header.
func parseHeader(data []byte) (h header, value []byte, ok bool) {
	if len(data) < headerLen || string(data[:len(headerMagic)]) != headerMagic {
		return header{}, data, false
	}
	b := data[len(headerMagic):]
	h.version = Version(binary.BigEndian.Uint64(b))
	h.windowEnd = int64(binary.BigEndian.Uint64(b[8:]))
	h.expires = int64(binary.BigEndian.Uint64(b[16:]))
	h.lease = Version(binary.BigEndian.Uint64(b[24:]))
	h.state = b[32]
	return h, data[headerLen:], true
}

// inWindow reports whether now is inside the coherence window.
func (h header) inWindow(now time.Time) bool { return now.UnixMilli() < h.windowEnd }

// hasValue reports whether the item holds a value that has not expired.
func (h header) hasValue(now time.Time) bool {
	return h.state == stateStored && (h.expires == 0 || now.UnixMilli() < h.expires)
}

// nextVersion is the version of an invalidation at now that follows v.
func nextVersion(v Version, now time.Time) Version {
	return max(v+1, Version(now.UnixMicro()))
}
