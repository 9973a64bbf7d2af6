package ring

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/cespare/xxhash/v2"
)

// ErrUnknownHash is returned by Hash for a name it does not know.
var ErrUnknownHash = errors.New("ring: unknown hash")

// HashFunc maps a key to a point on the 32-bit continuum.
type HashFunc func(key []byte) uint32

// hashes lists the key hashes by the names twemproxy's "hash:" setting
// accepts, plus "xxhash", which is ours.
var hashes = map[string]HashFunc{
	"one_at_a_time": oneAtATime,
	"md5":           md5Hash,
	"crc16":         crc16,
	"crc32":         crc32Memcached,
	"crc32a":        crc32.ChecksumIEEE,
	"fnv1_64":       fnv1For64,
	"fnv1a_64":      fnv1aFor64,
	"fnv1_32":       fnv1For32,
	"fnv1a_32":      fnv1aFor32,
	"hsieh":         hsieh,
	"murmur":        murmur,
	"jenkins":       jenkins,
	"xxhash":        xxhash32,
}

// Hash returns the key hash called name: one of twemproxy's (one_at_a_time,
// md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh,
// murmur, jenkins), each giving the same value as nutcracker 0.5.0 on
// x86-64, including where its C code sign-extends bytes of 0x80 and above;
// or "xxhash", ours, the low 32 bits of XXH64.
func Hash(name string) (HashFunc, error) {
	fn, ok := hashes[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownHash, name)
	}
	return fn, nil
}

// signed widens b the way C widens a plain (signed on x86) char, which
// twemproxy's one_at_a_time, fnv and hsieh hashes rely on.
func signed(b byte) uint32 {
	return uint32(int32(int8(b)))
}

func oneAtATime(key []byte) uint32 {
	var h uint32
	for _, b := range key {
		h += signed(b)
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}

// md5Hash is the first four bytes of the key's MD5 digest, little-endian.
func md5Hash(key []byte) uint32 {
	digest := md5.Sum(key)
	return binary.LittleEndian.Uint32(digest[:])
}

// crc32Memcached is libmemcached's "crc32": 15 bits of the IEEE CRC-32.
func crc32Memcached(key []byte) uint32 {
	return (crc32.ChecksumIEEE(key) >> 16) & 0x7fff
}

// fnv64Offset and fnv64Prime are the 64-bit FNV parameters. twemproxy
// keeps only the low 32 bits of the result, which depend only on the low
// 32 bits of each operand, so 32-bit arithmetic gives the same answer.
const (
	fnv64Offset = 0xcbf29ce484222325
	fnv64Prime  = 0x100000001b3
	fnv32Offset = 2166136261
	fnv32Prime  = 16777619
)

func fnv1For64(key []byte) uint32 {
	return fnv1(key, uint32(fnv64Offset&0xffffffff), uint32(fnv64Prime&0xffffffff))
}

func fnv1aFor64(key []byte) uint32 {
	return fnv1a(key, uint32(fnv64Offset&0xffffffff), uint32(fnv64Prime&0xffffffff))
}

func fnv1For32(key []byte) uint32 {
	return fnv1(key, fnv32Offset, fnv32Prime)
}

func fnv1aFor32(key []byte) uint32 {
	return fnv1a(key, fnv32Offset, fnv32Prime)
}

func fnv1(key []byte, h, prime uint32) uint32 {
	for _, b := range key {
		h *= prime
		h ^= signed(b)
	}
	return h
}

func fnv1a(key []byte, h, prime uint32) uint32 {
	for _, b := range key {
		h ^= signed(b)
		h *= prime
	}
	return h
}

func xxhash32(key []byte) uint32 {
	return uint32(xxhash.Sum64(key))
}
