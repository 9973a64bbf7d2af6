package mcproto

import "strconv"

// Kind is the command of a request.
type Kind uint8

// The commands Parse recognises. Unknown is the zero value, for a line that is not a command.
const (
	Unknown Kind = iota
	Get
	Gets
	Gat
	Gats
	Set
	Add
	Replace
	Append
	Prepend
	Cas
	Delete
	Incr
	Decr
	Touch
	FlushAll
	Version
	Verbosity
	Stats
	Quit
	MetaGet
	MetaSet
	MetaDelete
	MetaArithmetic
	MetaNoop
	MetaDebug
	// Discoh is discoh's own command, discoh read|pull <key>, which no memcached knows.
	Discoh
)

// names holds each kind's command name, as written on the wire.
var names = [...]string{
	Unknown:        "unknown",
	Get:            "get",
	Gets:           "gets",
	Gat:            "gat",
	Gats:           "gats",
	Set:            "set",
	Add:            "add",
	Replace:        "replace",
	Append:         "append",
	Prepend:        "prepend",
	Cas:            "cas",
	Delete:         "delete",
	Incr:           "incr",
	Decr:           "decr",
	Touch:          "touch",
	FlushAll:       "flush_all",
	Version:        "version",
	Verbosity:      "verbosity",
	Stats:          "stats",
	Quit:           "quit",
	MetaGet:        "mg",
	MetaSet:        "ms",
	MetaDelete:     "md",
	MetaArithmetic: "ma",
	MetaNoop:       "mn",
	MetaDebug:      "me",
	Discoh:         "discoh",
}

// String returns the command name, such as "get" or "mg".
func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsRetrieval reports whether k is get, gets, gat or gats: multi-key, answered with VALUE
// blocks and END.
func (k Kind) IsRetrieval() bool { return k >= Get && k <= Gats }

// IsStorage reports whether k is set, add, replace, append, prepend or cas: a command line
// followed by a data block.
func (k Kind) IsStorage() bool { return k >= Set && k <= Cas }

// IsMeta reports whether k is one of the meta commands (mg, ms, md, ma, mn, me).
func (k Kind) IsMeta() bool { return k >= MetaGet && k <= MetaDebug }

// kinds maps each command name to its kind. "bget" is memcached's undocumented alias of "get".
var kinds = func() map[string]Kind {
	m := map[string]Kind{"bget": Get}
	for k := Get; int(k) < len(names); k++ {
		m[names[k]] = k
	}
	return m
}()

// kindOf returns the kind named by a command token, or Unknown.
func kindOf(name []byte) Kind { return kinds[string(name)] }
