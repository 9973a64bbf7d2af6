package respserver

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// redisCopier censuses with INFO server and DBSIZE, reads with DUMP, PTTL and EXISTS of the
// key's sidecar, and writes with RESTORE (no REPLACE: BUSYKEY means the server has a newer
// value). A coherent key (one with a sidecar) is not copied: its value must not travel
// without its guard state.
func redisCopier() *backends.Copier {
	return &backends.Copier{
		Census: backends.Request{Bytes: resp.AppendCommand(resp.AppendCommand(nil,
			[]byte("INFO"), []byte("server")), []byte("DBSIZE")), Frames: 2},
		Counted: redisCensus,
		Read: func(key []byte) backends.Request {
			req := resp.AppendCommand(nil, []byte("DUMP"), key)
			req = resp.AppendCommand(req, []byte("PTTL"), key)
			req = resp.AppendCommand(req, []byte("EXISTS"), guard.RedisSidecar(key))
			return backends.Request{Bytes: req, Frames: 3}
		},
		Value: redisValue,
		Write: func(key []byte, v backends.Value) backends.Request {
			ttl := strconv.FormatInt(v.TTL.Milliseconds(), 10)
			return backends.Request{Bytes: resp.AppendCommand(nil, []byte("RESTORE"), key, []byte(ttl), v.Data)}
		},
		Stored: func(reply []byte) bool { return string(reply) == "+OK\r\n" },
	}
}

// splitReplies cuts n whole replies off the start of buf.
func splitReplies(buf []byte, n int) ([][]byte, error) {
	replies := make([][]byte, n)
	for i := range replies {
		m, err := resp.ScanReply(buf)
		if err != nil || m == 0 {
			return nil, fmt.Errorf("respserver: %d replies wanted, %d whole (%v)", n, i, err)
		}
		replies[i], buf = buf[:m], buf[m:]
	}
	return replies, nil
}

// redisCensus reads the replies to INFO server and DBSIZE.
func redisCensus(reply []byte) (backends.Census, error) {
	parts, err := splitReplies(reply, 2)
	if err != nil {
		return backends.Census{}, err
	}
	info, _, err := resp.ParseBulk(parts[0])
	if err != nil {
		return backends.Census{}, fmt.Errorf("respserver: INFO server: %w", err)
	}
	items, err := resp.ParseInt(parts[1])
	if err != nil {
		return backends.Census{}, fmt.Errorf("respserver: DBSIZE: %w", err)
	}
	fields := proxy.StatFields(info, ":", "")
	uptime, err := strconv.ParseInt(fields["uptime_in_seconds"], 10, 64)
	if err != nil || fields["run_id"] == "" {
		return backends.Census{}, fmt.Errorf("respserver: INFO server without run_id and uptime_in_seconds")
	}
	return backends.Census{ID: fields["run_id"], Uptime: time.Duration(uptime) * time.Second, Items: items}, nil
}

// redisValue reads the replies to DUMP, PTTL and EXISTS of the sidecar: nothing to copy when
// the key is gone, about to expire, or coherent.
func redisValue(reply []byte) (backends.Value, bool) {
	parts, err := splitReplies(reply, 3)
	if err != nil {
		return backends.Value{}, false
	}
	payload, null, err := resp.ParseBulk(parts[0])
	if err != nil || null {
		return backends.Value{}, false
	}
	pttl, err := resp.ParseInt(parts[1])
	// -2: gone since the DUMP; 0: expiring now, and RESTORE would read 0 as no TTL at all.
	if err != nil || pttl == -2 || pttl == 0 {
		return backends.Value{}, false
	}
	if guarded, err := resp.ParseInt(parts[2]); err != nil || guarded != 0 {
		return backends.Value{}, false
	}
	return backends.Value{Data: bytes.Clone(payload), TTL: time.Duration(max(pttl, 0)) * time.Millisecond}, true
}
