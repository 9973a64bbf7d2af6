package ring

import "bytes"

// HashTag returns the part of key that twemproxy hashes when the pool sets
// hash_tag to tag, a two-byte string such as "{}": the bytes between the
// first tag[0] and the next tag[1] after it, when there are any; otherwise
// the whole key. Any tag that is not exactly two bytes means no hash tag.
// The result shares key's memory.
func HashTag(key []byte, tag string) []byte {
	if len(tag) != 2 {
		return key
	}
	open := bytes.IndexByte(key, tag[0])
	if open < 0 {
		return key
	}
	inner := key[open+1:]
	end := bytes.IndexByte(inner, tag[1])
	if end <= 0 {
		return key
	}
	return inner[:end]
}
