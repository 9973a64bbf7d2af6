package proxy

// KeyList holds copies of keys in one buffer, for requests whose replies are finished after the
// client's input they came from is gone; it is reused without allocating once it has grown.
type KeyList struct {
	buf  []byte
	ends []int // key i ends at buf[ends[i]]
}

func (l *KeyList) Add(key []byte) {
	l.buf = append(l.buf, key...)
	l.ends = append(l.ends, len(l.buf))
}

func (l *KeyList) Len() int { return len(l.ends) }

// At returns key i.
func (l *KeyList) At(i int) []byte {
	start := 0
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.buf[start:l.ends[i]]
}

func (l *KeyList) Reset() { l.buf, l.ends = l.buf[:0], l.ends[:0] }
