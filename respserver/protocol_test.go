package respserver

import (
	"testing"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/resp"
)

// TestRedisReplayDeletesGuardState: replaying a missed invalidation deletes a coherent key's
// sidecar with its value, so a pull older than the invalidation cannot install.
func TestRedisReplayDeletesGuardState(t *testing.T) {
	got := string(Protocol().Delete([]byte("user:1")).Bytes)
	want := string(resp.AppendCommand(nil, []byte("DEL"), []byte("user:1"), guard.RedisSidecar([]byte("user:1"))))
	if got != want {
		t.Errorf("replayed delete = %q; want %q", got, want)
	}
}
