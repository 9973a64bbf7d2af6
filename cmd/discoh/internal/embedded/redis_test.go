package embedded

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisRefusesCommandSubcommands(t *testing.T) {
	r, err := StartRedis("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), Protocol: 2})
	defer c.Close()
	ctx := context.Background()
	for _, sub := range []string{"DOCS", "count", "INFO"} {
		err := c.Do(ctx, "COMMAND", sub).Err()
		if err == nil || !strings.Contains(err.Error(), "unknown subcommand '"+sub+"'") {
			t.Errorf("COMMAND %s: %v; want the unknown-subcommand error", sub, err)
		}
	}
	if n, err := c.Do(ctx, "COMMAND").Slice(); err != nil || len(n) == 0 {
		t.Errorf("COMMAND = %d entries, %v; want its table", len(n), err)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Errorf("SET after the hook: %v", err)
	}
}
