// Package discoh is a Redis and memcached proxy with a coherence directory.
// The binary lives in cmd/discoh; see README.md for the architecture.
package discoh
