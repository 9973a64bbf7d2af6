package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestTableIsCurrent regenerates the table from the installed redis-server
// and checks that the committed table_gen.go is byte for byte the same.
func TestTableIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "table_gen.go")
	if err := run(t.Context(), options{server: "redis-server", out: out}); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../table_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("generated table (%d bytes) differs from ../table_gen.go (%d bytes); run go generate", len(got), len(want))
	}
}

// xreadSpec is XREAD's key spec as RESP3 and RESP2 carry it.
var (
	xreadSpecRESP3 = map[any]any{
		"flags": []any{"RO", "access"},
		"begin_search": map[any]any{
			"type": "keyword",
			"spec": map[any]any{"keyword": "STREAMS", "startfrom": int64(1)},
		},
		"find_keys": map[any]any{
			"type": "range",
			"spec": map[any]any{"lastkey": int64(-1), "keystep": int64(1), "limit": int64(2)},
		},
	}
	xreadSpecRESP2 = []any{
		"flags", []any{"RO", "access"},
		"begin_search", []any{"type", "keyword", "spec", []any{"keyword", "STREAMS", "startfrom", int64(1)}},
		"find_keys", []any{"type", "range", "spec", []any{"lastkey", int64(-1), "keystep", int64(1), "limit", int64(2)}},
	}
)

func TestParseSpecBothProtocols(t *testing.T) {
	want := keySpec{
		flags: []string{"RO", "access"}, beginType: "keyword", keyword: "STREAMS", startFrom: 1,
		findType: "range", lastKey: -1, keyStep: 1, limit: 2,
	}
	for name, reply := range map[string]any{"RESP3": xreadSpecRESP3, "RESP2": xreadSpecRESP2} {
		t.Run(name, func(t *testing.T) {
			p := &parser{}
			got := p.spec(p.dict(reply))
			if p.err != nil {
				t.Fatalf("parse error = %v; want nil", p.err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("spec = %+v; want %+v", got, want)
			}
		})
	}
}

func TestParseCommandRejectsBadShapes(t *testing.T) {
	tests := map[string]any{
		"short entry":    []any{"get", int64(2)},
		"arity a string": []any{"get", "2", []any{}, int64(1), int64(1), int64(1), []any{}, []any{}, []any{}, []any{}},
		"not a list":     "get",
	}
	for name, reply := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parseCommand(reply); !errors.Is(err, errReply) {
				t.Errorf("parseCommand error = %v; want %v", err, errReply)
			}
		})
	}
}

func TestBitmask(t *testing.T) {
	got, err := bitmask([]string{"fast", "readonly"}, commandFlags)
	if err != nil || got != "ReadOnly | Fast" {
		t.Errorf("bitmask = %q, %v; want %q, nil", got, err, "ReadOnly | Fast")
	}
	if _, err := bitmask([]string{"sparkly"}, commandFlags); !errors.Is(err, errUnknownName) {
		t.Errorf("bitmask of an unknown flag: error = %v; want %v", err, errUnknownName)
	}
}
