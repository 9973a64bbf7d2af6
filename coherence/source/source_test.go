package source

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustSet(t testing.TB, sources ...Source) *Set {
	t.Helper()
	s, err := NewSet(sources)
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return s
}

func src(pattern string, params ...string) Source {
	return Source{Pattern: pattern, Database: "main", Query: "SELECT 1", Params: params}
}

func TestMatch(t *testing.T) {
	set := mustSet(t,
		src("user:{id}"),
		src("{tenant}:order:{id}"),
		src("{tenant}:order:{id}:lines", "id", "tenant"),
		src("session-{a}-{b}"),
		src("{{tag}}:{id}"),
		src("config"),
		src("blob:{name}.json"),
	)
	tests := []struct {
		key     string
		pattern string // "" for no match
		params  []any
	}{
		{"user:42", "user:{id}", []any{"42"}},
		{"user:", "", nil},
		{"user:1:name", "", nil},
		{"users:1", "", nil},
		{"acme:order:7", "{tenant}:order:{id}", []any{"acme", "7"}},
		{"acme:order:7:lines", "{tenant}:order:{id}:lines", []any{"7", "acme"}},
		{"a:b:order:7", "", nil},
		{":order:7", "", nil},
		{"session-x-y-z", "session-{a}-{b}", []any{"x", "y-z"}},
		{"session--y", "", nil},
		{"{tag}:9", "{{tag}}:{id}", []any{"9"}},
		{"config", "config", []any{}},
		{"config2", "", nil},
		{"blob:a.b.json", "blob:{name}.json", []any{"a.b"}},
		{"blob:.json", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, params, ok := set.Match([]byte(tt.key))
			if covers := set.Covers([]byte(tt.key)); covers != ok {
				t.Errorf("Covers(%q) = %v; want %v as Match says", tt.key, covers, ok)
			}
			if tt.pattern == "" {
				if ok {
					t.Fatalf("Match(%q) = %q %v; want no match", tt.key, got.Pattern, params)
				}
				return
			}
			if !ok || got.Pattern != tt.pattern {
				t.Fatalf("Match(%q) = %v, %v; want %q", tt.key, got, ok, tt.pattern)
			}
			if !slices.Equal(params, tt.params) {
				t.Errorf("Match(%q) params = %v; want %v", tt.key, params, tt.params)
			}
		})
	}
}

// TestMatchLongestPrefixWins: "user:vip:{id}" is more specific than "user:{id}" whatever the
// configuration order, and equal prefixes go by configuration order.
func TestMatchLongestPrefixWins(t *testing.T) {
	tests := []struct {
		name    string
		sources []Source
		key     string
		want    string
	}{
		{"specific last", []Source{src("{x}:{id}"), src("user:{id}"), src("user:vip:{id}")}, "user:vip:1", "user:vip:{id}"},
		{"specific first", []Source{src("user:vip:{id}"), src("user:{id}")}, "user:vip:1", "user:vip:{id}"},
		{"falls back", []Source{src("user:vip:{id}"), src("user:{id}")}, "user:1", "user:{id}"},
		{"no prefix last", []Source{src("{x}:{id}"), src("user:{id}")}, "user:1", "user:{id}"},
		{"same prefix in order", []Source{src("k:{a}:x"), src("k:{a}")}, "k:1", "k:{a}"},
		{"colon after part first", []Source{src("{a}.x:{b}"), src("{t}:{id}")}, "q.x:1", "{t}:{id}"},
		{"longer literal after part first", []Source{src("{t}:{id}"), src("{t}:v:{id}")}, "q:v:1", "{t}:v:{id}"},
		{"others in order", []Source{src("{a}.{b}"), src("{a}.x")}, "q.x", "{a}.{b}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, ok := mustSet(t, tt.sources...).Match([]byte(tt.key))
			if !ok || got.Pattern != tt.want {
				t.Errorf("Match(%q) = %v, %v; want %q", tt.key, got, ok, tt.want)
			}
		})
	}
}

func TestNewSetRejects(t *testing.T) {
	tests := []struct {
		name string
		src  Source
		want string
	}{
		{"empty pattern", Source{Database: "d", Query: "q"}, "pattern is empty"},
		{"unclosed part", src("user:{id"), "unmatched '{'"},
		{"stray brace", src("user}:{id}"), "unmatched '}'"},
		{"bad name", src("user:{i d}"), "not letters"},
		{"empty name", src("user:{}"), "not letters"},
		{"adjacent parts", src("{a}{b}"), "no text between"},
		{"twice", src("{a}:{a}"), "appears twice"},
		{"too many", src(strings.Repeat("{p}-", 9)), "more than 8"},
		{"unknown param", src("user:{id}", "uid"), `param "uid"`},
		{"no database", Source{Pattern: "a:{b}", Query: "q"}, "database is empty"},
		{"no query", Source{Pattern: "a:{b}", Database: "d"}, "query is empty"},
		{"negative ttl", Source{Pattern: "a:{b}", Database: "d", Query: "q", TTL: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSet([]Source{src("ok:{id}"), tt.src})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewSet error = %v; want ErrInvalid mentioning %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "sources[1]") {
				t.Errorf("error %q does not name sources[1]", err)
			}
		})
	}
}

func TestNewSetReportsEveryProblem(t *testing.T) {
	_, err := NewSet([]Source{src("a:{x"), {Pattern: "b:{y}"}, src("a:{x")})
	for _, want := range []string{"sources[0]", "sources[1]", "database is empty", "query is empty", "sources[2]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v; want it to mention %q", err, want)
		}
	}
}

func TestNewSetRejectsDuplicatePattern(t *testing.T) {
	_, err := NewSet([]Source{src("a:{x}"), src("a:{x}")})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("got %v; want a duplicate-pattern error", err)
	}
}

func TestForPool(t *testing.T) {
	a := src("a:{x}")
	a.Pools = []string{"redis"}
	b := src("b:{x}")
	set := mustSet(t, a, b)
	tests := []struct {
		pool, key string
		want      bool
	}{
		{"redis", "a:1", true},
		{"redis", "b:1", true},
		{"mc", "a:1", false},
		{"mc", "b:1", true},
	}
	for _, tt := range tests {
		t.Run(tt.pool+"/"+tt.key, func(t *testing.T) {
			if _, _, got := set.ForPool(tt.pool).Match([]byte(tt.key)); got != tt.want {
				t.Errorf("ForPool(%q).Match(%q) = %v; want %v", tt.pool, tt.key, got, tt.want)
			}
		})
	}
}

// TestNewSetCopiesSources: changing the caller's slice later does not change the set.
func TestNewSetCopiesSources(t *testing.T) {
	sources := []Source{src("a:{x}")}
	set := mustSet(t, sources...)
	sources[0].Query = "changed"
	got, _, _ := set.Match([]byte("a:1"))
	if got.Query != "SELECT 1" {
		t.Errorf("got query %q; want %q", got.Query, "SELECT 1")
	}
}

func manySources(n int) []Source {
	var out []Source
	for i := range n {
		out = append(out, src(fmt.Sprintf("entity%d:{id}", i)), src(fmt.Sprintf("{tenant}:kind%d:{id}", i)))
	}
	return out
}

func TestMatchMissDoesNotAllocate(t *testing.T) {
	set := mustSet(t, manySources(20)...)
	keys := [][]byte{[]byte("session:abcdef"), []byte("entity3"), []byte("x:kind3"), []byte("entity3:1:2")}
	for _, key := range keys {
		if allocs := testing.AllocsPerRun(100, func() { set.Match(key) }); allocs != 0 {
			t.Errorf("Match(%q) allocates %v times; want 0", key, allocs)
		}
	}
	hit := []byte("acme:kind3:1")
	if allocs := testing.AllocsPerRun(100, func() { set.Covers(hit) }); allocs != 0 {
		t.Errorf("Covers(%q) allocates %v times; want 0", hit, allocs)
	}
}

func BenchmarkMatchMiss(b *testing.B) {
	set, _ := NewSet(manySources(20))
	key := []byte("session:8f14e45fceea167a5a36dedd4bea2543")
	b.ReportAllocs()
	for b.Loop() {
		set.Match(key)
	}
}

func BenchmarkMatchHit(b *testing.B) {
	set, _ := NewSet(manySources(20))
	key := []byte("acme:kind7:12345")
	b.ReportAllocs()
	for b.Loop() {
		set.Match(key)
	}
}

// FuzzMatch checks that a match's parameters put back into the pattern give the key.
func FuzzMatch(f *testing.F) {
	for _, seed := range []string{"user:1", "acme:order:7:lines", "session-x-y-z", "{tag}:9", "blob:a.json", ""} {
		f.Add(seed)
	}
	set, _ := NewSet([]Source{src("user:{id}"), src("{tenant}:order:{id}:lines"), src("session-{a}-{b}"),
		src("{{tag}}:{id}"), src("blob:{name}.json")})
	f.Fuzz(func(t *testing.T, key string) {
		got, params, ok := set.Match([]byte(key))
		if !ok {
			return
		}
		if rebuilt := fill(t, got.Pattern, params); rebuilt != key {
			t.Fatalf("pattern %q with %v = %q; want %q", got.Pattern, params, rebuilt, key)
		}
	})
}

// fill substitutes params, in pattern order, for the parts of pattern.
func fill(t *testing.T, pattern string, params []any) string {
	p, err := parsePattern(pattern)
	if err != nil {
		t.Fatal(err)
	}
	out := string(p.prefix)
	for i := range p.parts {
		part := params[i].(string)
		if part == "" || strings.Contains(part, ":") {
			t.Fatalf("part %d = %q; want non-empty and no ':'", i, part)
		}
		out += part + string(p.lits[i])
	}
	return out
}
