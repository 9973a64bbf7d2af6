package respserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/proxy"
	"github.com/discoh/discoh/resp"
)

// maxScanReply bounds one SCAN reply: COUNT is only a hint, and keys can be long, but a reply
// this large is no SCAN reply.
const maxScanReply = 256 << 20

// listRedis lists a Redis server's keys with SCAN until the cursor comes back 0. SCAN returns
// every key present from the start of the iteration to its end, so no stale copy escapes it
// however the keys are rehashed meanwhile.
func listRedis(ctx context.Context, rw io.ReadWriter, each func(keys [][]byte) error) error {
	count := []byte(strconv.Itoa(proxy.ListBatch))
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
			return nil, fmt.Errorf("respserver: SCAN reply: %w", err)
		case n > 0 && n < len(buf):
			return nil, errors.New("respserver: bytes after a SCAN reply")
		case n > 0:
			return buf, nil
		case len(buf) >= maxScanReply:
			return nil, fmt.Errorf("respserver: SCAN reply over %d bytes", maxScanReply)
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
		return nil, nil, fmt.Errorf("respserver: SCAN: %s", bytes.TrimSpace(reply[1:]))
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
		return nil, nil, fmt.Errorf("respserver: SCAN reply: %w", err)
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
