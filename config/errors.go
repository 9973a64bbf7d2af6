package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every problem found in a
// configuration, as opposed to failures to read the file.
var ErrInvalid = errors.New("config: invalid")

// FieldError is one problem with one field. Its message reads
// "pools.main.hash: unknown hash ...".
type FieldError struct {
	Field   string // the key path as written in YAML (pools.main.servers[1]), or a variable's name
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Unwrap makes every FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// syntaxError is a file that is not YAML, or not a map at its top.
type syntaxError struct{ err error }

func (e *syntaxError) Error() string   { return e.err.Error() }
func (e *syntaxError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// problems collects FieldErrors in the order they are found.
type problems []error

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (ps *problems) addErr(field string, err error) {
	*ps = append(*ps, &FieldError{Field: field, Problem: err.Error()})
}

func (ps problems) join() error { return errors.Join(ps...) }
