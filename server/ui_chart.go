package server

import (
	"fmt"
	"html/template"
	"strings"
)

// uiChartDay is one day of the daily chart.
type uiChartDay struct {
	Date                                string // YYYY-MM-DD
	Issued, Spent, Expired, Outstanding int64
}

// uiChartText is the chart's words in the page's language.
type uiChartText struct {
	Title, Desc, Empty                    string
	Issued, Spent, Expired, Outstanding   string
	FlowsAxis, OutstandingAxis, DateLabel string
}

// Chart geometry, in pixels of the viewBox.
const (
	chartW      = 860
	chartH      = 360
	chartLeft   = 80
	chartRight  = 780
	chartTop    = 30
	chartBottom = 270
	chartTicks  = 5
)

// Series colours (presentation attributes, not style: the CSP allows them).
var uiChartColors = [...]string{"#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a"}

// uiDailyChart draws points issued, spent and expired per day as bars
// against the left axis, and the outstanding balance at the end of each
// day as a line against the right axis. It is pure: the same days and
// words always give the same SVG, to the byte (coordinates are integer
// tenths of a pixel, no floating point).
func uiDailyChart(days []uiChartDay, txt uiChartText, num func(int64) string, day func(string) string) template.HTML {
	var b strings.Builder
	esc := uiSVGText
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title chart-desc">`, chartW, chartH)
	fmt.Fprintf(&b, "\n<title id=\"chart-title\">%s</title>\n<desc id=\"chart-desc\">%s</desc>\n", esc(txt.Title), esc(txt.Desc))
	if len(days) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="chart-empty">%s</text>`+"\n</svg>", chartW/2, chartH/2, esc(txt.Empty))
		return template.HTML(b.String())
	}
	var flowMax, outMin, outMax int64
	for i, d := range days {
		flowMax = max(flowMax, d.Issued, d.Spent, d.Expired)
		if i == 0 {
			outMin, outMax = d.Outstanding, d.Outstanding
		}
		outMin, outMax = min(outMin, d.Outstanding), max(outMax, d.Outstanding)
	}
	flowStep := uiNiceStep(flowMax, chartTicks)
	flowTop := flowStep * chartTicks
	outLo, outStep := uiOutstandingScale(outMin, outMax)
	outTop := outLo + outStep*chartTicks
	plotH := int64(chartBottom - chartTop)
	// y10 maps a value to a y coordinate in tenths of a pixel.
	flowY := func(v int64) int64 { return chartBottom*10 - uiScale(v, plotH*10, flowTop) }
	outY := func(v int64) int64 { return chartBottom*10 - uiScale(v-outLo, plotH*10, outTop-outLo) }

	// Grid and both axes' ticks.
	b.WriteString(`<g class="chart-grid" stroke="#d0d0d0" stroke-width="1">` + "\n")
	for i := int64(0); i <= chartTicks; i++ {
		y := flowY(flowStep * i)
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s"/>`+"\n", chartLeft, uiTenths(y), chartRight, uiTenths(y))
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g class="chart-axis" font-size="11" fill="#333">` + "\n")
	for i := int64(0); i <= chartTicks; i++ {
		y := flowY(flowStep * i)
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end">%s</text>`+"\n", chartLeft-6, uiTenths(y+35), esc(num(flowStep*i)))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="start">%s</text>`+"\n", chartRight+6, uiTenths(y+35), esc(num(outLo+outStep*i)))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" transform="rotate(-90 %d %d)">%s</text>`+"\n",
		18, (chartTop+chartBottom)/2, 18, (chartTop+chartBottom)/2, esc(txt.FlowsAxis))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" transform="rotate(90 %d %d)">%s</text>`+"\n",
		chartW-14, (chartTop+chartBottom)/2, chartW-14, (chartTop+chartBottom)/2, esc(txt.OutstandingAxis))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", chartLeft, chartTop, chartLeft, chartBottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", chartRight, chartTop, chartRight, chartBottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", chartLeft, chartBottom, chartRight, chartBottom)

	// Day labels: at most about ten, evenly spaced.
	n := int64(len(days))
	slot := int64(chartRight-chartLeft) * 10 / n // tenths of a pixel per day
	every := (n + 9) / 10
	for i := int64(0); i < n; i += every {
		x := int64(chartLeft)*10 + slot*i + slot/2
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", uiTenths(x), chartBottom+18, esc(day(days[i].Date)))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (chartLeft+chartRight)/2, chartBottom+38, esc(txt.DateLabel))
	b.WriteString("</g>\n")

	// Bars: issued, spent, expired side by side in each day's slot.
	bar := max(slot*8/10/3, 1)
	for s, name := range []string{"issued", "spent", "expired"} {
		fmt.Fprintf(&b, `<g class="chart-%s" fill="%s">`+"\n", name, uiChartColors[s])
		for i, d := range days {
			v := [...]int64{d.Issued, d.Spent, d.Expired}[s]
			if v == 0 {
				continue
			}
			x := int64(chartLeft)*10 + slot*int64(i) + slot/10 + bar*int64(s)
			y := flowY(v)
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s"><title>%s %s: %s</title></rect>`+"\n",
				uiTenths(x), uiTenths(y), uiTenths(bar), uiTenths(chartBottom*10-y), esc(day(d.Date)), esc([...]string{txt.Issued, txt.Spent, txt.Expired}[s]), esc(num(v)))
		}
		b.WriteString("</g>\n")
	}

	// The outstanding line, a point at the middle of each day's slot.
	fmt.Fprintf(&b, `<polyline class="chart-outstanding" fill="none" stroke="%s" stroke-width="2" points="`, uiChartColors[3])
	for i, d := range days {
		if i > 0 {
			b.WriteByte(' ')
		}
		x := int64(chartLeft)*10 + slot*int64(i) + slot/2
		fmt.Fprintf(&b, "%s,%s", uiTenths(x), uiTenths(outY(d.Outstanding)))
	}
	b.WriteString(`"/>` + "\n")
	if n <= 62 {
		// A point per day with its figure, for a pointer to show.
		fmt.Fprintf(&b, `<g class="chart-outstanding-points" fill="%s">`+"\n", uiChartColors[3])
		for i, d := range days {
			x := int64(chartLeft)*10 + slot*int64(i) + slot/2
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3"><title>%s %s: %s</title></circle>`+"\n",
				uiTenths(x), uiTenths(outY(d.Outstanding)), esc(day(d.Date)), esc(txt.Outstanding), esc(num(d.Outstanding)))
		}
		b.WriteString("</g>\n")
	}

	// Legend.
	b.WriteString(`<g class="chart-legend" font-size="12" fill="#333">` + "\n")
	x := chartLeft
	for s, label := range []string{txt.Issued, txt.Spent, txt.Expired, txt.Outstanding} {
		if s < 3 {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="%s"/>`+"\n", x, chartH-30, uiChartColors[s])
		} else {
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", x, chartH-23, x+14, chartH-23, uiChartColors[s])
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+20, chartH-19, esc(label))
		x += 40 + 8*len([]rune(label))
	}
	b.WriteString("</g>\n</svg>")
	return template.HTML(b.String()) // built from escaped text only
}

// uiScale is v*span/whole in integers, rounded down; whole 0 gives 0.
func uiScale(v, span, whole int64) int64 {
	if whole == 0 {
		return 0
	}
	return v * span / whole
}

// uiTenths writes tenths of a pixel as a decimal ("1234" -> "123.4").
func uiTenths(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	if v%10 == 0 {
		return fmt.Sprintf("%s%d", sign, v/10)
	}
	return fmt.Sprintf("%s%d.%d", sign, v/10, v%10)
}

// uiNiceStep is a tick step of 1, 2 or 5 times a power of ten such that
// ticks steps cover top; at least 1.
func uiNiceStep(top, ticks int64) int64 {
	raw := (top + ticks - 1) / ticks
	if raw < 1 {
		return 1
	}
	mag := int64(1)
	for mag <= raw/10 {
		mag *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// uiOutstandingScale is the right axis: a bottom that is a multiple of the
// step at or below lo (0 when lo is not negative) and a step such that
// chartTicks steps reach hi.
func uiOutstandingScale(lo, hi int64) (bottom, step int64) {
	if lo > 0 {
		lo = 0
	}
	step = uiNiceStep(hi-lo, chartTicks)
	bottom = lo / step * step
	if bottom > lo {
		bottom -= step
	}
	for bottom+step*chartTicks < hi {
		step = uiNiceStep(step*chartTicks+1, chartTicks)
		bottom = lo / step * step
		if bottom > lo {
			bottom -= step
		}
	}
	return bottom, step
}

// uiSVGText escapes s for the text of an SVG element, leaving out what
// XML cannot hold (control characters, invalid UTF-8).
func uiSVGText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF || r >= 0xD800 && r <= 0xDFFF {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return template.HTMLEscapeString(s)
}
