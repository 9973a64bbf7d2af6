package replay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func encodeKeys(keys ...string) []byte {
	buf := []byte(header)
	for _, k := range keys {
		buf = appendRecord(buf, kindKey, []byte(k))
	}
	return buf
}

// withFilter returns a file holding a filter of keys (none if keys is nil) and then the hash
// records of more.
func withFilter(keys []string, more ...string) []byte {
	buf := []byte(header)
	if keys != nil {
		f := newFilter()
		for _, k := range keys {
			f.add(hashKey([]byte(k)))
		}
		buf = appendRecord(buf, kindFilter, f.appendBytes(nil))
	}
	for _, k := range more {
		buf = appendHash(buf, hashKey([]byte(k)))
	}
	return buf
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		wantKeys   []string
		wantFilter []string // keys the filter must hold; nil: no filter
		wantLost   bool
	}{
		{"no file", nil, nil, nil, false},
		{"header only", []byte(header), nil, nil, false},
		{"keys", encodeKeys("a", "", "b"), []string{"a", "", "b"}, nil, false},
		{"lost drops the keys before it", appendRecord(encodeKeys("a"), kindLost, nil), nil, nil, true},
		{"keys after a loss", append(appendRecord(encodeKeys("a"), kindLost, nil),
			encodeKeys("b")[len(header):]...), []string{"b"}, nil, true},
		{"filter and hashes", withFilter([]string{"a", "b"}, "c"), nil, []string{"a", "b", "c"}, false},
		{"hashes alone", withFilter(nil, "c"), nil, []string{"c"}, false},
		{"keys after a filter", append(withFilter([]string{"a"}), encodeKeys("k")[len(header):]...),
			[]string{"k"}, []string{"a"}, false},
		{"lost drops the filter", appendRecord(withFilter([]string{"a"}), kindLost, nil), nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decode(tt.data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := strs(c.keys); !slices.Equal(got, tt.wantKeys) || c.lost != tt.wantLost {
				t.Errorf("decode = %q, lost %v; want %q, %v", got, c.lost, tt.wantKeys, tt.wantLost)
			}
			checkFilter(t, c.filter, tt.wantFilter)
		})
	}
}

// checkFilter checks that f holds every key of want, and is nil if want is.
func checkFilter(t *testing.T, f *filter, want []string) {
	t.Helper()
	if (f == nil) != (want == nil) {
		t.Fatalf("filter %v; want one holding %q", f != nil, want)
	}
	for _, k := range want {
		if !f.has(hashKey([]byte(k))) {
			t.Errorf("filter does not hold %q", k)
		}
	}
}

func damaged() map[string][]byte {
	good := encodeKeys("user:1", "user:2", "user:3")
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x20
		return b
	}
	return map[string][]byte{
		"torn last record":     good[:len(good)-1],
		"torn record header":   good[:len(header)+4],
		"flipped key byte":     flip(len(good) - 1),
		"flipped length":       flip(len(header) + 4),
		"unknown record kind":  flip(len(header)),
		"foreign file":         []byte("*1\r\n$4\r\nPING\r\n"),
		"short foreign file":   []byte("x"),
		"key length over max":  append([]byte(header), kindKey, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0),
		"short filter":         appendRecord([]byte(header), kindFilter, make([]byte, filterBytes-8)),
		"long hash":            appendRecord([]byte(header), kindHash, make([]byte, hashSize+1)),
		"torn filter":          withFilter([]string{"a"})[:len(header)+recordHead+100],
		"torn hash":            withFilter(nil, "b")[:len(header)+recordHead+3],
		"larger than possible": append(encodeKeys("a"), make([]byte, maxFileSize(3))...),
	}
}

// A damaged file is the one case where what the server missed is unknown: it still costs a
// flush.
func TestDamagedFileOpensLost(t *testing.T) {
	for name, data := range damaged() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, fileName(server)), data, 0o600); err != nil {
				t.Fatal(err)
			}
			q := open(t, dir, 3)
			if !errors.Is(q.Damage(), ErrCorrupt) {
				t.Errorf("Damage() = %v; want ErrCorrupt", q.Damage())
			}
			checkLost(t, q)
			q.Close()
			again := open(t, dir, 3)
			if again.Damage() != nil {
				t.Errorf("Damage() after reopening = %v; want nil: Open rewrote the file", again.Damage())
			}
			checkLost(t, again)
		})
	}
}

func TestLowerLimitOnReopenOverflows(t *testing.T) {
	dir := t.TempDir()
	first := open(t, dir, 10)
	add(t, first, "a", "b", "c")
	first.Sync()
	q := open(t, dir, 2)
	if q.Damage() != nil {
		t.Errorf("Damage() = %v; want nil", q.Damage())
	}
	checkOverflowed(t, q, "a", "b", "c")
}

// FuzzDecode: decode never panics, never returns more than the bytes hold,
// and reading any prefix of a file gives either a prefix of its keys or
// ErrCorrupt.
func FuzzDecode(f *testing.F) {
	f.Add(encodeKeys("user:1", "user:2", ""), 12)
	f.Add(appendRecord(encodeKeys("a"), kindLost, nil), 3)
	f.Add(append(withFilter(nil, "a", "b"), encodeKeys("c")[len(header):]...), 30)
	f.Add([]byte(header), 0)
	for _, data := range damaged() {
		if len(data) < 1<<10 {
			f.Add(data, len(data)/2)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		full, err := decode(data)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decode error %v does not wrap ErrCorrupt", err)
		}
		if len(full.keys)*recordHead > len(data) {
			t.Fatalf("decode found %d keys in %d bytes", len(full.keys), len(data))
		}
		if err != nil || full.lost || split < 0 || split > len(data) {
			return
		}
		part, perr := decode(data[:split])
		if perr != nil {
			return
		}
		if !slices.EqualFunc(part.keys, full.keys[:min(len(part.keys), len(full.keys))], bytes.Equal) ||
			len(part.keys) > len(full.keys) || part.lost {
			t.Fatalf("prefix of %d bytes decoded to %q; want a prefix of %q", split, part.keys, full.keys)
		}
	})
}
