package proxy

import (
	"bufio"
	"bytes"
)

// Helpers of the protocols' backends.Protocol: listing every key a server holds (List, for the
// repair of a server whose queue of missed writes overflowed), and copying back the keys of a
// server that came back restarted or empty (Copy).

// ListBatch is how many keys a listing hands out at once, and the COUNT of Redis's SCAN: one
// round trip per thousand keys, and batches of deletes no larger than that.
const ListBatch = 1000

// StatFields reads "name<sep>value" lines, each after prefix, into a map.
func StatFields(text []byte, sep, prefix string) map[string]string {
	fields := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line, ok := bytes.CutPrefix(bytes.TrimSpace(sc.Bytes()), []byte(prefix))
		if name, value, found := bytes.Cut(line, []byte(sep)); ok && found {
			fields[string(name)] = string(value)
		}
	}
	return fields
}
