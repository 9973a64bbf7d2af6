package replay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// journal is a queue's file: appended to as keys come, rewritten whole
// when the queue is compacted.
type journal struct {
	path string
	f    *os.File // open for appending; nil until the first rewrite
}

// fileName is the queue file's name for a server: the name with bytes
// other than letters, digits, '.', '_' and '-' written as %XX, so any
// server name ("10.0.0.1:6379", "cache/a") maps to one file in the data
// directory and no two names share one.
func fileName(server string) string {
	var b strings.Builder
	for _, c := range []byte(server) {
		if safeInName(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteString(".replay")
	return b.String()
}

func safeInName(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// maxFileSize is the largest file a queue of limit keys can leave behind: a
// filter record, the hash records appended after it before a rewrite, and
// limit+1 keys at MaxKeySize (written beside the filter of a Repair in
// progress), plus a lost record.
func maxFileSize(limit int) int64 {
	keys := int64(limit+1) * (recordHead + MaxKeySize)
	hashes := int64(maxHashes(limit)) * (recordHead + hashSize)
	return int64(len(header)) + recordHead + filterBytes + hashes + keys + recordHead
}

// maxHashes is how many hash records the file takes after its filter before
// it is rewritten: the queue's limit, or 65,536 (1.1 MB, half the filter) if
// that is more, so a small limit does not cost a 2 MB rewrite every few keys.
func maxHashes(limit int) int { return max(limit, 1<<16) }

// readJournal returns the file's bytes, nothing if it does not exist, and
// an error wrapping ErrCorrupt if it is larger than maxSize.
func readJournal(path string, maxSize int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("replay: reading %s: %w", path, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, maxSize)
	}
	return data, nil
}

// append writes buf at the end of the file and syncs it to disk.
func (j *journal) append(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if j.f == nil {
		return fmt.Errorf("replay: %s is not open", j.path)
	}
	if _, err := j.f.Write(buf); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// rewrite replaces the file with buf atomically: a crash leaves either
// the old file or the new one, never a mix.
func (j *journal) rewrite(buf []byte) error {
	tmp := j.path + ".tmp"
	if err := writeSynced(tmp, buf); err != nil {
		return err
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := syncDir(filepath.Dir(j.path)); err != nil {
		return err
	}
	return j.reopen()
}

func writeSynced(path string, buf []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// reopen points f at the file now at path.
func (j *journal) reopen() error {
	if err := j.close(); err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	j.f = f
	return nil
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}
