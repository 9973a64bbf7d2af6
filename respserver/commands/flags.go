package commands

// Flag is a set of the command flags Redis publishes in COMMAND ("write",
// "readonly", "denyoom", ...).
type Flag uint64

// Command flags, one per flag name Redis 7.0 publishes.
const (
	Write           Flag = 1 << iota // "write": may modify the keyspace
	ReadOnly                         // "readonly": only reads keys
	DenyOOM                          // "denyoom": refused when memory is over maxmemory
	Admin                            // "admin": administrative, not for applications
	PubSub                           // "pubsub": publish/subscribe
	NoScript                         // "noscript": not allowed inside scripts
	Blocking                         // "blocking": may block the client
	Loading                          // "loading": allowed while the dataset loads
	Stale                            // "stale": allowed on a replica with stale data
	SkipMonitor                      // "skip_monitor": not shown to MONITOR
	SkipSlowlog                      // "skip_slowlog": not logged in SLOWLOG
	Asking                           // "asking": accepted on an importing cluster slot
	Fast                             // "fast": O(1) or O(log N)
	NoAuth                           // "no_auth": allowed before authentication
	NoAsyncLoading                   // "no_async_loading": refused during async loading
	NoMandatoryKeys                  // "no_mandatory_keys": may be called with no keys
	NoMulti                          // "no_multi": not allowed inside MULTI
	MovableKeys                      // "movablekeys": key positions depend on the arguments
	AllowBusy                        // "allow_busy": allowed while a script is busy
)

// Has reports whether f holds every flag in want.
func (f Flag) Has(want Flag) bool { return f&want == want }

// Category is a set of the ACL categories Redis publishes in COMMAND
// ("@read", "@string", "@dangerous", ...).
type Category uint64

// ACL categories, one per category Redis 7.0 publishes.
const (
	CatKeyspace    Category = 1 << iota // "@keyspace"
	CatRead                             // "@read"
	CatWrite                            // "@write"
	CatSet                              // "@set"
	CatSortedSet                        // "@sortedset"
	CatList                             // "@list"
	CatHash                             // "@hash"
	CatString                           // "@string"
	CatBitmap                           // "@bitmap"
	CatHyperLogLog                      // "@hyperloglog"
	CatGeo                              // "@geo"
	CatStream                           // "@stream"
	CatPubSub                           // "@pubsub"
	CatAdmin                            // "@admin"
	CatFast                             // "@fast"
	CatSlow                             // "@slow"
	CatBlocking                         // "@blocking"
	CatDangerous                        // "@dangerous"
	CatConnection                       // "@connection"
	CatTransaction                      // "@transaction"
	CatScripting                        // "@scripting"
)

// Has reports whether c holds every category in want.
func (c Category) Has(want Category) bool { return c&want == want }

// KeyFlag is a set of key spec flags: how a command uses the keys one spec
// finds ("RW", "access", "incomplete", ...).
type KeyFlag uint32

// Key spec flags, one per flag name Redis 7.0 publishes.
const (
	KeyRO            KeyFlag = 1 << iota // "RO": reads the key
	KeyRW                                // "RW": reads and modifies the key
	KeyOW                                // "OW": overwrites the key without reading it
	KeyRM                                // "RM": removes the key
	KeyAccess                            // "access": returns or uses the value
	KeyUpdate                            // "update": updates the value
	KeyInsert                            // "insert": adds data, never changes existing data
	KeyDelete                            // "delete": deletes data from the value
	KeyNotKey                            // "not_key": a channel or other non-key name in a key position
	KeyIncomplete                        // "incomplete": the spec may miss some keys
	KeyVariableFlags                     // "variable_flags": the flags depend on the arguments
)

// Has reports whether f holds every flag in want.
func (f KeyFlag) Has(want KeyFlag) bool { return f&want == want }
