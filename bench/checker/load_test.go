package main

import (
	"context"
	"testing"
	"time"
)

func TestGoing(t *testing.T) {
	began := time.Now()
	tests := []struct {
		name                string
		minWrites, minStale int
		writes, stale       int64
		at                  time.Duration
		want                bool
	}{
		{"within the duration", 0, 0, 0, 0, time.Second, true},
		{"past the duration", 0, 0, 0, 0, 2 * time.Second, false},
		{"past it, too few writes", 100, 0, 99, 0, 2 * time.Second, true},
		{"past it, enough writes", 100, 0, 100, 0, 2 * time.Second, false},
		{"past it, no stale read yet", 100, 1, 100, 0, 2 * time.Second, true},
		{"past it, enough of both", 100, 1, 100, 1, 2 * time.Second, false},
		{"too few writes, but past the overtime", 100, 1, 0, 0, maxOvertime * 2 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLoad(Config{Keys: 1, Duration: 2 * time.Second, MinWrites: tt.minWrites, MinStale: tt.minStale}, nil, discard)
			l.stats.began = began
			l.stats.writes.Store(tt.writes)
			l.stats.stale[pooled].Store(tt.stale)
			if got := l.going(t.Context(), began.Add(tt.at)); got != tt.want {
				t.Errorf("going at +%v with %d of %d writes, %d of %d stale = %v; want %v",
					tt.at, tt.writes, tt.minWrites, tt.stale, tt.minStale, got, tt.want)
			}
		})
	}
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		l := newLoad(Config{Keys: 1, Duration: time.Hour}, nil, discard)
		l.stats.began = began
		if l.going(ctx, began) {
			t.Error("going after the context was done; want false")
		}
	})
}
