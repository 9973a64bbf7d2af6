package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/discoh/discoh/config"
)

var testServers = []string{"127.0.0.1:7001:1 s1", "127.0.0.1:7002:1 s2"}

func TestDiscohReadsItsConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(discohYAML("127.0.0.1:7000", true, testServers, []string{"replicas: 2"})))
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	if len(cfg.Pools) != 1 {
		t.Fatalf("got %d pools; want 1", len(cfg.Pools))
	}
	p := cfg.Pools[0]
	if p.Listen != "127.0.0.1:7000" || !p.Redis || p.Hash != hashName || p.Distribution != distribution ||
		p.Timeout != timeoutMs*time.Millisecond || p.ServerConnections != 1 || len(p.Servers) != 2 {
		t.Errorf("got pool %+v; want the bench settings", p)
	}
	if p.Replicas != 2 {
		t.Errorf("got replicas %d; want the extra key's 2", p.Replicas)
	}
	if s := p.Servers[1]; s.Addr != "127.0.0.1:7002" || s.Weight != 1 || s.Name != "s2" {
		t.Errorf("got server %+v; want 127.0.0.1:7002 weight 1 named s2", s)
	}
}

func TestNutcrackerAcceptsItsConfig(t *testing.T) {
	for _, redis := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "nc.yml")
		if err := os.WriteFile(path, []byte(nutcrackerYAML("127.0.0.1:7000", redis, testServers)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("nutcracker", "-t", "-c", path).CombinedOutput(); err != nil {
			t.Errorf("redis %v: nutcracker -t: %v\n%s", redis, err, out)
		}
	}
}
