package proxy

// The listings below are backends.Protocol.List: they list every key a server holds, for the
// repair of a server whose queue of missed writes overflowed, on a connection of their own
// whose reads and writes the caller bounds with deadlines.

// ListBatch is how many keys a listing hands out at once, and the COUNT of Redis's SCAN: one
// round trip per thousand keys, and batches of deletes no larger than that.
const ListBatch = 1000
