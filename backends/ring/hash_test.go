package ring

import (
	"errors"
	"hash/fnv"
	"testing"
)

func mustHash(t testing.TB, name string) HashFunc {
	t.Helper()
	fn, err := Hash(name)
	if err != nil {
		t.Fatalf("Hash(%q): %v", name, err)
	}
	return fn
}

// TestHashKnownValues checks each hash against published check values or
// values worked out by hand from the algorithm.
func TestHashKnownValues(t *testing.T) {
	tests := []struct {
		hash string
		key  string
		want uint32
	}{
		// The low half is the CRC-16/XMODEM check value; the high half is
		// what twemproxy's unmasked 32-bit register keeps.
		{"crc16", "123456789", 0x869031c3},
		{"crc32a", "123456789", 0xcbf43926}, // CRC-32 check value
		{"crc32", "123456789", 0x4bf4},      // (0xcbf43926 >> 16) & 0x7fff
		{"one_at_a_time", "a", 0xca2e9442},
		{"one_at_a_time", "The quick brown fox jumps over the lazy dog", 0x519e91f5},
		{"md5", "", 0xd98c1dd4}, // d41d8cd9... read little-endian
		{"fnv1a_32", "", 2166136261},
		{"hsieh", "", 0},
		{"jenkins", "", 0xdeadbeef + 13},
		// C's signed char: 0xe9 is added as 0xffffffe9.
		{"one_at_a_time", "\xe9", 0x409848ff},
		// C's signed char: 0xff is xored as 0xffffffff, not 0xff.
		{"fnv1a_32", "\xff", 0xf9f3a14e},
	}
	for _, tt := range tests {
		t.Run(tt.hash+"/"+tt.key, func(t *testing.T) {
			if got := mustHash(t, tt.hash)([]byte(tt.key)); got != tt.want {
				t.Errorf("%s(%q) = %#x; want %#x", tt.hash, tt.key, got, tt.want)
			}
		})
	}
}

// TestFNVMatchesStdlibOnASCII checks the FNV variants against hash/fnv,
// which agrees with twemproxy wherever no byte is 0x80 or above.
func TestFNVMatchesStdlibOnASCII(t *testing.T) {
	keys := []string{"", "a", "foobar", "user:1234", "{tag}rest"}
	for _, key := range keys {
		std := map[string]uint32{
			"fnv1_32":  sum32(fnv.New32(), key),
			"fnv1a_32": sum32(fnv.New32a(), key),
			"fnv1_64":  uint32(sum64(fnv.New64(), key)),
			"fnv1a_64": uint32(sum64(fnv.New64a(), key)),
		}
		for name, want := range std {
			if got := mustHash(t, name)([]byte(key)); got != want {
				t.Errorf("%s(%q) = %#x; want %#x", name, key, got, want)
			}
		}
	}
}

type hash32 interface {
	Write([]byte) (int, error)
	Sum32() uint32
}

type hash64 interface {
	Write([]byte) (int, error)
	Sum64() uint64
}

func sum32(h hash32, key string) uint32 {
	h.Write([]byte(key))
	return h.Sum32()
}

func sum64(h hash64, key string) uint64 {
	h.Write([]byte(key))
	return h.Sum64()
}

// TestJenkinsLookup3Vectors checks the lookup3 core against the values in
// Bob Jenkins' lookup3.c self-test, which uses initial values 0 and 1
// where twemproxy uses 13.
func TestJenkinsLookup3Vectors(t *testing.T) {
	const key = "Four score and seven years ago"
	tests := []struct {
		initval uint32
		want    uint32
	}{
		{0, 0x17770551},
		{1, 0xcd628161},
	}
	for _, tt := range tests {
		if got := lookup3([]byte(key), tt.initval); got != tt.want {
			t.Errorf("lookup3(%q, %d) = %#x; want %#x", key, tt.initval, got, tt.want)
		}
	}
}

func TestHashUnknownName(t *testing.T) {
	_, err := Hash("sha1")
	if !errors.Is(err, ErrUnknownHash) {
		t.Errorf("Hash(%q) error = %v; want ErrUnknownHash", "sha1", err)
	}
}

func TestHashNamesMatchTwemproxy(t *testing.T) {
	names := []string{
		"one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64",
		"fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins", "xxhash",
	}
	for _, name := range names {
		if _, err := Hash(name); err != nil {
			t.Errorf("Hash(%q): %v; want a hash", name, err)
		}
	}
	if got, want := len(hashes), len(names); got != want {
		t.Errorf("%d hashes registered; want %d", got, want)
	}
}

func BenchmarkHash(b *testing.B) {
	key := []byte("user:1234567:profile")
	for name, fn := range hashes {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn(key)
			}
		})
	}
}
