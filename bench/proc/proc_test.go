package proc

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseCPUTime(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
	}{
		{"redis-server", "4242 (redis-server) S 1 4242 4242 0 -1 4194560 1164 0 0 0 150 75 0 0 20 0 5 0 1000 1 1 1",
			2250 * time.Millisecond},
		{"a name with spaces and parentheses", "7 (my (odd) name) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1",
			70 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUTime([]byte(tt.stat))
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseCPUTimeRejects(t *testing.T) {
	for _, stat := range []string{"", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 4 0"} {
		if _, err := parseCPUTime([]byte(stat)); !errors.Is(err, ErrProcFormat) {
			t.Errorf("parseCPUTime(%q): got %v; want ErrProcFormat", stat, err)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tredis-server\nVmPeak:\t  60000 kB\nVmHWM:\t    9344 kB\nVmRSS:\t    8000 kB\n"
	tests := []struct {
		field string
		want  int64
	}{
		{"VmHWM:", 9344 << 10},
		{"VmRSS:", 8000 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, err := parseStatusKB([]byte(status), tt.field)
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := parseStatusKB([]byte(status), "VmSwap:"); !errors.Is(err, ErrProcFormat) {
		t.Errorf("missing field: got %v; want ErrProcFormat", err)
	}
}

func TestReadingThisProcess(t *testing.T) {
	pid := os.Getpid()
	if _, err := CPUTime(pid); err != nil {
		t.Errorf("CPUTime: %v", err)
	}
	rss, err := RSS(pid)
	if err != nil || rss <= 0 {
		t.Errorf("RSS = %d, %v; want a positive size", rss, err)
	}
	peak, err := PeakRSS(pid)
	if err != nil || peak < rss {
		t.Errorf("PeakRSS = %d, %v; want at least RSS %d", peak, err, rss)
	}
	file, err := FileRSS(pid)
	if err != nil || file <= 0 || file > peak {
		t.Errorf("FileRSS = %d, %v; want a positive size within PeakRSS %d (the test binary is mapped)", file, err, peak)
	}
}

func TestStartReportsAnEarlyExit(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(t.TempDir(), "sh", addr, "sh", "-c", "echo refusing this config; exit 3")
	if !errors.Is(err, ErrExited) {
		t.Fatalf("got %v; want ErrExited", err)
	}
	if got := err.Error(); !strings.Contains(got, "refusing this config") {
		t.Errorf("got %q; want the process's output in the error", got)
	}
}

func TestStartWaitsForListening(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(addr, ":")
	dir := t.TempDir()
	p, err := Start(dir, "redis", addr, "redis-server", "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(p.Kill)
	if p.PID() <= 0 {
		t.Errorf("PID = %d; want a process id", p.PID())
	}
}
