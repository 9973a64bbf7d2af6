package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestBodyVersion(t *testing.T) {
	tests := []struct {
		body    string
		want    int64
		wantErr bool
	}{
		{"v1:initial", 1, false},
		{"v42:w3", 42, false},
		{"v7:", 7, false},
		{"v7:payload:with:colons", 7, false},
		{"", 0, true},
		{"v", 0, true},
		{"7:x", 0, true},
		{"v7", 0, true},
		{"vx:y", 0, true},
		{"v0:zero", 0, true},
		{"v-3:negative", 0, true},
		{"v+3:signed", 0, true},
		{"v03:leading zero", 0, true},
		{"v99999999999999999999:overflow", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := bodyVersion(tt.body)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("bodyVersion(%q) = %d, %v; want %d, error %v", tt.body, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errBody) {
				t.Errorf("error %v; want errBody", err)
			}
		})
	}
}

// FuzzBodyVersion checks that a body is accepted only when it starts with exactly
// "v<version>:", the form the checker's table writes.
func FuzzBodyVersion(f *testing.F) {
	for _, seed := range []string{"v1:initial", "v42:w3", "v:", "vv1:", "v1", "v+1:", "v01:", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := bodyVersion(body)
		if err == nil && !strings.HasPrefix(body, "v"+strconv.FormatInt(v, 10)+":") {
			t.Errorf("bodyVersion(%q) = %d, nil; want an error: the body does not start with v%d:", body, v, v)
		}
		if err == nil && v < 1 {
			t.Errorf("bodyVersion(%q) = %d, nil; want a version of 1 or more", body, v)
		}
	})
}
