package replay

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// A filter is a Bloom filter of keys: what an overflowed queue keeps instead of the keys. It
// has a fixed 2^24 bits (2 MB, whatever the limit, so every file's filter record has one size)
// and sets 3 of them per key. It never forgets a key it was given; it mistakes another key for
// one of them with probability about (1 - e^(-3n/2^24))^3 after n distinct keys: 0.06% at
// 500,000, 0.4% at a million, 21% at five million. A mistake costs that key one extra delete
// (a miss) on the returning server, so a huge outage degrades towards a flush, never into a
// stale value.
type filter struct {
	words []uint64
}

const (
	filterBits   = 1 << 24
	filterBytes  = filterBits / 8
	filterProbes = 3
)

func newFilter() *filter { return &filter{words: make([]uint64, filterBits/64)} }

// hashKey is the hash a filter and the queue file keep of a key: one 64-bit xxhash, so a
// key's record in the file takes 8 bytes whatever its length.
func hashKey(key []byte) uint64 { return xxhash.Sum64(key) }

// probe returns the i-th bit position of hash h: double hashing (Kirsch and Mitzenmacher),
// the two halves of one hash standing in for independent ones, which keeps a filter's false
// positive rate that of truly independent hashes.
func probe(h uint64, i uint32) uint32 {
	return (uint32(h) + i*uint32(h>>32)) % filterBits
}

// add sets h's bits and reports whether any was clear: false means the filter already
// answered yes for h, so h need not be written to the file again.
func (f *filter) add(h uint64) bool {
	changed := false
	for i := range uint32(filterProbes) {
		p := probe(h, i)
		w, bit := &f.words[p/64], uint64(1)<<(p%64)
		changed = changed || *w&bit == 0
		*w |= bit
	}
	return changed
}

// has reports whether h may have been added: always true if it was.
func (f *filter) has(h uint64) bool {
	for i := range uint32(filterProbes) {
		p := probe(h, i)
		if f.words[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

// merge adds every hash that o holds.
func (f *filter) merge(o *filter) {
	for i, w := range o.words {
		f.words[i] |= w
	}
}

// union returns a new filter holding what a and b hold; either may be nil.
func union(a, b *filter) *filter {
	u := newFilter()
	for _, f := range []*filter{a, b} {
		if f != nil {
			u.merge(f)
		}
	}
	return u
}

// appendBytes appends the filter as filterBytes bytes, words in little-endian order.
func (f *filter) appendBytes(buf []byte) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, filterBytes)...)
	for i, w := range f.words {
		binary.LittleEndian.PutUint64(buf[start+i*8:], w)
	}
	return buf
}

// mergeBytes adds the hashes of a filter that appendBytes wrote; b is filterBytes long.
func (f *filter) mergeBytes(b []byte) {
	for i := range f.words {
		f.words[i] |= binary.LittleEndian.Uint64(b[i*8:])
	}
}
