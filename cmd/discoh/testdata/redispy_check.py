"""Usage checks of redis-py through discoh: what apps commonly do. Exits non-zero on the first
failure, naming it. Usage: redispy_check.py HOST PORT"""
import sys, threading, time
import redis

host, port = sys.argv[1], int(sys.argv[2])
r = redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=10)


def check(what, got, want):
    if got != want:
        sys.exit("%s: got %r; want %r" % (what, got, want))


r.flushall()
check("ping", r.ping(), True)
check("set", r.set("k", "v", ex=100), True)
check("get", r.get("k"), "v")
check("mset", r.mset({"a:%d" % i: str(i) for i in range(50)}), True)
check("mget", r.mget(["a:%d" % i for i in range(50)]), [str(i) for i in range(50)])
check("incr", r.incr("counter"), 1)
check("hset", r.hset("h", mapping={"f1": "1", "f2": "2"}), 2)
check("hgetall", r.hgetall("h"), {"f1": "1", "f2": "2"})
check("delete", r.delete("a:1", "a:2", "nosuch"), 2)
check("exists", r.exists("a:3", "a:1"), 1)
check("scan_iter", sorted(r.scan_iter("a:*", count=7))[:3], ["a:0", "a:10", "a:11"])

# Lock: acquire and release use registered Lua scripts (EVALSHA) on the lock's key.
lock = r.lock("resource", timeout=10)
check("lock acquire", lock.acquire(blocking=False), True)
check("lock owned", lock.owned(), True)
lock.release()
check("lock released", r.get("resource"), None)

# register_script: EVALSHA, loaded on every server.
incrby = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
check("script", incrby(keys=["s:1"], args=[5]), 5)
check("script again", incrby(keys=["s:2"], args=[7]), 7)

# Pipelines and transactions (keys on one server through a hash tag).
p = r.pipeline(transaction=False)
for i in range(100):
    p.set("p:%d" % i, i)
check("pipeline", all(p.execute()), True)
with r.pipeline() as tx:
    tx.watch("{t}balance")
    tx.multi()
    tx.set("{t}balance", 10)
    tx.incr("{t}balance")
    check("transaction", tx.execute(), [True, 11])

# Pub/sub: subscribe, receive, unsubscribe, then use the connection again.
ps = r.pubsub()
ps.subscribe("news")
check("subscribe", ps.get_message(timeout=2)["type"], "subscribe")
threading.Timer(0.1, lambda: r.publish("news", "hello")).start()
msg = None
deadline = time.time() + 3
while msg is None and time.time() < deadline:
    msg = ps.get_message(timeout=1)
check("message", (msg or {}).get("data"), "hello")
ps.unsubscribe("news")
check("unsubscribe", ps.get_message(timeout=2)["type"], "unsubscribe")
ps.close()

# Blocking commands: one that times out, one that is served.
check("blpop timeout", r.blpop("emptylist", timeout=1), None)
threading.Timer(0.2, lambda: r.rpush("queue", "job")).start()
check("blpop served", r.blpop("queue", timeout=5), ("queue", "job"))

# INFO as tools read it.
info = r.info()
check("info keyspace", "db0" in info, True)
check("info memory", info["used_memory"] > 0, True)
check("randomkey", r.randomkey() is not None, True)
check("dbsize", r.dbsize() > 0, True)
print("redis-py checks passed")
