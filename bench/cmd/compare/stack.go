package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/discoh/discoh/bench/mcload"
	"github.com/discoh/discoh/bench/proc"
	"github.com/discoh/discoh/bench/redisbench"
	"github.com/discoh/discoh/bench/report"
)

// Protocols the stack serves.
const (
	redisProto = "redis"
	mcProto    = "memcached"
)

// backendsPerPool is how many cache servers each proxy shards over.
const backendsPerPool = 2

// stack is every process of a benchmark: two backends per protocol and, per
// protocol, a nutcracker and a discoh over them.
type stack struct {
	dir      string
	discoh   string                              // the binary
	extra    []string                            // discoh's extra pool keys
	backends map[string][]*proc.Process          // by protocol
	targets  map[string]map[string]*proc.Process // by protocol, then report target
	servers  map[string][]string                 // the backends as pool config entries, by protocol
	mcSkip   error                               // why memcached rows cannot run
	all      []*proc.Process
}

// startStack starts the backends and proxies, with their files in dir. A
// discoh that refuses the memcached pool only disables the memcached rows.
func startStack(dir, discoh string, extra []string) (*stack, error) {
	st := &stack{dir: dir, discoh: discoh, extra: extra, backends: map[string][]*proc.Process{}, servers: map[string][]string{},
		targets: map[string]map[string]*proc.Process{}}
	for _, protocol := range []string{redisProto, mcProto} {
		if err := st.startProtocol(protocol); err != nil {
			st.close()
			return nil, err
		}
	}
	return st, nil
}

// startProtocol starts the protocol's backends, nutcracker and discoh.
func (st *stack) startProtocol(protocol string) error {
	if err := st.startBackends(protocol); err != nil {
		return err
	}
	nc, err := st.startNutcracker("nutcracker-"+protocol, protocol)
	if err != nil {
		return err
	}
	st.targets[protocol] = map[string]*proc.Process{
		report.Direct: st.backends[protocol][0], report.Twemproxy: nc}
	dc, err := st.startDiscoh("discoh-"+protocol, protocol)
	if protocol == mcProto && errors.Is(err, proc.ErrExited) {
		st.mcSkip = err
		return nil
	}
	if err != nil {
		return err
	}
	st.targets[protocol][report.Discoh] = dc
	return nil
}

// startBackends starts the protocol's cache servers.
func (st *stack) startBackends(protocol string) error {
	for i := range backendsPerPool {
		addr, err := proc.FreeAddr()
		if err != nil {
			return err
		}
		bin, args := backendCommand(protocol, addr)
		p, err := st.start(fmt.Sprintf("%s%d", protocol, i+1), addr, bin, args...)
		if err != nil {
			return err
		}
		st.backends[protocol] = append(st.backends[protocol], p)
		st.servers[protocol] = append(st.servers[protocol], fmt.Sprintf("%s:1 s%d", p.Addr, i+1))
	}
	return nil
}

// backendCommand returns the command line of a cache server on addr. Both
// accept more clients than the idle-connection test opens.
func backendCommand(protocol, addr string) (string, []string) {
	host, port, _ := strings.Cut(addr, ":")
	if protocol == redisProto {
		return "redis-server", []string{"--bind", host, "--port", port, "--save", "",
			"--appendonly", "no", "--maxclients", "20000"}
	}
	args := []string{"-l", host, "-p", port, "-U", "0", "-t", "2", "-m", "1024", "-c", "20000"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses root without it
	}
	return "memcached", args
}

// startNutcracker starts a nutcracker over the protocol's backends.
func (st *stack) startNutcracker(name, protocol string) (*proc.Process, error) {
	addr, conf, err := st.writeConfig(name, func(addr string) string {
		return nutcrackerYAML(addr, protocol == redisProto, st.servers[protocol])
	})
	if err != nil {
		return nil, err
	}
	stats, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, statsPort, _ := strings.Cut(stats, ":")
	return st.start(name, addr, "nutcracker", "-c", conf, "-s", statsPort,
		"-p", conf+".pid", "-o", conf+".log")
}

// startDiscoh starts a discoh over the protocol's backends.
func (st *stack) startDiscoh(name, protocol string) (*proc.Process, error) {
	addr, conf, err := st.writeConfig(name, func(addr string) string {
		return discohYAML(addr, protocol == redisProto, st.servers[protocol], st.extra)
	})
	if err != nil {
		return nil, err
	}
	return st.start(name, addr, st.discoh, "-config", conf)
}

// freshRedisTargets starts another nutcracker and discoh over the Redis
// backends, for a measurement that buffers left over from the load rounds
// would distort. Direct stays the first backend.
func (st *stack) freshRedisTargets() (map[string]*proc.Process, error) {
	nc, err := st.startNutcracker("nutcracker-redis-fresh", redisProto)
	if err != nil {
		return nil, err
	}
	dc, err := st.startDiscoh("discoh-redis-fresh", redisProto)
	if err != nil {
		return nil, err
	}
	return map[string]*proc.Process{report.Direct: st.backends[redisProto][0],
		report.Twemproxy: nc, report.Discoh: dc}, nil
}

// writeConfig picks a free listen address and writes yaml(addr) to
// dir/name.yml.
func (st *stack) writeConfig(name string, yaml func(addr string) string) (addr, path string, err error) {
	addr, err = proc.FreeAddr()
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(st.dir, name+".yml")
	return addr, path, os.WriteFile(path, []byte(yaml(addr)), 0o644)
}

// start starts a process that serves addr and keeps it for close.
func (st *stack) start(name, addr, bin string, args ...string) (*proc.Process, error) {
	p, err := proc.Start(st.dir, name, addr, bin, args...)
	if err != nil {
		return nil, err
	}
	st.all = append(st.all, p)
	return p, nil
}

func (st *stack) close() {
	for _, p := range st.all {
		p.Kill()
	}
}

// fill stores f's keys on every backend of f's protocol, directly, so that
// reads hit whichever backend a proxy picks and direct reads hit too.
func (st *stack) fill(ctx context.Context, f fill) error {
	for _, b := range st.backends[f.protocol] {
		var err error
		if f.protocol == redisProto {
			err = redisbench.Fill(ctx, b.Addr, f.keys, f.valueSize)
		} else {
			err = mcload.Fill(ctx, b.Addr, f.keys, f.valueSize)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// buildDiscoh compiles the discoh binary into dir, as the README says to build it for
// deployment (static, without cgo: no C library mapped), and returns its path.
func buildDiscoh(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "discoh")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/discoh/discoh/cmd/discoh")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build discoh: %v\n%s", err, out)
	}
	return bin, nil
}
