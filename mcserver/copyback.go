package mcserver

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

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
	fields := proxy.StatFields(reply, " ", "STAT ")
	uptime, err1 := strconv.ParseInt(fields["uptime"], 10, 64)
	items, err2 := strconv.ParseInt(fields["curr_items"], 10, 64)
	if err1 != nil || err2 != nil || fields["pid"] == "" {
		return backends.Census{}, fmt.Errorf("mcserver: stats without pid, uptime and curr_items")
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
