package embedded

import (
	"strconv"
	"strings"

	"github.com/discoh/discoh/mcproto"
)

// The meta commands. Flags are checked as memcached 1.6.18 checks them; valid flags the
// embedded server does not act on are refused rather than ignored.
var (
	metaValid = map[mcproto.Kind]string{
		mcproto.MetaGet:    "CDFIJLMNOPRTbcfhklqstuv",
		mcproto.MetaSet:    "CDFIJLMNOPRTbcfhklqstuv",
		mcproto.MetaDelete: "CDFIJLMNOPRTcfhklqstuv",
	}
	metaImplemented = map[mcproto.Kind]string{
		mcproto.MetaGet:    "OTcfkqstv",
		mcproto.MetaSet:    "CFMOTckq",
		mcproto.MetaDelete: "COkq",
	}
	// metaModes maps ms's M flag to the classic command it behaves as.
	metaModes = map[byte]mcproto.Kind{0: mcproto.Set, 'S': mcproto.Set, 'E': mcproto.Add,
		'A': mcproto.Append, 'P': mcproto.Prepend, 'R': mcproto.Replace}
	// metaCodes maps classic replies to meta return codes.
	metaCodes = map[string]string{"STORED": "HD", "DELETED": "HD", "NOT_STORED": "NS",
		"EXISTS": "EX", "NOT_FOUND": "NF"}
)

const (
	errNotSupported = "SERVER_ERROR not supported by the embedded server"
	errBadToken     = "CLIENT_ERROR bad token in command line format"
	// maxOpaque is memcached's longest O flag token, the O included.
	maxOpaque = 32
)

// metaFlags is what a meta command's flags ask for.
type metaFlags struct {
	ret    [][]byte // the flags that shape the reply (c, f, k, O, s, t, T), in request order
	value  bool     // v
	flags  uint32   // F
	ttl    int64    // T
	hasTTL bool
	cas    uint64 // C
	hasCas bool
	mode   byte // M
}

// parseMetaFlags reads a meta command's flags, or returns the error line to reply.
func parseMetaFlags(k mcproto.Kind, args [][]byte) (f metaFlags, errLine string) {
	var seen [256]bool
	supported := true
	for _, a := range args {
		c := a[0]
		if seen[c] || !containsByte(metaValid[k], c) {
			return f, invalidFlag(k, seen[c])
		}
		seen[c] = true
		supported = supported && containsByte(metaImplemented[k], c)
		if errLine := f.apply(a); errLine != "" {
			return f, errLine
		}
	}
	if !supported {
		return f, errNotSupported
	}
	return f, ""
}

func containsByte(s string, c byte) bool { return strings.IndexByte(s, c) >= 0 }

// invalidFlag words the error for an unknown or repeated flag as memcached 1.6.18 does.
func invalidFlag(k mcproto.Kind, duplicate bool) string {
	switch {
	case k == mcproto.MetaDelete:
		return "CLIENT_ERROR invalid or duplicate flag"
	case duplicate:
		return "CLIENT_ERROR duplicate flag"
	}
	return "CLIENT_ERROR invalid flag"
}

// apply records one flag token, or returns the error line for a bad one.
func (f *metaFlags) apply(tok []byte) string {
	var err error
	switch arg := string(tok[1:]); tok[0] {
	case 'v':
		f.value = true
	case 'c', 'f', 'k', 's', 't':
		f.ret = append(f.ret, tok)
	case 'O':
		f.ret = append(f.ret, tok)
		if len(tok) > maxOpaque {
			return "CLIENT_ERROR opaque token too long"
		}
	case 'F':
		var v uint64
		v, err = strconv.ParseUint(arg, 10, 32)
		f.flags = uint32(v)
		return errorLine(err, "CLIENT_ERROR bad command line format")
	case 'T':
		f.ret = append(f.ret, tok) // t flags after it show the new time to live
		f.ttl, err = strconv.ParseInt(arg, 10, 32)
		f.hasTTL = true
		return errorLine(err, errBadToken)
	case 'C':
		f.cas, err = strconv.ParseUint(arg, 10, 64)
		f.hasCas = true
		return errorLine(err, errBadToken)
	case 'M':
		f.mode = tok[len(tok)-1]
		if len(tok) != 2 {
			return "CLIENT_ERROR incorrect length for M token"
		}
	}
	return ""
}

func errorLine(err error, line string) string {
	if err != nil {
		return line
	}
	return ""
}

// meta runs mn, mg, ms and md; ma and me are not supported.
func (s *session) meta(req *mcproto.Request) {
	if req.Kind == mcproto.MetaNoop {
		s.line("MN")
		return
	}
	if _, ok := metaValid[req.Kind]; !ok {
		s.line(errNotSupported)
		return
	}
	f, errLine := parseMetaFlags(req.Kind, req.Args)
	switch {
	case errLine != "": // sent whatever q says
		s.line(errLine)
	case req.Kind == mcproto.MetaGet:
		s.metaGet(req, f)
	case req.Kind == mcproto.MetaSet:
		s.metaSet(req, f)
	default:
		s.metaOutcome(req, s.m.store.remove(req.Keys[0], f.cas, f.hasCas), f.ret, nil)
	}
}

// line appends a reply line that noreply does not hold back.
func (s *session) line(l string) { s.out = append(append(s.out, l...), "\r\n"...) }

func (s *session) metaGet(req *mcproto.Request, f metaFlags) {
	h, ok := s.m.store.lookup(req.Keys[0], f.hasTTL, f.ttl)
	switch {
	case !ok:
		s.metaReply(req, "EN", f.ret, nil)
	case f.value:
		s.metaReply(req, "VA "+strconv.Itoa(len(h.data)), f.ret, &h)
		s.out = append(append(s.out, h.data...), "\r\n"...)
	default:
		s.metaReply(req, "HD", f.ret, &h)
	}
}

// metaSet runs ms as the classic command its M flag names; C makes a set a cas.
func (s *session) metaSet(req *mcproto.Request, f metaFlags) {
	op, ok := metaModes[f.mode]
	if !ok {
		s.line("CLIENT_ERROR invalid mode for ms M token")
		return
	}
	if f.hasCas && op == mcproto.Set {
		op = mcproto.Cas
	}
	classic := mcproto.Request{Kind: op, Keys: req.Keys, Flags: f.flags, Exptime: f.ttl,
		Cas: f.cas, Data: req.Data}
	reply, cas := s.m.store.set(&classic)
	s.metaOutcome(req, reply, f.ret, &hit{cas: cas}) // c shows 0 when nothing was stored
}

// metaOutcome answers ms or md with the meta code of the classic outcome, or with the
// error line the store returned.
func (s *session) metaOutcome(req *mcproto.Request, reply string, ret [][]byte, h *hit) {
	if code, ok := metaCodes[reply]; ok {
		s.metaReply(req, code, ret, h)
		return
	}
	s.line(reply)
}

// metaReply appends a meta reply line with the requested return flags; a miss (h == nil)
// shows only k and O. The q flag holds back what memcached holds back.
func (s *session) metaReply(req *mcproto.Request, code string, ret [][]byte, h *hit) {
	start := len(s.out)
	s.out = append(s.out, code...)
	for _, tok := range ret {
		if tok[0] == 'T' && h != nil {
			h.ttl = h.touchedTTL // memcached applies T where it stands among the flags
			continue
		}
		s.out = appendRetFlag(s.out, tok, req.Keys[0], h)
	}
	s.out = append(s.out, "\r\n"...)
	if req.Noreply && mcproto.QuietSuppressed(req.Kind, s.out[start:]) {
		s.out = s.out[:start]
	}
}

func appendRetFlag(out, tok, key []byte, h *hit) []byte {
	switch {
	case tok[0] == 'k':
		return append(append(out, " k"...), key...)
	case tok[0] == 'O':
		return append(append(out, ' '), tok...)
	case h == nil || tok[0] == 'T':
		return out
	}
	out = append(out, ' ', tok[0])
	switch tok[0] {
	case 'c':
		return strconv.AppendUint(out, h.cas, 10)
	case 'f':
		return strconv.AppendUint(out, uint64(h.flags), 10)
	case 's':
		return strconv.AppendInt(out, int64(len(h.data)), 10)
	}
	return strconv.AppendInt(out, h.ttl, 10) // t
}
