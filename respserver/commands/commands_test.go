package commands

import (
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		line string
		want string // "" for nil
	}{
		{"get", "get"},
		{"GET", "get"},
		{"GeT k", "get"},
		{"mget a b", "mget"},
		{"object ENCODING k", "object|encoding"},
		{"OBJECT encoding k", "object|encoding"},
		{"xinfo Stream s", "xinfo|stream"},
		{"MEMORY usage k", "memory|usage"},
		{"client setname n", "client|setname"},
		{"CONFIG GET maxmemory", "config|get"},
		{"object", "object"},
		{"object nosuch k", ""},
		{"nosuch", ""},
		{strings.Repeat("g", maxNameLen+1), ""},
		{"object " + strings.Repeat("e", maxNameLen+1), ""},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			c := Lookup(split(tc.line))
			got := ""
			if c != nil {
				got = c.Name
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %q; want %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestLookupEmpty(t *testing.T) {
	if c := Lookup(nil); c != nil {
		t.Errorf("Lookup(nil) = %q; want nil", c.Name)
	}
}

func TestArityOK(t *testing.T) {
	tests := []struct {
		name  string
		nargs int
		want  bool
	}{
		{"get", 1, false},
		{"get", 2, true},
		{"get", 3, false},
		{"mget", 1, false},
		{"mget", 2, true},
		{"mget", 9, true},
		{"ping", 1, true},
		{"ping", 2, true},
	}
	for _, tc := range tests {
		c := Lookup(split(tc.name))
		if got := c.ArityOK(tc.nargs); got != tc.want {
			t.Errorf("%s (arity %d) ArityOK(%d) = %v; want %v", tc.name, c.Arity, tc.nargs, got, tc.want)
		}
	}
}

func TestEntries(t *testing.T) {
	tests := []struct {
		line  string
		flags Flag
		cats  Category
		specs int
	}{
		{"get", ReadOnly | Fast, CatRead | CatString | CatFast, 1},
		{"set", Write | DenyOOM, CatWrite | CatString, 1},
		{"blpop", Write | NoScript | Blocking, CatList | CatBlocking, 1},
		{"flushall", Write, CatKeyspace | CatDangerous, 0},
		{"eval", NoScript | NoMandatoryKeys | MovableKeys, CatScripting, 1},
		{"subscribe", PubSub | NoScript, CatPubSub, 0},
		{"exec", NoScript | SkipSlowlog, CatTransaction, 0},
		{"sort", Write | DenyOOM | MovableKeys, CatDangerous, 3},
		{"object encoding", ReadOnly, CatKeyspace | CatRead, 1},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			c := Lookup(split(tc.line))
			if !c.Flags.Has(tc.flags) {
				t.Errorf("Flags = %b; want at least %b", c.Flags, tc.flags)
			}
			if !c.Categories.Has(tc.cats) {
				t.Errorf("Categories = %b; want at least %b", c.Categories, tc.cats)
			}
			if len(c.Specs) != tc.specs {
				t.Errorf("len(Specs) = %d; want %d", len(c.Specs), tc.specs)
			}
		})
	}
}

func TestKeySpecFields(t *testing.T) {
	xread := Lookup(split("xread")).Specs[0]
	want := KeySpec{
		Flags:       KeyRO | KeyAccess,
		BeginSearch: BeginSearch{Kind: SearchKeyword, Keyword: "STREAMS", StartFrom: 1},
		FindKeys:    FindKeys{Kind: FindRange, LastKey: -1, KeyStep: 1, Limit: 2},
	}
	if xread != want {
		t.Errorf("xread spec = %+v; want %+v", xread, want)
	}
	zunion := Lookup(split("zunionstore")).Specs[1]
	want = KeySpec{
		Flags:       KeyRO | KeyAccess,
		BeginSearch: BeginSearch{Kind: SearchIndex, Index: 2},
		FindKeys:    FindKeys{Kind: FindKeyNum, KeyNumIdx: 0, FirstKey: 1, KeyStep: 1},
	}
	if zunion != want {
		t.Errorf("zunionstore spec = %+v; want %+v", zunion, want)
	}
	if got := Lookup(split("migrate")).Specs[1].Flags; !got.Has(KeyIncomplete) {
		t.Errorf("migrate KEYS spec flags = %b; want incomplete", got)
	}
}

func TestAll(t *testing.T) {
	all := All()
	if len(all) != Count() {
		t.Fatalf("len(All()) = %d; want Count() = %d", len(all), Count())
	}
	if Count() < 200 {
		t.Errorf("Count() = %d; want the 200+ commands of Redis 7", Count())
	}
	less := func(a, b *Command) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(all, less) {
		t.Error("All() is not sorted by name")
	}
	for _, c := range all {
		if strings.Contains(c.Name, "|") {
			t.Errorf("All() holds subcommand %q; want top-level commands only", c.Name)
		}
	}
	all[0] = nil
	if All()[0] == nil {
		t.Error("All() shares its slice with callers")
	}
}

func TestSubcommandNames(t *testing.T) {
	for _, c := range All() {
		for key, sub := range c.Subcommands {
			if want := c.Name + "|" + key; sub.Name != want {
				t.Errorf("%s.Subcommands[%q].Name = %q; want %q", c.Name, key, sub.Name, want)
			}
		}
	}
}

// hotLines are the commands the proxy sees most; routing them must not
// allocate.
var hotLines = []string{"SET k v", "MGET a b c", "OBJECT ENCODING k"}

func TestLookupKeysNoAlloc(t *testing.T) {
	for _, line := range hotLines {
		args := split(line)
		dst := make([]int, 0, 8)
		allocs := testing.AllocsPerRun(100, func() {
			dst, _ = Lookup(args).Keys(args, dst[:0])
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per Lookup+Keys; want 0", line, allocs)
		}
	}
}

func BenchmarkLookupKeys(b *testing.B) {
	for _, line := range hotLines {
		b.Run(line, func(b *testing.B) {
			args := split(line)
			dst := make([]int, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				dst, err = Lookup(args).Keys(args, dst[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
