package report

import (
	"strings"
	"testing"
)

func TestMarkdownMemoryTable(t *testing.T) {
	mem := []IdleMemory{
		{Target: "twemproxy", Conns: 1000, Before: 2 << 20, With: 3 << 20, File: 1 << 20},
		{Target: "discoh", Conns: 1000, Skipped: "refused\nclients"},
		{Target: "direct", Conns: 1000, Before: 3 << 20, With: 7 << 20, File: 3 << 20},
	}
	var b strings.Builder
	if err := Markdown(&b, "t", nil, nil, mem); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## Memory with 1000 idle clients",
		"| twemproxy | 2.0 | 3.0 | 1.0 | 2.0 | 1.02 |", // (3-2) MB / 1000 clients = 1.02 KB
		"| discoh | skipped: refused clients | | | | |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "discoh ÷ twemproxy") {
		t.Errorf("ratios reported for a skipped discoh:\n%s", out)
	}
}

func TestMarkdownMemoryRatios(t *testing.T) {
	mem := []IdleMemory{
		{Target: "twemproxy (t)", Conns: 1000, Before: 2 << 20, With: 4 << 20, File: 2 << 20},
		{Target: "discoh (d)", Conns: 1000, Before: 8 << 20, With: 12 << 20, File: 6 << 20},
	}
	var b strings.Builder
	if err := Markdown(&b, "t", nil, nil, mem); err != nil {
		t.Fatal(err)
	}
	want := "discoh ÷ twemproxy with the clients: RSS 3.00×, private memory 3.00×, KB per client 2.00×."
	if out := b.String(); !strings.Contains(out, want) {
		t.Errorf("missing %q in:\n%s", want, out)
	}
}
