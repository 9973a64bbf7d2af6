package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/discoh/discoh/bench/report"
)

const (
	title     = "discoh vs twemproxy vs direct"
	chartFile = "ratios.png"
)

// writeResults writes results.md and the ratio chart into dir.
func writeResults(dir string, rows []*report.Row, mem []report.IdleMemory, notes []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	notes = append(notes, fmt.Sprintf("Throughput ratios per row: ![throughput ratios](%s)", chartFile))
	err := writeFile(filepath.Join(dir, "results.md"), func(w io.Writer) error {
		return report.Markdown(w, title, notes, rows, mem)
	})
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, chartFile), func(w io.Writer) error {
		return report.Chart(w, title+": throughput ratios (median of rounds)", rows)
	})
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// notes describes the run: when, where, with what, and how to read it.
func notes(o options, fileLimit uint64, mcSkip error) []string {
	out := []string{
		fmt.Sprintf("Run %s on %d CPUs (%s), Linux %s, %s; %s.", time.Now().UTC().Format(time.DateTime+" MST"),
			runtime.NumCPU(), cpuModel(), firstLine(readFile("/proc/sys/kernel/osrelease")), runtime.Version(), versions()),
		"Targets: direct = one redis-server/memcached (the first backend); twemproxy and discoh = one proxy process over both backends (fnv1a_64, ketama, 1 connection per backend). Load generator, proxy and backends share the machine.",
		fmt.Sprintf("%d rounds, each running every row against direct, twemproxy, discoh in turn; tables show medians over rounds, ratios are medians of the per-round ratios.", o.rounds),
		fmt.Sprintf("Redis rows: redis-benchmark -c %d -r %d, -n %d (x%d for -P 16). memcached rows: bench/mcload, %d connections for %v each, %d B values, seed %d.",
			o.clients, o.keys, o.requests, o.pipelinedScale, o.clients, o.mcDuration, mcValueSize, o.seed),
		"Every backend holds all keys before a row runs, so reads hit on every target.",
		"CPU and peak RSS are of the process the clients talk to (for direct: the cache server), from /proc/PID/stat and VmHWM (reset before each run).",
		fmt.Sprintf("Open-file limit of harness and servers: %d. The idle-connection test runs on a nutcracker and a discoh started for it.", fileLimit),
	}
	if len(o.discohPool) > 0 {
		out = append(out, fmt.Sprintf("discoh's pools also set: %s.", strings.Join(o.discohPool, "; ")))
	}
	if mcSkip != nil {
		out = append(out, fmt.Sprintf("memcached rows skipped: %v", mcSkip))
	}
	return out
}

func versions() string {
	return strings.Join([]string{
		firstLine(output("redis-server", "--version")),
		firstLine(output("nutcracker", "--version")),
		firstLine(output("memcached", "-V")),
		firstLine(output("redis-benchmark", "--version")),
	}, "; ")
}

func cpuModel() string {
	for line := range strings.Lines(readFile("/proc/cpuinfo")) {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimLeft(name, " \t:"))
		}
	}
	return "unknown CPU"
}

func output(bin string, args ...string) string {
	out, _ := exec.Command(bin, args...).CombinedOutput()
	return string(out)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
