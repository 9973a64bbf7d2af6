package mcproto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches every limit.
var fuzzLimits = Limits{MaxKeys: 4, ItemSizeMax: 64, MaxLine: minMaxLine}

// FuzzParse parses arbitrary input whole and cut at a split point: no panic, n within the
// input, an error that lets the caller progress, the same verdict from any prefix that
// reaches one, and requests that survive re-encoding. Seeded with the traffic that
// TestMatchesMemcached checks against memcached.
func FuzzParse(f *testing.F) {
	for _, tc := range trafficCases {
		if len(tc.input) < 4096 {
			f.Add([]byte(tc.input), uint(len(tc.input)/2))
		}
	}
	f.Fuzz(func(t *testing.T, input []byte, split uint) {
		var p Parser
		whole := parseOutcome(t, &p, input, fuzzLimits)
		checkOutcome(t, input, whole)
		part := parseOutcome(t, &p, input[:split%uint(len(input)+1)], fuzzLimits)
		if decided(part) && !reflect.DeepEqual(part, whole) {
			t.Fatalf("Parse of the first %d bytes of %q = %+v; the whole gets %+v", split%uint(len(input)+1), input, part, whole)
		}
		if whole.N > 0 {
			checkReencoding(t, &p, input[:whole.N], whole)
		}
	})
}

func checkOutcome(t *testing.T, input []byte, o outcome) {
	if o.N < 0 || o.N > len(input) {
		t.Fatalf("Parse(%q) = %d; want 0..%d", input, o.N, len(input))
	}
	if o.Err != nil && o.Err.Skip <= 0 && !o.Err.Close {
		t.Fatalf("Parse(%q) error %+v neither skips nor closes", input, *o.Err)
	}
	if o.N == 0 {
		return
	}
	if len(o.Keys) > fuzzLimits.MaxKeys || len(o.Data) > fuzzLimits.ItemSizeMax {
		t.Fatalf("Parse(%q) = %d keys, %d data bytes; over the limits %+v", input, len(o.Keys), len(o.Data), fuzzLimits)
	}
	for _, k := range o.Keys {
		if len(k) > KeyMaxLength || len(k) == 0 {
			t.Fatalf("Parse(%q) key %q of %d bytes", input, k, len(k))
		}
	}
}

// checkReencoding re-encodes a parsed storage or retrieval request and parses it back.
func checkReencoding(t *testing.T, p *Parser, raw []byte, o outcome) {
	var req Request
	if _, err := p.Parse(raw, fuzzLimits, &req); err != nil {
		t.Fatalf("Parse(%q) alone: %v", raw, err)
	}
	var encoded []byte
	switch {
	case req.Kind.IsStorage():
		encoded = AppendStorage(nil, &req, req.Noreply)
	case req.Kind.IsRetrieval() && len(req.Keys) > 0:
		encoded = AppendGetLine(nil, req.Kind, req.Exptime, req.Keys...)
	default:
		return
	}
	if line := bytes.IndexByte(encoded, '\n'); line > fuzzLimits.MaxLine && !isMultiGet(encoded) {
		// The input's line ended in a bare '\n' right at the limit: the '\r' the encoding adds
		// takes it past, as it would for memcached.
		return
	}
	again := parseOutcome(t, p, encoded, fuzzLimits)
	o.N, o.Line, o.Args = again.N, again.Line, again.Args
	if !reflect.DeepEqual(again, o) {
		t.Fatalf("%q re-encoded as %q parses as %+v; want %+v", raw, encoded, again, o)
	}
}

// FuzzScanResponse scans arbitrary replies whole and cut at a split point: no panic, n
// within the input, the same verdict from any prefix that reaches one, and get replies
// that NextValue walks exactly. Seeded with replies captured from memcached.
func FuzzScanResponse(f *testing.F) {
	seeds := []struct {
		kind Kind
		resp string
	}{
		{Gets, twoValues}, {Get, oomMidway}, {Get, "END\r\n"}, {Stats, statsReply},
		{MetaGet, metaValue}, {MetaArithmetic, metaArith}, {MetaDebug, metaDebug},
		{Set, "STORED\r\n"}, {Incr, "15\r\n"}, {Version, "VERSION 1.6.18\r\n"},
		{Get, "CLIENT_ERROR bad command line format\r\n"}, {Stats, "RESET\r\n"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.resp), uint8(s.kind), uint(len(s.resp)/2))
	}
	f.Fuzz(func(t *testing.T, resp []byte, kind uint8, split uint) {
		k := Kind(kind % uint8(len(names)+1))
		n, err := ScanResponse(resp, k)
		if n < 0 || n > len(resp) || (err != nil && n != 0) {
			t.Fatalf("ScanResponse(%q, %v) = %d, %v; want 0..%d, and 0 with an error", resp, k, n, err, len(resp))
		}
		s := split % uint(len(resp)+1)
		pn, perr := ScanResponse(resp[:s], k)
		if (pn > 0 || perr != nil) && (pn != n || (perr == nil) != (err == nil)) {
			t.Fatalf("ScanResponse of the first %d bytes of %q = %d, %v; the whole gets %d, %v", s, resp, pn, perr, n, err)
		}
		if n > 0 && k.IsRetrieval() {
			walkValues(t, resp[:n])
		}
	})
}

// walkValues requires NextValue to cover a framed get reply exactly, block by block.
func walkValues(t *testing.T, resp []byte) {
	covered := 0
	for rest := resp; ; {
		v, next, ok, err := NextValue(rest)
		if errors.Is(err, ErrErrorReply) {
			covered += len(rest)
			break
		}
		if err != nil {
			t.Fatalf("NextValue in %q: %v", resp, err)
		}
		if !ok {
			covered += len(rest) - len(next)
			break
		}
		if !bytes.HasSuffix(v.Raw, append(v.Data, "\r\n"...)) || !bytes.Equal(v.Raw, rest[:len(v.Raw)]) {
			t.Fatalf("NextValue block %q does not hold its data %q", v.Raw, v.Data)
		}
		covered += len(v.Raw)
		rest = next
	}
	if covered != len(resp) {
		t.Fatalf("NextValue covered %d bytes of the %d-byte reply %q", covered, len(resp), resp)
	}
}
