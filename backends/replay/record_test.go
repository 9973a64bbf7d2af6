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

func TestDecode(t *testing.T) {
	tests := []struct {
		name         string
		data         []byte
		wantKeys     []string
		wantOverflow bool
	}{
		{"no file", nil, nil, false},
		{"header only", []byte(header), nil, false},
		{"keys", encodeKeys("a", "", "b"), []string{"a", "", "b"}, false},
		{"overflow drops the keys before it", appendRecord(encodeKeys("a"), kindOverflow, nil), nil, true},
		{"keys after an overflow", append(appendRecord(encodeKeys("a"), kindOverflow, nil),
			encodeKeys("b")[len(header):]...), []string{"b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decode(tt.data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := strs(c.keys); !slices.Equal(got, tt.wantKeys) || c.overflow != tt.wantOverflow {
				t.Errorf("decode = %q, overflow %v; want %q, %v", got, c.overflow, tt.wantKeys, tt.wantOverflow)
			}
		})
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
		"larger than possible": append(encodeKeys("a"), make([]byte, maxFileSize(3))...),
	}
}

func TestDamagedFileOpensOverflowed(t *testing.T) {
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
			checkOverflowed(t, q)
			q.Close()
			again := open(t, dir, 3)
			if again.Damage() != nil {
				t.Errorf("Damage() after reopening = %v; want nil: Open rewrote the file", again.Damage())
			}
			checkOverflowed(t, again)
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
	checkOverflowed(t, q)
}

// FuzzDecode: decode never panics, never returns more than the bytes hold,
// and reading any prefix of a file gives either a prefix of its keys or
// ErrCorrupt.
func FuzzDecode(f *testing.F) {
	f.Add(encodeKeys("user:1", "user:2", ""), 12)
	f.Add(appendRecord(encodeKeys("a"), kindOverflow, nil), 3)
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
		if err != nil || full.overflow || split < 0 || split > len(data) {
			return
		}
		part, perr := decode(data[:split])
		if perr != nil {
			return
		}
		if !slices.EqualFunc(part.keys, full.keys[:min(len(part.keys), len(full.keys))], bytes.Equal) ||
			len(part.keys) > len(full.keys) || part.overflow {
			t.Fatalf("prefix of %d bytes decoded to %q; want a prefix of %q", split, part.keys, full.keys)
		}
	})
}
