package mcserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/proxy"
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
			return fmt.Errorf("mcserver: reading a metadump: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, []byte("key=")) {
			return errors.Join(endOfMetadump(line), each(keys))
		}
		key, err := metadumpKey(line)
		if err != nil {
			return err
		}
		if keys = append(keys, key); len(keys) == proxy.ListBatch {
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
	return fmt.Errorf("mcserver: memcached answered %q to lru_crawler metadump (started with -o no_lru_crawler?)", line)
}

// metadumpKey returns the key of a metadump line, unescaped.
func metadumpKey(line []byte) ([]byte, error) {
	field, _, _ := bytes.Cut(line[len("key="):], []byte(" "))
	key, err := url.PathUnescape(string(field))
	if err != nil {
		return nil, fmt.Errorf("mcserver: metadump key %q: %w", field, err)
	}
	return []byte(key), nil
}

// Errors of a metadump that the listing acts on.
var (
	errCrawlerBusy = errors.New("mcserver: memcached's LRU crawler is busy")
	errNoHashDump  = errors.New("mcserver: memcached cannot dump its hash table")
)

// busyWait is how long listMemcache waits for a busy crawler before it asks again, and
// busyTries how often it asks: another client's dump of a large server can take seconds.
const (
	busyWait  = 100 * time.Millisecond
	busyTries = 100
)
