package proxy

import (
	"bufio"
	"bytes"
)

// The copiers below are backends.Protocol.Copy: what a copy-back says to a server that came
// back restarted or empty, and to its partners, to copy back the keys they hold for it.

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
