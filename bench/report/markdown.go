package report

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// IdleMemory is a server's RSS before and while Conns idle clients are
// connected to it.
type IdleMemory struct {
	Target  string
	Conns   int
	Before  int64 // bytes
	With    int64 // bytes
	File    int64 // bytes of With that are file-backed
	Skipped string
}

// Markdown writes the report: notes as a list, then per group a table of
// medians and a table of ratios, then the idle-connection memory table.
func Markdown(w io.Writer, title string, notes []string, rows []*Row, mem []IdleMemory) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	for _, group := range groups(rows) {
		writeMedians(&b, group, inGroup(rows, group))
		writeRatios(&b, inGroup(rows, group))
	}
	writeMemory(&b, mem)
	_, err := io.WriteString(w, b.String())
	return err
}

// groups returns the rows' groups in their first-seen order.
func groups(rows []*Row) []string {
	var out []string
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1] != r.Group {
			out = append(out, r.Group)
		}
	}
	return out
}

func inGroup(rows []*Row, group string) []*Row {
	var out []*Row
	for _, r := range rows {
		if r.Group == group {
			out = append(out, r)
		}
	}
	return out
}

func writeMedians(b *strings.Builder, group string, rows []*Row) {
	fmt.Fprintf(b, "\n## %s: medians\n\n", group)
	b.WriteString("| workload | target | ops/s | p50 ms | p99 ms | CPU s per M req | peak RSS MB |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		if r.Skipped != "" {
			fmt.Fprintf(b, "| %s | skipped: %s | | | | | |\n", r.Name, oneLine(r.Skipped))
			continue
		}
		for _, t := range Targets {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Name, t,
				num(r.Median(t, Throughput), 0), num(r.Median(t, LatencyP50), 3),
				num(r.Median(t, LatencyP99), 3), num(r.Median(t, CPU), 2),
				num(r.Median(t, Memory)/(1<<20), 1))
		}
	}
}

func writeRatios(b *strings.Builder, rows []*Row) {
	rows = ranRows(rows)
	if len(rows) == 0 {
		return
	}
	b.WriteString("\nRatios (median of the per-round ratios):\n\n")
	b.WriteString("| workload | twemproxy ÷ direct ops/s | discoh ÷ direct ops/s | discoh ÷ twemproxy ops/s | discoh ÷ twemproxy CPU per req | discoh ÷ twemproxy p99 |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", r.Name,
			num(r.Ratio(Twemproxy, Direct, Throughput), 2), num(r.Ratio(Discoh, Direct, Throughput), 2),
			num(r.Ratio(Discoh, Twemproxy, Throughput), 2), num(r.Ratio(Discoh, Twemproxy, CPU), 2),
			num(r.Ratio(Discoh, Twemproxy, LatencyP99), 2))
	}
}

func writeMemory(b *strings.Builder, mem []IdleMemory) {
	if len(mem) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Memory with %d idle clients\n\n", mem[0].Conns)
	b.WriteString("| server | RSS before MB | RSS with the clients MB | of which file-backed MB | private (RSS − file-backed) MB | KB per client |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	for _, m := range mem {
		if m.Skipped != "" {
			fmt.Fprintf(b, "| %s | skipped: %s | | | | |\n", m.Target, oneLine(m.Skipped))
			continue
		}
		perConn := float64(m.With-m.Before) / float64(m.Conns) / 1024
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", m.Target, mb(m.Before), mb(m.With), mb(m.File),
			mb(m.With-m.File), num(perConn, 2))
	}
	d, tw := memoryOf(mem, "discoh"), memoryOf(mem, "twemproxy")
	if d != nil && tw != nil {
		fmt.Fprintf(b, "\ndiscoh ÷ twemproxy with the clients: RSS %s×, private memory %s×, KB per client %s×.\n",
			num(float64(d.With)/float64(tw.With), 2), num(float64(d.With-d.File)/float64(tw.With-tw.File), 2),
			num(float64(d.With-d.Before)/float64(tw.With-tw.Before), 2))
	}
}

func mb(bytes int64) string { return num(float64(bytes)/(1<<20), 1) }

// memoryOf returns the measurement of the target whose name starts with name, if it was made.
func memoryOf(mem []IdleMemory, name string) *IdleMemory {
	for i := range mem {
		if strings.HasPrefix(mem[i].Target, name) && mem[i].Skipped == "" {
			return &mem[i]
		}
	}
	return nil
}

// num formats x with prec decimals, or a dash when there is no value.
func num(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return fmt.Sprintf("%.*f", prec, x)
}

// oneLine keeps a reason from breaking a table row.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "|", "/").Replace(s)
}
