package resp

// Shape is the type of reply a request can get, where it is known. A reply of another type
// means the replies on a connection are out of step with its requests (a server sent one
// nobody asked for, or skipped one): the connection must not be trusted with another reply.
type Shape uint8

// Reply shapes.
const (
	AnyReply    Shape = iota // not known: any reply
	BulkReply                // GET: a bulk string or null
	StatusReply              // SET: +OK, or a bulk string or null (SET ... GET, NX, XX)
	IntReply                 // DEL, INCR: an integer
	ArrayReply               // MGET: an array, or null
)

// Allows reports whether a reply that starts with the byte first can answer a request of shape
// s. An error answers any request, and so does an attribute, which comes before a reply.
func (s Shape) Allows(first byte) bool {
	switch first {
	case '-', '!', '|':
		return true
	}
	switch s {
	case BulkReply:
		return first == '$' || first == '_'
	case StatusReply:
		return first == '+' || first == '$' || first == '_'
	case IntReply:
		return first == ':'
	case ArrayReply:
		return first == '*' || first == '_'
	}
	return true
}
