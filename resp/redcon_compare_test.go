package resp

// Evidence for parsing requests with this package rather than with github.com/tidwall/redcon's
// Reader: speed and allocations on a redis-benchmark style pipeline, and what each does with a
// client that declares a huge argument and never finishes it.

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/tidwall/redcon"
)

// pipelineOfSets is count SET requests with 64-byte values, as redis-benchmark -P count sends.
func pipelineOfSets(count int) []byte {
	var out []byte
	for range count {
		out = append(out, setRequest...)
	}
	return out
}

func BenchmarkPipelineParse(b *testing.B) {
	const depth = 16
	input := pipelineOfSets(depth)
	b.Run("resp.ParseRequest", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(input)))
		var args [][]byte
		for b.Loop() {
			for off := 0; off < len(input); {
				n, out, _, err := ParseRequest(input[off:], args, Limits{})
				if n == 0 || err != nil {
					b.Fatalf("at %d: got %d, %v", off, n, err)
				}
				args = out
				off += n
			}
		}
	})
	b.Run("redcon.Reader", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(input)))
		rd := redcon.NewReader(&repeatReader{data: input})
		surplus := 0 // commands read ahead by the previous iteration
		for b.Loop() {
			for surplus < depth {
				cmds, err := rd.ReadCommands()
				if err != nil {
					b.Fatal(err)
				}
				surplus += len(cmds)
			}
			surplus -= depth
		}
	})
}

// repeatReader reads data over and over, as a client that pipelines the same requests forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// unfinishedBulk is a client that declares a 64MB argument, sends all of it but its final CRLF in
// 64KB reads, and then waits: the request can never complete.
type unfinishedBulk struct {
	header    string
	remaining int // bytes of the argument still to send
	sent      int // bytes sent in all
}

const unfinishedBulkSize = 64 << 20

// filler is one read's worth of the argument.
var filler = []byte(strings.Repeat("x", 64<<10))

func newUnfinishedBulk() *unfinishedBulk {
	return &unfinishedBulk{
		header:    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108864\r\n",
		remaining: unfinishedBulkSize,
	}
}

func (u *unfinishedBulk) Read(p []byte) (int, error) {
	if u.header != "" {
		n := copy(p, u.header)
		u.header = u.header[n:]
		u.sent += n
		return n, nil
	}
	if u.remaining == 0 {
		return 0, io.EOF // stands for the client stalling: a network reader would block here
	}
	n := copy(p[:min(len(p), u.remaining)], filler)
	u.remaining -= n
	u.sent += n
	return n, nil
}

// TestRedconBuffersUnfinishedBulk shows that redcon's Reader keeps reading and growing its buffer
// for a declared 64MB argument with no limit, while ParseRequest with MaxBulk of 1MB rejects the
// request as soon as its header arrives.
func TestRedconBuffersUnfinishedBulk(t *testing.T) {
	client := newUnfinishedBulk()
	headerLen := len(client.header)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := redcon.NewReader(client).ReadCommands()
	runtime.ReadMemStats(&after)
	if err != io.EOF {
		t.Fatalf("redcon: got %v; want it to read until the client stalls (io.EOF)", err)
	}
	if want := headerLen + unfinishedBulkSize; client.sent != want {
		t.Fatalf("redcon read %d bytes; want all %d", client.sent, want)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	if allocated < unfinishedBulkSize {
		t.Fatalf("redcon allocated %d bytes; want at least the %d it buffered", allocated, unfinishedBulkSize)
	}
	t.Logf("redcon.Reader: read %d bytes of an unfinished request without complaint, allocating %d MB",
		client.sent, allocated>>20)

	header := []byte(newUnfinishedBulk().header)
	n, _, _, err := ParseRequest(header, nil, Limits{MaxBulk: 1 << 20})
	if n != 0 || !errors.Is(err, ErrOverLimit) {
		t.Fatalf("ParseRequest: got %d, %v; want 0 and a limit error", n, err)
	}
	if !strings.Contains(err.Error(), "67108864 bytes over limit 1048576") {
		t.Errorf("ParseRequest: got %q; want it to name the size and the limit", err)
	}
	t.Logf("resp.ParseRequest: rejected the request after its %d-byte header: %v", len(header), err)
}
