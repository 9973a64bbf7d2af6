package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ErrProcFormat reports a /proc file that does not read as expected.
var ErrProcFormat = errors.New("proc: unexpected /proc format")

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// CPUTime returns the user plus system CPU time pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseCPUTime(b)
}

// parseCPUTime reads utime and stime (fields 14 and 15) from a
// /proc/PID/stat line. The command name (field 2) may hold spaces, so fields
// are counted from its closing parenthesis.
func parseCPUTime(stat []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, ErrProcFormat
	}
	fields := bytes.Fields(stat[end+1:]) // fields[0] is field 3, the state
	if len(fields) < 13 {
		return 0, ErrProcFormat
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrProcFormat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// PeakRSS returns pid's peak resident set size (VmHWM) in bytes.
func PeakRSS(pid int) (int64, error) { return statusBytes(pid, "VmHWM:") }

// RSS returns pid's current resident set size (VmRSS) in bytes.
func RSS(pid int) (int64, error) { return statusBytes(pid, "VmRSS:") }

// FileRSS returns the part of pid's RSS that is file-backed (RssFile): mostly pages of its
// program and libraries, shared with the page cache.
func FileRSS(pid int) (int64, error) { return statusBytes(pid, "RssFile:") }

// ResetPeakRSS sets pid's VmHWM back to its current RSS, so that the next
// PeakRSS covers only what happens from now on.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

func statusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, field)
}

// parseStatusKB returns the value of a "Name:   1234 kB" line of
// /proc/PID/status, in bytes.
func parseStatusKB(status []byte, field string) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(field))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%w: %q", ErrProcFormat, line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrProcFormat, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%w: no %s line", ErrProcFormat, field)
}
