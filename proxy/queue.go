package proxy

// FlushQueue finishes every queued reply in order into dst, handing dst to spill whenever it
// grows to spillAt bytes (frontend.SpillBytes). Once spill fails (the client is gone) it still finishes every reply, so their
// calls are waited for and released, but keeps nothing.
func FlushQueue[R any](queue []R, dst []byte, spillAt int, spill func([]byte) error, finish func([]byte, *R) []byte) ([]byte, error) {
	var err error
	var zero R
	for i := range queue {
		dst = finish(dst, &queue[i])
		queue[i] = zero
		if err != nil {
			dst = dst[:0]
		} else if len(dst) >= spillAt {
			err = spill(dst)
			dst = dst[:0]
		}
	}
	return dst, err
}

// What a shed session keeps of its buffers for the next client: queues of up to KeptReplies
// replies and byte buffers of up to KeptBytes. Larger ones were for a deep pipeline or a
// large reply, and are dropped.
const (
	KeptReplies = 64
	KeptBytes   = 4 << 10
)

// KeptKeys is the most key positions kept from one request for the next: a million-argument
// MSET's must not stay with the session.
const KeptKeys = 4096

// Kept returns b emptied, or nil when its capacity is over max.
func Kept[E any](b []E, max int) []E {
	if cap(b) > max {
		return nil
	}
	return b[:0]
}
