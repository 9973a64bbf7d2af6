package commands

// slowCommands may run for long on a server however healthy it is: they walk the keyspace or a
// whole collection, run scripts or flush. A deadline made for ordinary commands would take a
// busy server for a dead one. Redis's @slow category is much wider (SET, DEL and MSET are in
// it), so the list is ours.
var slowCommands = []string{
	"keys", "flushall", "flushdb", "debug", "save", "sort", "sort_ro",
	"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro", "script", "function",
	"exec", "smembers", "sunion", "sunionstore", "sinter", "sinterstore", "sintercard",
	"sdiff", "sdiffstore", "hgetall", "hkeys", "hvals", "lrange", "lrem", "lpos", "ltrim",
	"zunion", "zunionstore", "zinter", "zinterstore", "zintercard", "zdiff", "zdiffstore",
	"zrangestore", "zremrangebyscore", "zremrangebyrank", "zremrangebylex",
	"xrange", "xrevrange", "bitop", "bitcount", "pfmerge", "lcs",
	"georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro", "geosearch",
	"geosearchstore", "memory", "copy",
}

func init() {
	for _, name := range slowCommands {
		c := entry(name)
		c.Slow = true
		for _, sub := range c.Subcommands {
			sub.Slow = true
		}
	}
}

// entry returns the table's command name, for the lists this package keeps beside the
// generated table; a name missing from it is a mistake in the list.
func entry(name string) *Command {
	c := table[name]
	if c == nil {
		panic("commands: " + name + " is not in the table")
	}
	return c
}
