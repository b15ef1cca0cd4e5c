package server

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// FuzzUIParseFigure: a figure typed in a form is read or refused with a
// message, never a panic; what is read writes back to the same value.
func FuzzUIParseFigure(f *testing.F) {
	for _, s := range []string{"150", "-50", "+7", "12,50", "12.50", "1.234,56", "1,234.56", " 3 ", "", "-", "1e3", "٣", "99999999999999999999"} {
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, s string, amount, english bool) {
		p := &uiProgram{ID: "p"}
		if amount {
			p.Rules.Unit = "amount"
		}
		lang := "it"
		if english {
			lang = "en"
		}
		v := &uiView{Program: p, loc: uiLocales[lang]}
		n, err := v.parseFigure(s)
		if err != nil {
			if _, ok := err.(*uiFormError); !ok {
				t.Fatalf("parseFigure(%q): %T %v, want a form error", s, err, err)
			}
			return
		}
		back, err := v.parseFigure(v.FigInput(n))
		if err != nil || back != n {
			t.Fatalf("parseFigure(%q) = %d, written back as %q which reads %d, %v", s, n, v.FigInput(n), back, err)
		}
	})
}

// FuzzUIDailyChart: any figures and labels give a well-formed SVG.
func FuzzUIDailyChart(f *testing.F) {
	f.Add(int64(1200), int64(500), int64(0), int64(1200), int64(-300), "Issued <&>", uint8(5))
	f.Add(int64(0), int64(0), int64(0), int64(0), int64(0), "", uint8(1))
	f.Add(int64(1<<40), int64(1<<40), int64(1<<40), int64(-1<<40), int64(1<<40), "\"x\"", uint8(200))
	f.Fuzz(func(t *testing.T, issued, spent, expired, out0, out1 int64, label string, n uint8) {
		const limit = 1 << 50 // far beyond any balance; keeps products in int64
		for _, x := range []*int64{&issued, &spent, &expired, &out0, &out1} {
			*x %= limit
		}
		issued, spent, expired = uiAbs(issued), uiAbs(spent), uiAbs(expired)
		days := make([]uiChartDay, int(n))
		for i := range days {
			out := out0
			if i%2 == 1 {
				out = out1
			}
			days[i] = uiChartDay{Date: "2026-03-01", Issued: issued, Spent: spent / int64(i+1), Expired: expired, Outstanding: out}
		}
		txt := uiChartText{Title: label, Desc: label, Empty: label, Issued: label, Spent: label, Expired: label, Outstanding: label}
		svg := string(uiDailyChart(days, txt, uiLocales["it"].number, func(s string) string { return label + s }))
		dec := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed: %v\n%s", err, svg)
			}
		}
	})
}

func uiAbs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
