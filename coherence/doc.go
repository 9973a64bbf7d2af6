// Package coherence is the directory that keeps coherent keys in the cache consistent with
// the database (DESIGN.md section 4).
//
// A Directory serves one pool. The proxy asks it about keys that a source covers
// (Directory.Covers) and proxies every other key untouched:
//
//   - a client DEL or delete of a coherent key is Directory.Invalidate: the guard state is
//     installed in the key's cache server before the client is acknowledged, and the value is
//     then pulled from the database in the background and installed under the version the
//     invalidation created;
//   - a client GET is Directory.Read: a hit, a miss (which grants a fill lease), or, while a
//     pull is pending, a bounded wait for the pull, collapsed with every other reader of the
//     key on this instance;
//   - a client SET is Directory.Fill: stored only by compare-and-set against the guard state,
//     never inside the window after an invalidation; the client gets its usual reply either
//     way;
//   - DISCOH PULL is Directory.Pull.
//
// The guard state lives in the cache (package guard), so any number of discoh instances in
// front of the same servers keep the guarantees together; pulls are per instance (package
// db, collapsed by package flight); sources map keys to queries (package source). Every
// error on the invalidation path leaves the key without a value: fail closed.
package coherence
