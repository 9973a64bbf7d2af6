package main

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// Real client libraries nobody here wrote, used as apps use them: redis-py (locks and
// registered scripts, pipelines, transactions, pub/sub, blocking pops, INFO) and pymemcache
// (multi-gets of 5,000 keys, cas, stats). They need Python 3 with the redis and pymemcache
// modules (Debian: python3-redis python3-pymemcache; .ci/run installs them).
func TestPythonClients(t *testing.T) {
	for _, tc := range []struct {
		script, module string
		redis          bool
	}{
		{"testdata/redispy_check.py", "redis", true},
		{"testdata/pymemcache_check.py", "pymemcache", false},
	} {
		t.Run(tc.module, func(t *testing.T) {
			python := pythonWith(t, tc.module)
			st := startStack(t, tc.redis, 3, "")
			host, port, _ := net.SplitHostPort(st.addr)
			out, err := exec.CommandContext(t.Context(), python, tc.script, host, port).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.script, err, out)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
		})
	}
}

// pythonWith returns a Python 3 that can import module, or skips the test saying what to install.
func pythonWith(t *testing.T, module string) string {
	t.Helper()
	for _, python := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(python, "-c", "import "+module).Run() == nil {
			return python
		}
	}
	t.Skipf("no python3 with the %s module (apt-get install python3-redis python3-pymemcache)", module)
	return ""
}
