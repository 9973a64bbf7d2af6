package backends

import "bytes"

// lineFramer frames one-line replies ("+OK\r\n"), for the tests' tiny servers: the real
// framers belong to the protocols (packages respserver and mcserver).
func lineFramer(buf []byte, _ uint8) (int, error) {
	return bytes.IndexByte(buf, '\n') + 1, nil
}
