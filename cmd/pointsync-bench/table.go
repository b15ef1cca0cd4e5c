package main

import (
	"fmt"
	"io"
	"strings"
)

// result is one row of the table.
type result struct {
	measure string
	backend string
	figure  string
	limit   string  // "" when the measure has no limit
	ratio   float64 // figure / limit; 0 when there is no limit
	peakRSS int64   // bytes of the process that did the work; 0 when not measured
	target  string  // "" when there is none
	met     *bool   // nil when there is no target
}

func (b *bench) add(r result) {
	b.results = append(b.results, r)
	fmt.Fprintf(b.log, "   %s: %s", r.measure, r.figure)
	if r.limit != "" {
		fmt.Fprintf(b.log, " (limit %s, ratio %.2f)", r.limit, r.ratio)
	}
	if r.peakRSS > 0 {
		fmt.Fprintf(b.log, ", peak RSS %s", mib(r.peakRSS))
	}
	fmt.Fprintln(b.log)
}

// print writes the table (Markdown, readable as it is in a terminal) and
// the notes on sizes and counts.
func (b *bench) print(w io.Writer) {
	if len(b.results) == 0 {
		return
	}
	rows := [][]string{{"measure", "backend", "figure", "limit", "ratio", "peak RSS", "target", "met"}}
	for _, r := range b.results {
		ratio, rss, met := "", "", ""
		if r.limit != "" && r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		if r.peakRSS > 0 {
			rss = mib(r.peakRSS)
		}
		if r.met != nil {
			met = map[bool]string{true: "yes", false: "no"}[*r.met]
		}
		rows = append(rows, []string{r.measure, r.backend, r.figure, r.limit, ratio, rss, r.target, met})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	line := func(row []string) {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = c + strings.Repeat(" ", widths[i]-len(c))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	line(rows[0])
	sep := make([]string, len(widths))
	for i, n := range widths {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
	if len(b.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range b.notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// rate is a count per second, rounded, with its unit.
func rate(n float64, unit string) string { return thousands(int64(n+0.5)) + " " + unit + "/s" }

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func yes(b bool) *bool { return &b }
