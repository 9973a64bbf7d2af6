"""Usage checks of pymemcache through discoh. Exits non-zero on the first failure, naming it.
Usage: pymemcache_check.py HOST PORT"""
import sys
from pymemcache.client.base import Client

host, port = sys.argv[1], int(sys.argv[2])
c = Client((host, port), timeout=10, connect_timeout=5)


def check(what, got, want):
    if got != want:
        sys.exit("%s: got %r; want %r" % (what, got, want))


check("flush_all", c.flush_all(), True)
check("set", c.set("k", b"v", expire=100), True)
check("get", c.get("k"), b"v")
check("add existing", c.add("k", b"x", noreply=False), False)
check("replace", c.replace("k", b"w", noreply=False), True)
check("append", c.append("k", b"!", noreply=False), True)
check("get after append", c.get("k"), b"w!")
keys = ["m:%d" % i for i in range(5000)]
check("set_many", c.set_many({k: k.encode() for k in keys}, noreply=False), [])
got = c.get_many(keys)
check("get_many count", len(got), len(keys))
check("get_many value", got["m:4321"], b"m:4321")
value, cas = c.gets("k")
check("gets", value, b"w!")
check("cas", c.cas("k", b"new", cas, noreply=False), True)
check("cas stale", c.cas("k", b"newer", cas, noreply=False), False)
check("incr", (c.set("n", b"1"), c.incr("n", 5))[1], 6)
check("decr", c.decr("n", 2), 4)
check("touch", c.touch("n", 100, noreply=False), True)
check("delete", c.delete("n", noreply=False), True)
check("delete missing", c.delete("n", noreply=False), False)
stats = c.stats()
check("stats curr_items", stats[b"curr_items"] >= 5000, True)
check("version", len(c.version()) > 0, True)
print("pymemcache checks passed")
