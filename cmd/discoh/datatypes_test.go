package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/discoh/discoh/internal/testproc"
)

// commandScript touches every data type and the expiry commands. Keys with a hash tag live on
// one server; the rest spread over the pool.
var commandScript = [][]any{
	{"set", "s1", "hello"}, {"append", "s1", " world"}, {"getrange", "s1", 0, 4}, {"strlen", "s1"},
	{"setrange", "s1", 0, "J"}, {"get", "s1"}, {"getset", "s1", "x"}, {"getdel", "s1"},
	{"setnx", "s2", "a"}, {"setex", "s3", 100, "b"}, {"psetex", "s4", 100000, "c"},
	{"incr", "n1"}, {"incrby", "n1", 10}, {"decr", "n1"}, {"decrby", "n1", 3}, {"incrbyfloat", "f1", "1.5"},
	{"getex", "s2", "ex", 100}, {"ttl", "s2"}, {"persist", "s2"}, {"ttl", "s2"}, {"expire", "s2", 50},
	{"pexpire", "s2", 50000}, {"expireat", "s3", 4102444800}, {"expiretime", "s3"}, {"type", "s3"},
	{"hset", "h1", "a", 1, "b", 2}, {"hget", "h1", "a"}, {"hmget", "h1", "a", "z"}, {"hincrby", "h1", "a", 5},
	{"hlen", "h1"}, {"hexists", "h1", "b"}, {"hdel", "h1", "b"}, {"hgetall", "h1"}, {"hkeys", "h1"},
	{"hsetnx", "h1", "c", 3}, {"hstrlen", "h1", "c"}, {"hincrbyfloat", "h1", "c", "0.5"}, {"hvals", "h1"},
	{"rpush", "l1", "a", "b", "c"}, {"lpush", "l1", "z"}, {"lrange", "l1", 0, -1}, {"llen", "l1"},
	{"lindex", "l1", 1}, {"lset", "l1", 0, "y"}, {"lpop", "l1"}, {"rpop", "l1"}, {"linsert", "l1", "before", "b", "q"},
	{"lrem", "l1", 0, "q"}, {"ltrim", "l1", 0, 0}, {"lpos", "l1", "a"}, {"rpush", "{l}a", 1, 2}, {"lmove", "{l}a", "{l}b", "left", "right"},
	{"rpoplpush", "{l}a", "{l}b"}, {"lrange", "{l}b", 0, -1},
	{"sadd", "set1", "a", "b", "c"}, {"srem", "set1", "c"}, {"sismember", "set1", "a"}, {"smismember", "set1", "a", "z"},
	{"scard", "set1"}, {"smembers", "set1"}, {"sadd", "{s}x", 1, 2, 3}, {"sadd", "{s}y", 2, 3, 4}, {"sinter", "{s}x", "{s}y"},
	{"sunionstore", "{s}u", "{s}x", "{s}y"}, {"sdiff", "{s}x", "{s}y"}, {"smove", "{s}x", "{s}y", 1}, {"sintercard", 2, "{s}x", "{s}y"},
	{"zadd", "z1", 1, "a", 2, "b", 3, "c"}, {"zscore", "z1", "b"}, {"zincrby", "z1", 5, "a"}, {"zrange", "z1", 0, -1, "withscores"},
	{"zrangebyscore", "z1", 2, 3}, {"zrank", "z1", "c"}, {"zrevrank", "z1", "c"}, {"zcard", "z1"}, {"zcount", "z1", 0, 10},
	{"zrem", "z1", "b"}, {"zpopmin", "z1"}, {"zpopmax", "z1"}, {"zadd", "{z}a", 1, "x"}, {"zadd", "{z}b", 2, "x"},
	{"zunionstore", "{z}c", 2, "{z}a", "{z}b"}, {"zrange", "{z}c", 0, -1, "withscores"}, {"zmscore", "{z}c", "x", "y"},
	{"xadd", "st1", "1-1", "f", "v"}, {"xadd", "st1", "2-1", "f", "w"}, {"xlen", "st1"}, {"xrange", "st1", "-", "+"},
	{"xrevrange", "st1", "+", "-", "count", 1}, {"xread", "streams", "st1", "0"}, {"xgroup", "create", "st1", "g", "0"},
	{"xreadgroup", "group", "g", "c1", "count", 1, "streams", "st1", ">"}, {"xack", "st1", "g", "1-1"}, {"xdel", "st1", "2-1"},
	{"xtrim", "st1", "maxlen", 0},
	{"setbit", "b1", 7, 1}, {"getbit", "b1", 7}, {"bitcount", "b1"}, {"bitpos", "b1", 1}, {"set", "{b}x", "ab"},
	{"set", "{b}y", "cd"}, {"bitop", "and", "{b}z", "{b}x", "{b}y"}, {"get", "{b}z"}, {"bitfield", "b2", "incrby", "u8", 0, 200},
	{"pfadd", "hll1", "a", "b", "c"}, {"pfcount", "hll1"}, {"pfadd", "{p}a", 1, 2}, {"pfadd", "{p}b", 2, 3},
	{"pfmerge", "{p}c", "{p}a", "{p}b"}, {"pfcount", "{p}c"},
	{"geoadd", "g1", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
	{"geodist", "g1", "Palermo", "Catania", "km"}, {"geopos", "g1", "Palermo"}, {"geohash", "g1", "Catania"},
	{"geosearch", "g1", "fromlonlat", 15, 37, "byradius", 200, "km", "asc"},
	{"exists", "s2", "n1", "nope"}, {"del", "s2", "n1", "h1"}, {"unlink", "l1"}, {"object", "encoding", "set1"},
	{"copy", "{c}a", "{c}b"}, {"set", "{c}a", 1}, {"copy", "{c}a", "{c}b"}, {"renamenx", "{c}b", "{c}c"},
	{"incr", "s1"}, {"hget", "set1", "x"}, {"lpush", "h2"}, {"sort", "{l}b"}, {"dump", "nope"},
}

// unordered names the commands whose reply order is a hash table's, which differs between
// server processes.
var unordered = map[string]bool{"smembers": true, "sinter": true, "sdiff": true}

func sorted(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

// TestBehavesLikeOneRedis runs commandScript against a single real Redis and against discoh over
// three, and requires the same reply to every command.
func TestBehavesLikeOneRedis(t *testing.T) {
	ctx := t.Context()
	st := startRedisStack(t, 3, "")
	single := redis.NewClient(&redis.Options{Addr: testproc.Redis(t).Addr, Protocol: 2})
	defer single.Close()
	for _, proto := range []int{2, 3} {
		viaProxy := redis.NewClient(&redis.Options{Addr: st.addr, Protocol: proto})
		direct := redis.NewClient(&redis.Options{Addr: single.Options().Addr, Protocol: proto})
		for _, args := range commandScript {
			want, wantErr := direct.Do(ctx, args...).Result()
			got, gotErr := viaProxy.Do(ctx, args...).Result()
			if unordered[args[0].(string)] {
				want, got = sorted(want), sorted(got)
			}
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !reflect.DeepEqual(want, got) {
				t.Errorf("RESP%d %v:\n got %#v, %v\nwant %#v, %v", proto, args, got, gotErr, want, wantErr)
			}
		}
		viaProxy.FlushAll(ctx)
		direct.FlushAll(ctx)
		viaProxy.Close()
		direct.Close()
	}
}
