package proc

import "syscall"

// RaiseFileLimit raises this process's open-file limit to at least want, or
// to the hard limit when raising that is not permitted, and returns the limit
// now in force. Processes started afterwards inherit it: Go hands children
// the limit the program started with only until the program sets its own.
func RaiseFileLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	cur := max(want, lim.Cur)
	raised := syscall.Rlimit{Cur: cur, Max: max(cur, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
		return cur, nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}
