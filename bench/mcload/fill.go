package mcload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"time"
)

// keyDigits is the width Key pads numbers to, as redis-benchmark does.
const keyDigits = 12

// fillBatch is how many sets Fill sends before reading their replies.
const fillBatch = 1000

// fillTimeout bounds a whole Fill when ctx has no deadline of its own.
const fillTimeout = time.Minute

// Key returns the name of key number i: "key:" and i padded to 12 digits.
func Key(i int) string { return string(appendKey(nil, i)) }

// Fill stores Key(0) to Key(keys-1) with values of size bytes on the
// memcached server at addr, so that the load's gets hit.
func Fill(ctx context.Context, addr string, keys, size int) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(fillTimeout)
	}
	conn.SetDeadline(deadline)
	rw := bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
	value := bytes.Repeat([]byte("v"), size)
	for first := 0; first < keys; first += fillBatch {
		if err := setBatch(rw, first, min(fillBatch, keys-first), value); err != nil {
			return fmt.Errorf("mcload: fill %s: %w", addr, err)
		}
	}
	return nil
}

// setBatch pipelines n sets starting at key number first and checks that
// each was STORED.
func setBatch(rw *bufio.ReadWriter, first, n int, value []byte) error {
	for i := first; i < first+n; i++ {
		writeSet(rw.Writer, i, value)
	}
	if err := rw.Flush(); err != nil {
		return err
	}
	for range n {
		line, err := rw.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "STORED\r\n" {
			return fmt.Errorf("%w: %q", ErrReply, line)
		}
	}
	return nil
}
