// Package proxy holds what the Redis and memcached routers (packages respserver and mcserver)
// share: awaiting the replies of a batch of calls, bounding the replies a batch holds, sending
// huge multi-key commands in parts, choosing a key's servers and retrying on its copies, the
// coherence guard over a key's copies, and the helpers of listings, copy-backs and stats.
package proxy

// Version is discoh's version, reported by INFO and -version.
var Version = "0.1.0-dev"
