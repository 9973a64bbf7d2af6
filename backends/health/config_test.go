package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		wants []string // substrings of the error; none = valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"damping off", func(c *Config) { c.FlapLimit, c.FlapWindow = 0, 0 }, nil},
		{"failure limit 0", func(c *Config) { c.FailureLimit = 0 },
			[]string{"FailureLimit 0 must be at least 1"}},
		{"retry timeout 0", func(c *Config) { c.RetryTimeout = 0 },
			[]string{"RetryTimeout 0s must be positive"}},
		{"max backoff below retry", func(c *Config) { c.MaxBackoff = time.Second },
			[]string{"MaxBackoff 1s must be at least RetryTimeout 30s"}},
		{"negative flap limit", func(c *Config) { c.FlapLimit = -1 },
			[]string{"FlapLimit -1 must not be negative"}},
		{"flap limit without window", func(c *Config) { c.FlapWindow = 0 },
			[]string{"FlapWindow 0s must be positive when FlapLimit is set"}},
		{"every problem at once", func(c *Config) { *c = Config{FailureLimit: -1, MaxBackoff: -1, FlapLimit: 1} },
			[]string{"FailureLimit", "RetryTimeout", "MaxBackoff", "FlapWindow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("Validate() = %v; want an error wrapping ErrBadConfig", err)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q; want it to mention %q", err, want)
				}
			}
		})
	}
}

func TestHoldDown(t *testing.T) {
	cfg := Config{FailureLimit: 1, RetryTimeout: time.Second, MaxBackoff: 10 * time.Second,
		FlapWindow: time.Minute, FlapLimit: 3}
	tests := []struct {
		flaps int
		want  time.Duration
	}{
		{1, time.Second},
		{2, time.Second},
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 8 * time.Second},
		{6, 10 * time.Second},
		{1000, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := cfg.holdDown(tt.flaps); got != tt.want {
			t.Errorf("holdDown(%d) = %v; want %v", tt.flaps, got, tt.want)
		}
	}
	cfg.FlapLimit = 0
	if got := cfg.holdDown(1000); got != time.Second {
		t.Errorf("holdDown(1000) with damping off = %v; want 1s", got)
	}
}

func TestJitterStaysWithinAFifthBelow(t *testing.T) {
	for _, d := range []time.Duration{1, 5, time.Millisecond, time.Second, time.Hour} {
		lo := d - d/5
		for range 1000 {
			if got := jitter(d); got < lo || got > d {
				t.Fatalf("jitter(%v) = %v; want within [%v, %v]", d, got, lo, d)
			}
		}
	}
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrBadConfig) {
			t.Errorf("New recovered %v; want a panic with ErrBadConfig", err)
		}
	}()
	New(Config{}, func(context.Context) error { return nil })
}
