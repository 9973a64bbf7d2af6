package ring

import (
	"encoding/binary"
	"math/bits"
)

// This file holds the older hashes twemproxy took from libmemcached's
// hashkit. Each is written from the algorithm's description and checked
// against nutcracker itself (ring_nutcracker_test.go).

// crc16Table is the table of the CRC-16 with polynomial 0x1021, most
// significant bit first (CRC-16/XMODEM, the CRC Redis Cluster uses).
var crc16Table = makeCRC16Table(0x1021)

func makeCRC16Table(poly uint16) *[256]uint16 {
	var table [256]uint16
	for i := range table {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ poly
			} else {
				crc <<= 1
			}
		}
		table[i] = crc
	}
	return &table
}

// crc16 is twemproxy 0.5.0's crc16: CRC-16/XMODEM kept in a 32-bit
// register that is never masked, so the bits shifted past 16 stay in the
// result. Its low 16 bits are the standard CRC.
func crc16(key []byte) uint32 {
	var crc uint32
	for _, b := range key {
		crc = crc<<8 ^ uint32(crc16Table[byte(crc>>8)^b])
	}
	return crc
}

// hsieh is Paul Hsieh's SuperFastHash as twemproxy has it: 16-bit reads
// are little-endian, and the odd third byte of a 3-byte tail is widened
// as a signed char.
func hsieh(key []byte) uint32 {
	if len(key) == 0 {
		return 0
	}
	h := uint32(0)
	for ; len(key) >= 4; key = key[4:] {
		h += le16(key)
		tmp := le16(key[2:])<<11 ^ h
		h = h<<16 ^ tmp
		h += h >> 11
	}
	h = hsiehTail(h, key)
	return hsiehAvalanche(h)
}

func hsiehTail(h uint32, tail []byte) uint32 {
	switch len(tail) {
	case 3:
		h += le16(tail)
		h ^= h << 16
		h ^= signed(tail[2]) << 18
		h += h >> 11
	case 2:
		h += le16(tail)
		h ^= h << 11
		h += h >> 17
	case 1:
		h += uint32(tail[0])
		h ^= h << 10
		h += h >> 1
	}
	return h
}

func hsiehAvalanche(h uint32) uint32 {
	h ^= h << 3
	h += h >> 5
	h ^= h << 4
	h += h >> 17
	h ^= h << 25
	h += h >> 6
	return h
}

func le16(b []byte) uint32 {
	return uint32(binary.LittleEndian.Uint16(b))
}

// murmur is MurmurHash2 seeded, as in libmemcached, with 0xdeadbeef times
// the key length.
func murmur(key []byte) uint32 {
	const m = 0x5bd1e995
	n := uint32(len(key))
	h := 0xdeadbeef*n ^ n
	for ; len(key) >= 4; key = key[4:] {
		k := binary.LittleEndian.Uint32(key)
		k *= m
		k ^= k >> 24
		k *= m
		h = h*m ^ k
	}
	switch len(key) {
	case 3:
		h ^= uint32(key[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(key[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(key[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// jenkins is Bob Jenkins' lookup3 little-endian hash with initial value 13.
func jenkins(key []byte) uint32 {
	return lookup3(key, 13)
}

// lookup3 is hashlittle from Bob Jenkins' lookup3.c, read a byte at a time
// (its word-at-a-time paths, which twemproxy also has, give the same result
// on little-endian machines).
func lookup3(key []byte, initval uint32) uint32 {
	a := 0xdeadbeef + uint32(len(key)) + initval
	b, c := a, a
	if len(key) == 0 {
		return c
	}
	for ; len(key) > 12; key = key[12:] {
		a += binary.LittleEndian.Uint32(key)
		b += binary.LittleEndian.Uint32(key[4:])
		c += binary.LittleEndian.Uint32(key[8:])
		a, b, c = jenkinsMix(a, b, c)
	}
	var last [12]byte
	copy(last[:], key)
	a += binary.LittleEndian.Uint32(last[:])
	b += binary.LittleEndian.Uint32(last[4:])
	c += binary.LittleEndian.Uint32(last[8:])
	return jenkinsFinal(a, b, c)
}

func jenkinsMix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

func jenkinsFinal(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}
