package resp

// Limits caps what one client request may declare, so that a client cannot make the server
// buffer without bound. A field of zero (or less) means the default below.
type Limits struct {
	MaxArgs   int // most elements in one multibulk request
	MaxBulk   int // largest single bulk argument in bytes
	MaxInline int // longest inline command line, and longest multibulk header line
}

// Defaults follow redis-server 7, except MaxArgs: Redis accepts up to 2^31-1 arguments, but
// older Redis capped them at 1024*1024, which no real command needs to exceed.
const (
	DefaultMaxArgs   = 1024 * 1024       // Redis < 7 multibulk cap
	DefaultMaxBulk   = 512 * 1024 * 1024 // Redis proto-max-bulk-len
	DefaultMaxInline = 64 * 1024         // Redis PROTO_INLINE_MAX_SIZE
)

// orDefaults fills in the zero fields.
func (l Limits) orDefaults() Limits {
	if l.MaxArgs <= 0 {
		l.MaxArgs = DefaultMaxArgs
	}
	if l.MaxBulk <= 0 {
		l.MaxBulk = DefaultMaxBulk
	}
	if l.MaxInline <= 0 {
		l.MaxInline = DefaultMaxInline
	}
	return l
}
