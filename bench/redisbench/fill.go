package redisbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrReply reports a server reply that is not the one expected.
var ErrReply = errors.New("redisbench: unexpected reply")

// fillBatch is how many SETs Fill sends before reading their replies.
const fillBatch = 1000

// fillTimeout bounds a whole Fill when ctx has no deadline of its own.
const fillTimeout = time.Minute

// Key returns the key that redis-benchmark's key:__rand_int__ turns into for
// the number i.
func Key(i int) string { return fmt.Sprintf("key:%012d", i) }

// Fill sets keys Key(0) to Key(keys-1) to values of size bytes on the Redis
// server at addr, so that benchmark reads hit.
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
	value := strings.Repeat("x", size)
	for first := 0; first < keys; first += fillBatch {
		n := min(fillBatch, keys-first)
		if err := setBatch(rw, first, n, value); err != nil {
			return fmt.Errorf("redisbench: fill %s: %w", addr, err)
		}
	}
	return nil
}

// setBatch pipelines n SETs starting at key number first and checks that
// each was answered +OK.
func setBatch(rw *bufio.ReadWriter, first, n int, value string) error {
	for i := first; i < first+n; i++ {
		writeCommand(rw.Writer, "SET", Key(i), value)
	}
	if err := rw.Flush(); err != nil {
		return err
	}
	for range n {
		line, err := rw.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "+OK\r\n" {
			return fmt.Errorf("%w: %q", ErrReply, line)
		}
	}
	return nil
}

// writeCommand encodes args as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, args ...string) {
	w.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		w.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
}
