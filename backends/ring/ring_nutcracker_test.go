package ring

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

const keysPerCase = 10000

// twemproxyHashes lists every hash twemproxy knows; modulaHashes the ones
// also run under modula (the distribution's logic does not depend on the
// hash, and each case costs nutcracker 10,000 SETs).
var (
	twemproxyHashes = []string{
		"one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64",
		"fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins",
	}
	modulaHashes = []string{
		"one_at_a_time", "md5", "crc32a", "fnv1a_64", "fnv1_32", "hsieh", "murmur", "jenkins",
	}
)

// poolCase is one nutcracker pool and the Ring that should agree with it.
type poolCase struct {
	name    string
	dist    string
	hash    string
	servers []string // backend addresses, in config order
	weights []int    // one per server; nil means weight 1 each
	named   bool     // the config names the servers s1, s2, ...
	hashTag string
	// deadLast makes the last server a closed port: nutcracker ejects it
	// after one failure, and the Ring gives it weight 0.
	deadLast bool
	memcache bool
	id       int    // the pool's number in the config
	db       int    // the redis database the pool uses, unique per pool
	listen   string // where nutcracker serves the pool
}

// TestRingMatchesNutcracker is the proof of compatibility: for each pool
// case it stores 10,000 keys through a real nutcracker (twemproxy 0.5.0)
// over real redis-server and memcached processes, asks each server which
// keys it holds, and checks that Ring.Owner names that server for every key.
func TestRingMatchesNutcracker(t *testing.T) {
	redisAddrs, redisSockets := startRedisServers(t, 25, 64)
	memcachedAddrs := freeLoopbacks(t, 3)
	memcachedOn11211 := freeOnPort(t, 3, 11211)
	startMemcacheds(t, append(memcachedAddrs, memcachedOn11211...))
	cases := nutcrackerCases(t, redisAddrs, redisSockets[:3], memcachedAddrs, memcachedOn11211)
	var config strings.Builder
	var listens []string
	for i := range cases {
		cases[i].id = i
		cases[i].db = i + 1
		if cases[i].overUnixSockets() {
			// nutcracker 0.5.0 sends no SELECT to unix socket servers.
			cases[i].db = 0
		}
		cases[i].listen = loopback(freePort(t))
		cases[i].writeConfig(&config)
		listens = append(listens, cases[i].listen)
	}
	startNutcracker(t, config.String(), listens)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.check(t)
		})
	}
}

func nutcrackerCases(t *testing.T, redisAddrs, redisSockets, memcachedAddrs, memcachedOn11211 []string) []poolCase {
	three := redisAddrs[:3]
	var cases []poolCase
	for _, hash := range twemproxyHashes {
		cases = append(cases, poolCase{name: "ketama/" + hash + "/named", dist: "ketama", hash: hash, servers: three, named: true})
	}
	for _, hash := range modulaHashes {
		cases = append(cases, poolCase{name: "modula/" + hash + "/named", dist: "modula", hash: hash, servers: three, named: true})
	}
	dead := append(three[:3:3], loopback(freePort(t)))
	return append(cases,
		poolCase{name: "ketama/fnv1a_64/unnamed", dist: "ketama", hash: "fnv1a_64", servers: three},
		poolCase{name: "ketama/md5/unix_sockets/unnamed", dist: "ketama", hash: "md5", servers: redisSockets},
		poolCase{name: "ketama/md5/weights_1_2_1/unnamed", dist: "ketama", hash: "md5", servers: three, weights: []int{1, 2, 1}},
		poolCase{name: "ketama/hsieh/weights_1_3_7", dist: "ketama", hash: "hsieh", servers: three, weights: []int{1, 3, 7}, named: true},
		poolCase{name: "modula/fnv1a_64/weights_1_2_1", dist: "modula", hash: "fnv1a_64", servers: three, weights: []int{1, 2, 1}, named: true},
		poolCase{name: "ketama/fnv1a_64/hash_tag", dist: "ketama", hash: "fnv1a_64", servers: three, named: true, hashTag: "{}"},
		// 25 equal servers get 156 points each from twemproxy's float32
		// arithmetic, not 160.
		poolCase{name: "ketama/fnv1a_64/25_servers", dist: "ketama", hash: "fnv1a_64", servers: redisAddrs, named: true},
		poolCase{name: "ketama/fnv1a_64/ejected_is_weight_0", dist: "ketama", hash: "fnv1a_64", servers: dead, weights: []int{1, 2, 1, 1}, named: true, deadLast: true},
		poolCase{name: "modula/murmur/ejected_is_weight_0", dist: "modula", hash: "murmur", servers: dead, weights: []int{1, 2, 1, 1}, named: true, deadLast: true},
		poolCase{name: "memcache/ketama/md5/unnamed", dist: "ketama", hash: "md5", servers: memcachedAddrs, memcache: true},
		// Unnamed servers on port 11211 are hashed by host alone.
		poolCase{name: "memcache/ketama/md5/port_11211/unnamed", dist: "ketama", hash: "md5", servers: memcachedOn11211, memcache: true},
	)
}

// ringServers is the Ring's view of the pool.
func (c poolCase) ringServers() []Server {
	servers := make([]Server, len(c.servers))
	for i, addr := range c.servers {
		servers[i] = Server{Name: DefaultName(addr), Weight: c.weight(i)}
		if c.named {
			servers[i].Name = "s" + strconv.Itoa(i+1)
		}
		if c.deadLast && i == len(c.servers)-1 {
			servers[i].Weight = 0
		}
	}
	return servers
}

func (c poolCase) overUnixSockets() bool {
	return strings.HasPrefix(c.servers[0], "/")
}

// liveServers is the addresses of the servers that really run.
func (c poolCase) liveServers() []string {
	if c.deadLast {
		return c.servers[:len(c.servers)-1]
	}
	return c.servers
}

func (c poolCase) weight(i int) int {
	if c.weights == nil {
		return 1
	}
	return c.weights[i]
}

func (c poolCase) writeConfig(b *strings.Builder) {
	fmt.Fprintf(b, "pool_%d:\n  listen: %s\n  hash: %s\n  distribution: %s\n", c.id, c.listen, c.hash, c.dist)
	fmt.Fprintf(b, "  redis: %t\n", !c.memcache)
	if !c.memcache {
		fmt.Fprintf(b, "  redis_db: %d\n", c.db)
	}
	if c.hashTag != "" {
		fmt.Fprintf(b, "  hash_tag: %q\n", c.hashTag)
	}
	if c.deadLast {
		b.WriteString("  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 600000\n")
	}
	b.WriteString("  servers:\n")
	for i, addr := range c.servers {
		fmt.Fprintf(b, "   - %s:%d", addr, c.weight(i))
		if c.named {
			fmt.Fprintf(b, " s%d", i+1)
		}
		b.WriteString("\n")
	}
}

func (c poolCase) check(t *testing.T) {
	keys := c.keys()
	var held map[string]int
	if c.memcache {
		storeMemcache(t, c.listen, keys)
		held = memcacheHoldings(t, c.servers, keys)
	} else {
		c.storeRedis(t, keys)
		held = redisHoldings(t, c.liveServers(), c.db)
	}
	r := mustNew(t, c.dist, c.ringServers(), mustHash(t, c.hash))
	c.compare(t, r, keys, held)
}

// keys returns the keys the case stores: tagged keys for a hash tag pool,
// otherwise keys from 1 to about 45 bytes long, so every hash's tail
// handling runs, and for redis a third of them with bytes of 0x80 and
// above, which twemproxy's C code widens as signed chars.
func (c poolCase) keys() []string {
	keys := make([]string, keysPerCase)
	for i := range keys {
		switch {
		case c.hashTag != "":
			keys[i] = taggedKey(i)
		case c.memcache || i%3 != 0:
			keys[i] = plainKey(i)
		default:
			keys[i] = plainKey(i) + "\x80\xe9\xff"[:1+i/3%3]
		}
	}
	return keys
}

func plainKey(i int) string {
	n := strconv.Itoa(i)
	switch i % 10 {
	case 3:
		return n
	case 7:
		return "long:" + strings.Repeat(n+"-", 1+i%9)
	default:
		return "key:" + n + ":" + strings.Repeat("x", i%13)
	}
}

func taggedKey(i int) string {
	n := strconv.Itoa(i)
	switch i % 10 {
	case 0:
		return "{}:" + n // an empty tag: the whole key is hashed
	case 1:
		return "untagged:" + n
	default:
		return "user:{" + strconv.Itoa(i%101) + "}:" + n
	}
}

// storeRedis sets every key through nutcracker. With a dead server, the
// first pass gets that server ejected; its keys are then wiped and the
// keys stored again, so every key sits where the post-ejection ring puts it.
func (c poolCase) storeRedis(t *testing.T, keys []string) {
	failed := storeRedis(t, c.listen, keys)
	if !c.deadLast {
		if failed > 0 {
			t.Fatalf("%d of %d SETs through nutcracker failed", failed, len(keys))
		}
		return
	}
	if failed == 0 {
		t.Fatalf("no SET failed; want the dead server's keys to fail and get it ejected")
	}
	flushRedis(t, c.liveServers(), c.db)
	if failed := storeRedis(t, c.listen, keys); failed > 0 {
		t.Fatalf("%d of %d SETs failed after the dead server's ejection", failed, len(keys))
	}
}

// newRedisClient connects straight to a redis-server at a loopback address
// or a unix socket path.
func newRedisClient(addr string, db int) *redis.Client {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	return redis.NewClient(&redis.Options{Network: network, Addr: addr, DB: db, Protocol: 2, DisableIdentity: true})
}

// storeRedis sets every key through nutcracker at addr in one pipeline and
// returns how many SETs got an error reply. It speaks RESP itself because
// go-redis v9 opens every connection with HELLO, which nutcracker 0.5.0
// answers by closing the connection.
func storeRedis(t *testing.T, addr string, keys []string) (failed int) {
	const set = "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n"
	return pipeline(t, addr, keys, set, "+OK\r\n", "-")
}

// storeMemcache sets every key through nutcracker at addr in one pipeline.
func storeMemcache(t *testing.T, addr string, keys []string) {
	const set = "set %[2]s 0 0 1\r\nv\r\n"
	if failed := pipeline(t, addr, keys, set, "STORED\r\n", "SERVER_ERROR"); failed > 0 {
		t.Fatalf("%d of %d sets through nutcracker failed", failed, len(keys))
	}
}

// pipeline sends format (given each key's length and the key) for every key
// over one connection to addr while reading the replies, and returns how
// many replies began with failure rather than being ok.
func pipeline(t *testing.T, addr string, keys []string, format, ok, failure string) (failed int) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("connecting to nutcracker: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	written := make(chan error, 1)
	go func() { written <- writeAll(conn, keys, format) }()
	replies := bufio.NewReader(conn)
	for range keys {
		line, err := replies.ReadString('\n')
		switch {
		case err != nil:
			t.Fatalf("reading replies from nutcracker: %v", err)
		case strings.HasPrefix(line, failure):
			failed++
		case line != ok:
			t.Fatalf("reply from nutcracker = %q; want %q or %s...", line, ok, failure)
		}
	}
	if err := <-written; err != nil {
		t.Fatalf("writing to nutcracker: %v", err)
	}
	return failed
}

func writeAll(conn net.Conn, keys []string, format string) error {
	w := bufio.NewWriter(conn)
	for _, k := range keys {
		fmt.Fprintf(w, format, len(k), k)
	}
	return w.Flush()
}

func flushRedis(t *testing.T, addrs []string, db int) {
	for _, addr := range addrs {
		client := newRedisClient(addr, db)
		err := client.FlushDB(t.Context()).Err()
		client.Close()
		if err != nil {
			t.Fatalf("FLUSHDB on %s db %d: %v", addr, db, err)
		}
	}
}

// redisHoldings asks each server for its keys in db and returns, for each
// key, the index of the server holding it.
func redisHoldings(t *testing.T, addrs []string, db int) map[string]int {
	held := make(map[string]int)
	for i, addr := range addrs {
		client := newRedisClient(addr, db)
		keys, err := client.Keys(t.Context(), "*").Result()
		client.Close()
		if err != nil {
			t.Fatalf("KEYS on %s db %d: %v", addr, db, err)
		}
		recordHoldings(t, held, keys, i)
	}
	return held
}

func recordHoldings(t *testing.T, held map[string]int, keys []string, server int) {
	for _, k := range keys {
		if other, dup := held[k]; dup {
			t.Errorf("key %q is on servers %d and %d", k, other, server)
		}
		held[k] = server
	}
}

// memcacheHoldings asks each memcached which of keys it holds.
func memcacheHoldings(t *testing.T, addrs []string, keys []string) map[string]int {
	const batch = 500
	held := make(map[string]int)
	for i, addr := range addrs {
		client := memcache.New(addr)
		for start := 0; start < len(keys); start += batch {
			items, err := client.GetMulti(keys[start:min(start+batch, len(keys))])
			if err != nil {
				t.Fatalf("get from %s: %v", addr, err)
			}
			found := make([]string, 0, len(items))
			for k := range items {
				found = append(found, k)
			}
			recordHoldings(t, held, found, i)
		}
	}
	return held
}

// compare checks that every key is held by exactly the server Ring.Owner
// names, reporting the first few that are not.
func (c poolCase) compare(t *testing.T, r *Ring, keys []string, held map[string]int) {
	const shown = 5
	if len(held) != len(keys) {
		t.Errorf("servers hold %d keys; want %d", len(held), len(keys))
	}
	wrong := 0
	for _, k := range keys {
		got, ok := held[k]
		want := r.Owner(HashTag([]byte(k), c.hashTag))
		if ok && got == want {
			continue
		}
		if wrong++; wrong <= shown {
			t.Errorf("key %q: nutcracker put it on server %d (present: %t); Ring.Owner = %d", k, got, ok, want)
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d keys are not where Ring.Owner puts them", wrong, len(keys))
	}
}
