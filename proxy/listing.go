package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/resp"
)

// The listings below are backends.Protocol.List: they list every key a server holds, for the
// repair of a server whose queue of missed writes overflowed, on a connection of their own
// whose reads and writes the caller bounds with deadlines.

// listBatch is how many keys a listing hands out at once, and the COUNT of Redis's SCAN: one
// round trip per thousand keys, and batches of deletes no larger than that.
const listBatch = 1000

// maxScanReply bounds one SCAN reply: COUNT is only a hint, and keys can be long, but a reply
// this large is no SCAN reply.
const maxScanReply = 256 << 20

// listRedis lists a Redis server's keys with SCAN until the cursor comes back 0. SCAN returns
// every key present from the start of the iteration to its end, so no stale copy escapes it
// however the keys are rehashed meanwhile.
func listRedis(ctx context.Context, rw io.ReadWriter, each func(keys [][]byte) error) error {
	count := []byte(strconv.Itoa(listBatch))
	cursor := []byte("0")
	var buf []byte
	for ctx.Err() == nil {
		if _, err := rw.Write(resp.AppendCommand(nil, []byte("SCAN"), cursor, []byte("COUNT"), count)); err != nil {
			return err
		}
		reply, err := readReply(rw, buf[:0])
		if err != nil {
			return err
		}
		next, keys, err := parseScan(reply)
		if err != nil {
			return err
		}
		if err := each(keys); err != nil {
			return err
		}
		if string(next) == "0" {
			return nil
		}
		cursor, buf = append(cursor[:0], next...), reply
	}
	return ctx.Err()
}

// readReply reads one whole reply into buf and returns it.
func readReply(r io.Reader, buf []byte) ([]byte, error) {
	for {
		n, err := resp.ScanReply(buf)
		switch {
		case err != nil:
			return nil, fmt.Errorf("proxy: SCAN reply: %w", err)
		case n > 0 && n < len(buf):
			return nil, errors.New("proxy: bytes after a SCAN reply")
		case n > 0:
			return buf, nil
		case len(buf) >= maxScanReply:
			return nil, fmt.Errorf("proxy: SCAN reply over %d bytes", maxScanReply)
		}
		buf = slices.Grow(buf, 64<<10)
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			return nil, err
		}
	}
}

// parseScan returns the next cursor and the keys of a SCAN reply, slices of it.
func parseScan(reply []byte) (cursor []byte, keys [][]byte, err error) {
	if resp.IsError(reply) {
		return nil, nil, fmt.Errorf("proxy: SCAN: %s", bytes.TrimSpace(reply[1:]))
	}
	parts, err := resp.SplitArray(reply, nil)
	if err == nil && len(parts) != 2 {
		err = fmt.Errorf("%d elements, want a cursor and keys", len(parts))
	}
	if err == nil {
		cursor, _, err = resp.ParseBulk(parts[0])
	}
	if err == nil {
		keys, err = bulks(parts[1])
	}
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: SCAN reply: %w", err)
	}
	return cursor, keys, nil
}

// bulks returns the contents of an array of bulk strings, slices of it.
func bulks(array []byte) ([][]byte, error) {
	items, err := resp.SplitArray(array, nil)
	keys := make([][]byte, len(items))
	for i := 0; i < len(items) && err == nil; i++ {
		keys[i], _, err = resp.ParseBulk(items[i])
	}
	return keys, err
}

// sidecarSuffix ends the name of every coherent key's sidecar (guard.RedisSidecar).
var sidecarSuffix = guard.RedisSidecar(nil)

// redisOwner returns the key a listed item belongs to: a coherent key's sidecar goes with its
// key, so a repair deletes both or neither.
func redisOwner(item []byte) []byte {
	key, _ := bytes.CutSuffix(item, sidecarSuffix)
	return key
}

// Errors of a metadump that the listing acts on.
var (
	errCrawlerBusy = errors.New("proxy: memcached's LRU crawler is busy")
	errNoHashDump  = errors.New("proxy: memcached cannot dump its hash table")
)

// busyWait is how long listMemcache waits for a busy crawler before it asks again, and
// busyTries how often it asks: another client's dump of a large server can take seconds.
const (
	busyWait  = 100 * time.Millisecond
	busyTries = 100
)

// listMemcache lists a memcached server's keys with lru_crawler metadump. It walks the hash
// table ("metadump hash", memcached 1.6.9 and later), which holds every item once however the
// LRU maintainer moves items between its queues during the walk; a server too old for that
// walks its LRUs instead ("metadump all"), where an item moved from a queue not yet walked to
// one already walked can escape the dump. A crawler busy with another request is waited for.
func listMemcache(ctx context.Context, rw io.ReadWriter, each func(keys [][]byte) error) error {
	r := bufio.NewReaderSize(rw, 64<<10)
	mode := "hash"
	for tries := 1; ; tries++ {
		if _, err := io.WriteString(rw, "lru_crawler metadump "+mode+"\r\n"); err != nil {
			return err
		}
		err := readMetadump(r, each)
		switch {
		case errors.Is(err, errNoHashDump) && mode == "hash":
			mode = "all"
		case !errors.Is(err, errCrawlerBusy) || tries == busyTries:
			return err
		case backends.Sleep(ctx, busyWait) != nil:
			return ctx.Err()
		}
	}
}

// readMetadump reads a metadump's lines ("key=<url-escaped key> exp=... la=... ...", then
// END) and hands the keys to each in batches.
func readMetadump(r *bufio.Reader, each func(keys [][]byte) error) error {
	var keys [][]byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("proxy: reading a metadump: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, []byte("key=")) {
			return errors.Join(endOfMetadump(line), each(keys))
		}
		key, err := metadumpKey(line)
		if err != nil {
			return err
		}
		if keys = append(keys, key); len(keys) == listBatch {
			if err := each(keys); err != nil {
				return err
			}
			keys = keys[:0]
		}
	}
}

// endOfMetadump says what a line other than an item's means: nil for the end of the dump.
func endOfMetadump(line []byte) error {
	switch {
	case string(line) == "END", bytes.HasPrefix(line, []byte("NOTSTARTED")): // nothing to crawl
		return nil
	case bytes.HasPrefix(line, []byte("BUSY")):
		return errCrawlerBusy
	case bytes.HasPrefix(line, []byte("BADCLASS")):
		return errNoHashDump
	}
	return fmt.Errorf("proxy: memcached answered %q to lru_crawler metadump (started with -o no_lru_crawler?)", line)
}

// metadumpKey returns the key of a metadump line, unescaped.
func metadumpKey(line []byte) ([]byte, error) {
	field, _, _ := bytes.Cut(line[len("key="):], []byte(" "))
	key, err := url.PathUnescape(string(field))
	if err != nil {
		return nil, fmt.Errorf("proxy: metadump key %q: %w", field, err)
	}
	return []byte(key), nil
}
