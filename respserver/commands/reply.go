package commands

import "github.com/discoh/discoh/resp"

// replies are the reply types of the commands most requests are made of, so a reply that is out
// of step with its request is caught before it reaches a client (resp.Shape). A command left
// out gets any reply; one whose reply type depends on its options (ZADD ... INCR) is left out.
var replies = map[string]resp.Shape{
	"get": resp.BulkReply, "getdel": resp.BulkReply, "getex": resp.BulkReply,
	"getset": resp.BulkReply, "hget": resp.BulkReply, "lindex": resp.BulkReply,
	"set": resp.StatusReply, "setex": resp.StatusReply, "psetex": resp.StatusReply,
	"mset": resp.StatusReply,
	"del":  resp.IntReply, "unlink": resp.IntReply, "exists": resp.IntReply,
	"touch": resp.IntReply, "incr": resp.IntReply, "decr": resp.IntReply,
	"incrby": resp.IntReply, "decrby": resp.IntReply, "expire": resp.IntReply,
	"pexpire": resp.IntReply, "ttl": resp.IntReply, "pttl": resp.IntReply,
	"hset": resp.IntReply, "hdel": resp.IntReply, "sadd": resp.IntReply,
	"srem": resp.IntReply, "lpush": resp.IntReply, "rpush": resp.IntReply,
	"llen": resp.IntReply, "scard": resp.IntReply, "strlen": resp.IntReply,
	"mget": resp.ArrayReply, "hmget": resp.ArrayReply,
}

func init() {
	for name, shape := range replies {
		entry(name).Reply = shape
	}
}
