package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

// defaults returns the flags' defaults with the target set, as a command line would.
func defaults(t *testing.T) Config {
	t.Helper()
	return parse(t, "-addr", "127.0.0.1:6380")
}

// parse returns the Config of a command line, its preset applied.
func parse(t *testing.T, args ...string) Config {
	t.Helper()
	c, err := parseArgs(args...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseArgs parses a command line as the command does.
func parseArgs(args ...string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("checker", flag.ContinueOnError)
	c.registerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.applyPreset(fs)
}

func TestPresetHot(t *testing.T) {
	c := parse(t, "-addr", "127.0.0.1:6380", "-preset", "hot")
	if c.Keys != 10 || c.Writers != 16 || c.Readers != 64 || c.DBConns != 32 {
		t.Errorf("-preset hot: %d keys, %d writers, %d readers, %d DB connections; want 10, 16, 64, 32",
			c.Keys, c.Writers, c.Readers, c.DBConns)
	}
	if c.Zipf != DefaultZipf || c.Duration != DefaultDuration || c.Preset != "hot" {
		t.Errorf("-preset hot changed what it does not name: zipf %v, duration %v, preset %q", c.Zipf, c.Duration, c.Preset)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v; want nil", err)
	}
}

// TestPresetGivenFlagsWin: a flag on the command line keeps its value, before or after
// -preset.
func TestPresetGivenFlagsWin(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "a:1", "-writers", "3", "-preset", "hot"},
		{"-addr", "a:1", "-preset", "hot", "-writers", "3"},
	} {
		c := parse(t, args...)
		if c.Writers != 3 || c.Keys != 10 {
			t.Errorf("%v: %d writers, %d keys; want 3 (given) and 10 (preset)", args, c.Writers, c.Keys)
		}
	}
}

func TestPresetUnknown(t *testing.T) {
	_, err := parseArgs("-addr", "a:1", "-preset", "tepid")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "-preset:") || !strings.Contains(err.Error(), "hot") {
		t.Errorf("-preset tepid: %v; want ErrInvalid naming -preset and the presets there are", err)
	}
}

func TestMode(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, ModeDel},
		{[]string{"-write-through"}, ModeWriteThrough},
		{[]string{"-del-before-commit"}, ModeDelBeforeCommit},
	} {
		c := parse(t, append([]string{"-addr", "a:1"}, tt.args...)...)
		if got := c.mode(); got != tt.want {
			t.Errorf("%v: mode() = %q; want %q", tt.args, got, tt.want)
		}
	}
}

func TestDefaultsAreValid(t *testing.T) {
	c := defaults(t)
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v; want nil", err)
	}
	if got, want := c.target(), "redis://127.0.0.1:6380"; got != want {
		t.Errorf("target() = %q; want %q", got, want)
	}
}

func TestSeveralTargets(t *testing.T) {
	c := parse(t, "-protocol", "memcached", "-addr", "127.0.0.1:11212,127.0.0.1:11213")
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v; want nil", err)
	}
	if got, want := c.target(), "memcached://127.0.0.1:11212,127.0.0.1:11213"; got != want {
		t.Errorf("target() = %q; want %q", got, want)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	tests := []struct {
		flag   string
		mutate func(*Config)
	}{
		{"-protocol", func(c *Config) { c.Protocol = "http" }},
		{"-addr", func(c *Config) { c.Addrs = nil }},
		{"-addr", func(c *Config) { c.Addrs = []string{"127.0.0.1:6380", ""} }},
		{"-addr", func(c *Config) { c.Addrs = []string{"localhost"} }},
		{"-dsn", func(c *Config) { c.DSN = "" }},
		{"-table", func(c *Config) { c.Table = "users; DROP TABLE users" }},
		{"-table", func(c *Config) { c.Table = "Users" }},
		{"-keys", func(c *Config) { c.Keys = 0 }},
		{"-zipf", func(c *Config) { c.Zipf = 1 }},
		{"-readers", func(c *Config) { c.Readers = 0 }},
		{"-pooled", func(c *Config) { c.Pooled = 1.5 }},
		{"-writers", func(c *Config) { c.Writers = 0 }},
		{"-duration", func(c *Config) { c.Duration = 0 }},
		{"-fill-delay", func(c *Config) { c.FillDelay = -1 }},
		{"-settle", func(c *Config) { c.Settle = -1 }},
		{"-key-prefix", func(c *Config) { c.KeyPrefix = "user " }},
		{"-db-conns", func(c *Config) { c.DBConns = 0 }},
		{"-db-conns", func(c *Config) { c.DBConns = maxDBConns + 1 }},
		{"-preset", func(c *Config) { c.Preset = "tepid" }},
		{"-write-through", func(c *Config) { c.WriteThrough, c.DelBeforeCommit = true, true }},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			c := defaults(t)
			tt.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.flag+":") {
				t.Errorf("Validate() = %v; want ErrInvalid naming %s", err, tt.flag)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{}
	err := c.Validate()
	for _, flag := range []string{"-protocol", "-addr", "-table", "-keys", "-zipf", "-readers", "-writers", "-duration"} {
		if err == nil || !strings.Contains(err.Error(), flag+":") {
			t.Errorf("Validate() of a zero Config = %v; want it to name %s", err, flag)
		}
	}
}

func TestPooledReaders(t *testing.T) {
	tests := []struct {
		readers int
		pooled  float64
		want    int
	}{
		{32, 0.5, 16},
		{10, 0, 0},
		{10, 1, 10},
		{3, 0.5, 2},
		{1, 0.4, 0},
	}
	for _, tt := range tests {
		c := Config{Readers: tt.readers, Pooled: tt.pooled}
		if got := c.pooledReaders(); got != tt.want {
			t.Errorf("pooledReaders() of %d readers at %v = %d; want %d", tt.readers, tt.pooled, got, tt.want)
		}
	}
}
