package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/resp"
)

// The copiers below are backends.Protocol.Copy: what a copy-back says to a server that came
// back restarted or empty, and to its partners, to copy back the keys they hold for it.

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
			return nil, fmt.Errorf("proxy: %d replies wanted, %d whole (%v)", n, i, err)
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
		return backends.Census{}, fmt.Errorf("proxy: INFO server: %w", err)
	}
	items, err := resp.ParseInt(parts[1])
	if err != nil {
		return backends.Census{}, fmt.Errorf("proxy: DBSIZE: %w", err)
	}
	fields := statFields(info, ":", "")
	uptime, err := strconv.ParseInt(fields["uptime_in_seconds"], 10, 64)
	if err != nil || fields["run_id"] == "" {
		return backends.Census{}, fmt.Errorf("proxy: INFO server without run_id and uptime_in_seconds")
	}
	return backends.Census{ID: fields["run_id"], Uptime: time.Duration(uptime) * time.Second, Items: items}, nil
}

// statFields reads "name<sep>value" lines, each after prefix, into a map.
func statFields(text []byte, sep, prefix string) map[string]string {
	fields := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line, ok := bytes.CutPrefix(bytes.TrimSpace(sc.Bytes()), []byte(prefix))
		if name, value, found := bytes.Cut(line, []byte(sep)); ok && found {
			fields[string(name)] = string(value)
		}
	}
	return fields
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

// memcacheCopier censuses with stats, reads with mg (value, flags, remaining TTL) and writes
// with add, which never overwrites. A coherent item is copied whole: its guard state is a
// header in the item's data, so value and state travel together.
func memcacheCopier() *backends.Copier {
	return &backends.Copier{
		Census:  backends.Request{Bytes: []byte("stats\r\n"), Kind: uint8(mcproto.Stats)},
		Counted: memcacheCensus,
		Read: func(key []byte) backends.Request {
			req := append(append([]byte("mg "), key...), " v f t\r\n"...)
			return backends.Request{Bytes: req, Kind: uint8(mcproto.MetaGet)}
		},
		Value: memcacheValue,
		Write: func(key []byte, v backends.Value) backends.Request {
			req := mcproto.Request{Kind: mcproto.Add, Keys: [][]byte{key}, Flags: v.Flags,
				Exptime: exptime(v.TTL), Data: v.Data}
			return backends.Request{Bytes: mcproto.AppendStorage(nil, &req, false), Kind: uint8(mcproto.Add)}
		},
		Stored: func(reply []byte) bool { return string(reply) == "STORED\r\n" },
	}
}

// memcacheCensus reads the reply to stats.
func memcacheCensus(reply []byte) (backends.Census, error) {
	fields := statFields(reply, " ", "STAT ")
	uptime, err1 := strconv.ParseInt(fields["uptime"], 10, 64)
	items, err2 := strconv.ParseInt(fields["curr_items"], 10, 64)
	if err1 != nil || err2 != nil || fields["pid"] == "" {
		return backends.Census{}, fmt.Errorf("proxy: stats without pid, uptime and curr_items")
	}
	return backends.Census{ID: fields["pid"], Uptime: time.Duration(uptime) * time.Second, Items: items}, nil
}

// memcacheValue reads the reply to mg: nothing to copy on a miss, or when the item is about
// to expire (exptime 0 would keep it for ever).
func memcacheValue(reply []byte) (backends.Value, bool) {
	if !bytes.HasPrefix(reply, []byte("VA ")) {
		return backends.Value{}, false
	}
	v, ok := parseMetaValue(reply)
	if !ok || v.ttl == 0 {
		return backends.Value{}, false
	}
	return backends.Value{Data: v.data, Flags: v.flags, TTL: time.Duration(max(v.ttl, 0)) * time.Second}, true
}

// exptime is the exptime of an item that must live ttl more (0: for ever): memcached reads
// values over 30 days as a Unix time.
func exptime(ttl time.Duration) int64 {
	secs := int64(ttl / time.Second)
	if secs > 30*24*3600 {
		return time.Now().Unix() + secs
	}
	return secs
}
