package ring

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// atoiHash hashes a decimal key to its value, so positions are easy to
// work out by hand (groupcache's consistenthash tests do the same).
func atoiHash(key []byte) uint32 {
	n, err := strconv.ParseUint(string(key), 10, 32)
	if err != nil {
		panic(fmt.Sprintf("atoiHash(%q): %v", key, err))
	}
	return uint32(n)
}

func mustNew(t testing.TB, dist string, servers []Server, hash HashFunc) *Ring {
	t.Helper()
	r, err := New(dist, servers, hash)
	if err != nil {
		t.Fatalf("New(%q): %v", dist, err)
	}
	return r
}

func named(weights ...int) []Server {
	servers := make([]Server, len(weights))
	for i, w := range weights {
		servers[i] = Server{Name: fmt.Sprintf("s%d", i+1), Weight: w}
	}
	return servers
}

func key(i int) []byte {
	return []byte("key:" + strconv.Itoa(i))
}

// TestModulaByHand: weights 1,2,1 give slots a,b,b,c, and a key takes slot
// hash % 4.
func TestModulaByHand(t *testing.T) {
	r := mustNew(t, "modula", named(1, 2, 1), atoiHash)
	tests := []struct {
		key    string
		owners []int
	}{
		{"0", []int{0, 1, 2}},
		{"1", []int{1, 2, 0}},
		{"2", []int{1, 2, 0}},
		{"3", []int{2, 0, 1}},
		{"4", []int{0, 1, 2}},
		{"4294967295", []int{2, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got, want := r.Owner([]byte(tt.key)), tt.owners[0]; got != want {
				t.Errorf("Owner(%q) = %d; want %d", tt.key, got, want)
			}
			if got := r.Owners([]byte(tt.key), 3, nil); !slices.Equal(got, tt.owners) {
				t.Errorf("Owners(%q, 3) = %v; want %v", tt.key, got, tt.owners)
			}
		})
	}
}

// TestKetamaByHand places keys exactly on, just after and beyond the
// continuum's points: a key belongs to the first point at or after its
// hash, and hashes past the last point wrap to the first.
func TestKetamaByHand(t *testing.T) {
	r := mustNew(t, "ketama", named(1, 1, 1), atoiHash)
	at := func(h uint32) []byte { return []byte(strconv.FormatUint(uint64(h), 10)) }
	last := len(r.points) - 1
	tests := []struct {
		name string
		key  []byte
		want int
	}{
		{"zero", at(0), r.owners[0]},
		{"on first point", at(r.points[0]), r.owners[0]},
		{"just after first point", at(r.points[0] + 1), r.owners[1]},
		{"on a middle point", at(r.points[200]), r.owners[200]},
		{"just before a middle point", at(r.points[200] - 1), r.owners[200]},
		{"on last point", at(r.points[last]), r.owners[last]},
		{"past last point", at(r.points[last] + 1), r.owners[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Owner(tt.key); got != tt.want {
				t.Errorf("Owner(%s) = %d; want %d", tt.key, got, tt.want)
			}
		})
	}
}

// TestKetamaPointsAreMD5OfNameDashN checks the layout: server s1's points
// are the four little-endian words of md5("s1-0") ... md5("s1-39").
func TestKetamaPointsAreMD5OfNameDashN(t *testing.T) {
	r := mustNew(t, "ketama", named(1, 1, 1), atoiHash)
	var want []uint32
	for i := range 40 {
		digest := md5.Sum(fmt.Appendf(nil, "s1-%d", i))
		for w := range 4 {
			want = append(want, binary.LittleEndian.Uint32(digest[4*w:]))
		}
	}
	var got []uint32
	for p, s := range r.owners {
		if s == 0 {
			got = append(got, r.points[p])
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("points of s1 = %d values, first %v; want md5 words, first %v", len(got), got[:4], want[:4])
	}
	if !slices.IsSorted(r.points) {
		t.Errorf("continuum is not sorted")
	}
}

// TestKetamaPointCount follows twemproxy's float32 arithmetic, which gives
// 25 equal servers 156 points each rather than 160.
func TestKetamaPointCount(t *testing.T) {
	tests := []struct {
		weights []int
		want    []int
	}{
		{[]int{1}, []int{160}},
		{[]int{1, 1, 1}, []int{160, 160, 160}},
		{[]int{1, 2, 1}, []int{120, 240, 120}},
		{[]int{1, 3, 7}, []int{40, 128, 304}},
		{[]int{1, 0, 1}, []int{160, 0, 160}},
		{slices.Repeat([]int{1}, 25), slices.Repeat([]int{156}, 25)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.weights), func(t *testing.T) {
			r := mustNew(t, "ketama", named(tt.weights...), atoiHash)
			got := make([]int, len(tt.weights))
			for _, s := range r.owners {
				got[s]++
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("points per server = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestKetamaInsertionOrder: listing the servers in another order leaves
// every key on the same named server.
func TestKetamaInsertionOrder(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	servers := named(1, 2, 3, 1, 1)
	shuffled := slices.Clone(servers)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	a := mustNew(t, "ketama", servers, fnv1aFor64)
	b := mustNew(t, "ketama", shuffled, fnv1aFor64)
	for i := range 10000 {
		got, want := shuffled[b.Owner(key(i))].Name, servers[a.Owner(key(i))].Name
		if got != want {
			t.Fatalf("key %q: shuffled ring gives %s; want %s", key(i), got, want)
		}
	}
}

// TestOwnersDistinct: Owners gives distinct servers, the owner first,
// never a weight-0 server, and stops at the number of servers.
func TestOwnersDistinct(t *testing.T) {
	servers := named(1, 0, 2, 1, 1)
	const live = 4
	for _, dist := range []string{"ketama", "modula", "random"} {
		r := mustNew(t, dist, servers, fnv1aFor64)
		for _, n := range []int{0, 1, 2, 4, 7} {
			t.Run(fmt.Sprintf("%s/n=%d", dist, n), func(t *testing.T) {
				for i := range 500 {
					checkOwners(t, r, dist, key(i), n, min(n, live))
				}
			})
		}
	}
}

func checkOwners(t *testing.T, r *Ring, dist string, k []byte, n, want int) {
	t.Helper()
	got := r.Owners(k, n, []int{-1})
	if got[0] != -1 {
		t.Fatalf("Owners(%q) overwrote dst: %v", k, got)
	}
	got = got[1:]
	if len(got) != want {
		t.Fatalf("Owners(%q, %d) = %v; want %d servers", k, n, got, want)
	}
	if slices.Contains(got, 1) {
		t.Fatalf("Owners(%q, %d) = %v includes weight-0 server 1", k, n, got)
	}
	sorted := slices.Sorted(slices.Values(got))
	if len(slices.Compact(sorted)) != len(got) {
		t.Fatalf("Owners(%q, %d) = %v; want distinct servers", k, n, got)
	}
	if dist != "random" && n > 0 && got[0] != r.Owner(k) {
		t.Fatalf("Owners(%q, %d)[0] = %d; want Owner = %d", k, n, got[0], r.Owner(k))
	}
}

// TestWeightsShiftShares: a server with twice the weight gets about twice
// the keys.
func TestWeightsShiftShares(t *testing.T) {
	const keys = 40000
	want := []float64{0.25, 0.5, 0.25}
	for _, dist := range []string{"ketama", "modula"} {
		t.Run(dist, func(t *testing.T) {
			r := mustNew(t, dist, named(1, 2, 1), md5Hash)
			counts := make([]int, 3)
			for i := range keys {
				counts[r.Owner(key(i))]++
			}
			for s, c := range counts {
				if got := float64(c) / keys; got < want[s]-0.05 || got > want[s]+0.05 {
					t.Errorf("server %d got share %.3f; want %.2f ± 0.05", s, got, want[s])
				}
			}
		})
	}
}

// TestRemovingServerMovesOnlyItsKeys: with equal weights, dropping a
// server from a ketama ring, or setting its weight to 0, moves only the
// keys it owned, and spreads them over the others.
func TestRemovingServerMovesOnlyItsKeys(t *testing.T) {
	all := named(1, 1, 1, 1, 1)
	without := slices.Delete(slices.Clone(all), 2, 3)
	zeroed := slices.Clone(all)
	zeroed[2].Weight = 0

	before := mustNew(t, "ketama", all, fnv1aFor64)
	after := mustNew(t, "ketama", without, fnv1aFor64)
	afterZero := mustNew(t, "ketama", zeroed, fnv1aFor64)
	movedTo := make(map[string]int)
	for i := range 20000 {
		was := all[before.Owner(key(i))].Name
		now := without[after.Owner(key(i))].Name
		if zero := zeroed[afterZero.Owner(key(i))].Name; zero != now {
			t.Fatalf("key %q: weight 0 ring gives %s; removal gives %s", key(i), zero, now)
		}
		if was == "s3" {
			movedTo[now]++
		} else if now != was {
			t.Fatalf("key %q moved from %s to %s; only s3's keys should move", key(i), was, now)
		}
	}
	if len(movedTo) < 3 {
		t.Errorf("s3's keys moved to %v; want them spread over at least 3 servers", movedTo)
	}
}

// TestEmptyKeyHashesToZero: twemproxy hashes the empty key to 0 without
// calling the hash.
func TestEmptyKeyHashesToZero(t *testing.T) {
	mustNotCall := func([]byte) uint32 { panic("hash called for the empty key") }
	tests := []struct {
		dist string
		want int
	}{
		{"ketama", -1}, // the owner of the first point
		{"modula", 0},  // slot 0
	}
	for _, tt := range tests {
		t.Run(tt.dist, func(t *testing.T) {
			r := mustNew(t, tt.dist, named(1, 1, 1), mustNotCall)
			want := tt.want
			if want < 0 {
				want = r.owners[0]
			}
			if got := r.Owner(nil); got != want {
				t.Errorf("Owner(empty) = %d; want %d", got, want)
			}
		})
	}
}

func TestRandomPicksEveryLiveServer(t *testing.T) {
	r := mustNew(t, "random", named(1, 0, 5), nil)
	counts := make([]int, 3)
	for range 1000 {
		counts[r.Owner(nil)]++
	}
	if counts[0] == 0 || counts[1] != 0 || counts[2] == 0 {
		t.Errorf("picks per server = %v; want both live servers and never server 1", counts)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		dist    string
		servers []Server
		hash    HashFunc
		want    error
	}{
		{"unknown distribution", "rendezvous", named(1), md5Hash, ErrUnknownDistribution},
		{"nil hash", "ketama", named(1), nil, ErrNoHash},
		{"no servers", "ketama", nil, md5Hash, ErrNoServers},
		{"all weights zero", "modula", named(0, 0), md5Hash, ErrNoServers},
		{"negative weight", "ketama", named(1, -1), md5Hash, ErrBadWeight},
		{"total overflows", "modula", named(1<<31, 1<<31), md5Hash, ErrBadWeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.dist, tt.servers, tt.hash); !errors.Is(err, tt.want) {
				t.Errorf("New error = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestHashTag(t *testing.T) {
	tests := []struct {
		key, tag, want string
	}{
		{"user:{42}:name", "{}", "42"},
		{"{a}{b}", "{}", "a"},
		{"{}x{y}", "{}", "{}x{y}"}, // empty first tag: whole key
		{"x{y", "{}", "x{y"},
		{"x}y{z", "{}", "x}y{z"},
		{"x{{y}", "{}", "{y"},
		{"a$b$c", "$$", "b"},
		{"user:{42}", "", "user:{42}"},
		{"user:{42}", "{", "user:{42}"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.tag, func(t *testing.T) {
			if got := HashTag([]byte(tt.key), tt.tag); string(got) != tt.want {
				t.Errorf("HashTag(%q, %q) = %q; want %q", tt.key, tt.tag, got, tt.want)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"10.0.0.1:6379", "10.0.0.1:6379"},
		{"10.0.0.1:11211", "10.0.0.1"},
		{"cache.local:11212", "cache.local:11212"},
		{"/run/redis.sock", "/run/redis.sock:"},
	}
	for _, tt := range tests {
		if got := DefaultName(tt.addr); got != tt.want {
			t.Errorf("DefaultName(%q) = %q; want %q", tt.addr, got, tt.want)
		}
	}
}

func TestOwnerAndOwnersDoNotAllocate(t *testing.T) {
	k := []byte("user:1234567:profile")
	dst := make([]int, 0, 3)
	for _, dist := range []string{"ketama", "modula", "random"} {
		r := mustNew(t, dist, named(1, 2, 1), md5Hash)
		allocs := testing.AllocsPerRun(100, func() {
			r.Owner(k)
			dst = r.Owners(k, 3, dst[:0])
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per Owner+Owners; want 0", dist, allocs)
		}
	}
}

func BenchmarkOwner(b *testing.B) {
	r := mustNew(b, "ketama", named(1, 1, 1), mustHash(b, "fnv1a_64"))
	k := []byte("user:1234567:profile")
	b.ReportAllocs()
	for b.Loop() {
		r.Owner(k)
	}
}

func BenchmarkOwners(b *testing.B) {
	r := mustNew(b, "ketama", named(1, 1, 1), mustHash(b, "fnv1a_64"))
	k := []byte("user:1234567:profile")
	dst := make([]int, 0, 2)
	b.ReportAllocs()
	for b.Loop() {
		dst = r.Owners(k, 2, dst[:0])
	}
}

// TestCopySetsHoldEveryKeysOwners: every key's owners are one of the copy sets, and each set
// is n distinct servers.
func TestCopySetsHoldEveryKeysOwners(t *testing.T) {
	for _, dist := range []string{"ketama", "modula"} {
		hash, _ := Hash("fnv1a_64")
		r := mustNew(t, dist, named(1, 2, 1, 1), hash)
		for _, n := range []int{1, 2, 3} {
			sets := map[string]bool{}
			r.CopySets(n, func(owners []int) {
				if len(owners) != n || len(slices.Compact(slices.Sorted(slices.Values(owners)))) != n {
					t.Fatalf("%s, n=%d: copy set %v; want %d distinct servers", dist, n, owners, n)
				}
				sets[fmt.Sprint(owners)] = true
			})
			for i := range 2000 {
				if owners := r.Owners(key(i), n, nil); !sets[fmt.Sprint(owners)] {
					t.Fatalf("%s, n=%d: key %d's owners %v are no copy set", dist, n, i, owners)
				}
			}
		}
	}
}
