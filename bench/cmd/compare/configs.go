package main

import (
	"fmt"
	"strings"
)

// The proxies' shared settings, as twemproxy names them. Both shard with
// fnv1a_64 over a ketama ring through one connection per backend, and allow
// any number of clients (the idle-connection test opens thousands).
const (
	hashName     = "fnv1a_64"
	distribution = "ketama"
	timeoutMs    = 1000
)

// poolKeys returns one pool's YAML keys, timeout excluded, one per line.
func poolKeys(listen string, redis bool, servers []string) []string {
	keys := []string{
		"listen: " + listen,
		fmt.Sprintf("redis: %v", redis),
		"hash: " + hashName,
		"distribution: " + distribution,
		"server_connections: 1",
		"client_connections: 0",
		"servers:",
	}
	for _, s := range servers {
		keys = append(keys, "  - "+s)
	}
	return keys
}

// nutcrackerYAML is twemproxy's config: pools at the top level, timeout in
// milliseconds.
func nutcrackerYAML(listen string, redis bool, servers []string) string {
	keys := append([]string{fmt.Sprintf("timeout: %d", timeoutMs)}, poolKeys(listen, redis, servers)...)
	return "bench:\n" + indent(keys, "  ")
}

// discohYAML is the same pool under discoh's pools key, with quiet logs and any extra pool keys
// of discoh's own (such as "replicas: 2").
func discohYAML(listen string, redis bool, servers, extra []string) string {
	keys := append([]string{fmt.Sprintf("timeout: %dms", timeoutMs)}, extra...)
	keys = append(keys, poolKeys(listen, redis, servers)...)
	return "pools:\n  bench:\n" + indent(keys, "    ") + "log:\n  level: warn\n"
}

func indent(lines []string, prefix string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}
