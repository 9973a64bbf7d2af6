package report

import (
	"strings"
	"testing"
)

func TestMarkdownMemoryTable(t *testing.T) {
	mem := []IdleMemory{
		{Target: "twemproxy", Conns: 1000, Before: 2 << 20, With: 3 << 20, File: 1 << 20},
		{Target: "discoh", Conns: 1000, Skipped: "refused\nclients"},
	}
	var b strings.Builder
	if err := Markdown(&b, "t", nil, nil, mem); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## Memory with 1000 idle clients",
		"| twemproxy | 2.0 | 3.0 | 1.0 | 1.02 |", // (3-2) MB / 1000 clients = 1.02 KB
		"| discoh | skipped: refused clients | | | |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
