package mcload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// worker drives one connection: it writes a batch of cfg.Depth requests,
// then reads their replies in order, timing each from the batch's flush.
type worker struct {
	cfg       *Config
	conn      net.Conn
	r         *bufio.Reader
	w         *bufio.Writer
	rng       *rand.Rand
	value     []byte
	keysOf    []int // keys each request of the batch asks for; 0 for a set
	latencies []time.Duration
	misses    int64
	errors    int64
}

func newWorker(cfg *Config, conn net.Conn, rng *rand.Rand) *worker {
	return &worker{
		cfg:   cfg,
		conn:  conn,
		r:     bufio.NewReaderSize(conn, 64<<10),
		w:     bufio.NewWriterSize(conn, 64<<10),
		rng:   rng,
		value: bytes.Repeat([]byte("v"), cfg.ValueSize),
	}
}

func (w *worker) run(ctx context.Context, deadline time.Time) error {
	w.conn.SetDeadline(deadline.Add(replyGrace))
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if err := w.batch(); err != nil {
			return fmt.Errorf("mcload: %s: %w", w.cfg.Addr, err)
		}
	}
	return nil
}

func (w *worker) batch() error {
	w.keysOf = w.keysOf[:0]
	for range w.cfg.Depth {
		w.keysOf = append(w.keysOf, w.writeRequest())
	}
	start := time.Now()
	if err := w.w.Flush(); err != nil {
		return err
	}
	for _, keys := range w.keysOf {
		if err := w.readReply(keys); err != nil {
			return err
		}
		w.latencies = append(w.latencies, time.Since(start))
	}
	return nil
}

// writeRequest buffers the next request and returns how many keys it gets,
// 0 for a set.
func (w *worker) writeRequest() int {
	switch {
	case w.cfg.Mix == MultiGet:
		w.writeGet(MultiGetKeys)
		return MultiGetKeys
	case w.rng.IntN(setShare) == 0:
		w.writeSet()
		return 0
	default:
		w.writeGet(1)
		return 1
	}
}

func (w *worker) writeGet(keys int) {
	w.w.WriteString("get")
	for range keys {
		w.w.WriteByte(' ')
		w.w.Write(appendKey(w.w.AvailableBuffer(), w.rng.IntN(w.cfg.Keys)))
	}
	w.w.WriteString("\r\n")
}

func (w *worker) writeSet() {
	writeSet(w.w, w.rng.IntN(w.cfg.Keys), w.value)
}

// writeSet buffers "set <key> 0 0 <len>" and the value.
func writeSet(bw *bufio.Writer, key int, value []byte) {
	bw.WriteString("set ")
	bw.Write(appendKey(bw.AvailableBuffer(), key))
	bw.WriteString(" 0 0 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(value)), 10))
	bw.WriteString("\r\n")
	bw.Write(value)
	bw.WriteString("\r\n")
}

// readReply reads the reply to a get of keys keys, or to a set if keys is 0.
func (w *worker) readReply(keys int) error {
	if keys == 0 {
		return w.readStored()
	}
	return w.readValues(keys)
}

func (w *worker) readStored() error {
	line, err := w.r.ReadSlice('\n')
	switch {
	case err != nil:
		return err
	case isError(line):
		w.errors++
		return nil
	case string(line) != "STORED\r\n":
		return fmt.Errorf("%w to set: %q", ErrReply, line)
	}
	return nil
}

// readValues reads VALUE blocks up to END and counts the keys not returned.
func (w *worker) readValues(keys int) error {
	hits := 0
	for {
		line, err := w.r.ReadSlice('\n')
		switch {
		case err != nil:
			return err
		case string(line) == "END\r\n":
			w.misses += int64(keys - hits)
			return nil
		case isError(line):
			w.errors++
			return nil
		}
		if err := w.skipValue(line); err != nil {
			return err
		}
		hits++
	}
}

// skipValue discards the data block announced by a "VALUE <key> <flags>
// <bytes> [<cas>]" line.
func (w *worker) skipValue(line []byte) error {
	f := bytes.Fields(line)
	if len(f) < 4 || string(f[0]) != "VALUE" {
		return fmt.Errorf("%w to get: %q", ErrReply, line)
	}
	n, err := strconv.Atoi(string(f[3]))
	if err != nil || n < 0 {
		return fmt.Errorf("%w to get: %q", ErrReply, line)
	}
	_, err = w.r.Discard(n + len("\r\n"))
	return err
}

func isError(line []byte) bool {
	return bytes.HasPrefix(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("CLIENT_ERROR ")) ||
		bytes.HasPrefix(line, []byte("SERVER_ERROR "))
}

// appendKey appends Key(i) to b without allocating.
func appendKey(b []byte, i int) []byte {
	b = append(b, "key:"...)
	var tmp [20]byte
	digits := strconv.AppendInt(tmp[:0], int64(i), 10)
	for range keyDigits - len(digits) {
		b = append(b, '0')
	}
	return append(b, digits...)
}
