package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ruleSet stands for whatever the program configuration ends up holding.
type ruleSet struct {
	Program  Program
	Catalogs []Catalog
	Badges   []Badge
	Actions  ActionRules
	Gifts    []Gift
	PerSKU   map[string]int64
	Note     string `json:"-"`
}

func sampleRules(t *testing.T) ruleSet {
	loc := rome(t)
	return ruleSet{
		Program:  Program{ID: "shop", Name: "Punti", Unit: UnitPoints, Location: loc, Expiry: ExpiryPolicy{Kind: ExpiryDays, Days: 365}},
		Catalogs: e12Catalogs(),
		Badges:   tiers(),
		Actions:  ActionRules{Registration: 50, Newsletter: 20, Review: 10},
		Gifts:    []Gift{{ID: "monthly", Schedule: "0 9 1 * *", Points: 10, Location: loc}},
		PerSKU:   map[string]int64{"A1": 5, "B2": 0, "C3": 12},
	}
}

func mustVersion(t *testing.T, v any) string {
	t.Helper()
	s, err := RulesVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRulesVersionStable(t *testing.T) {
	v := mustVersion(t, sampleRules(t))
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(v) {
		t.Fatalf("version %q is not 12 hex digits", v)
	}
	if again := mustVersion(t, sampleRules(t)); again != v {
		t.Fatalf("same rules, versions %s and %s", v, again)
	}
	// A pointer to the rules names the same rules.
	r := sampleRules(t)
	if p := mustVersion(t, &r); p != v {
		t.Fatalf("pointer gives %s, value %s", p, v)
	}
	// Notes for people are not rules.
	r.Note = "changed by Mario"
	if n := mustVersion(t, r); n != v {
		t.Fatal("a json:\"-\" field changed the version")
	}
}

func TestRulesVersionMapOrder(t *testing.T) {
	build := func(order []int) map[string]int64 {
		m := map[string]int64{}
		for _, i := range order {
			m[fmt.Sprintf("SKU%03d", i)] = int64(i * 7)
		}
		return m
	}
	asc, desc := make([]int, 200), make([]int, 200)
	for i := range asc {
		asc[i], desc[i] = i, 199-i
	}
	want := mustVersion(t, build(asc))
	for range 20 { // map iteration order is random on every range
		if got := mustVersion(t, build(desc)); got != want {
			t.Fatalf("insertion order changed the version: %s vs %s", got, want)
		}
	}
	// Integer keys too.
	a := map[int]string{1: "a", 2: "b", 10: "c"}
	b := map[int]string{10: "c", 2: "b", 1: "a"}
	if mustVersion(t, a) != mustVersion(t, b) {
		t.Fatal("int-keyed maps differ")
	}
}

// TestRulesVersionFieldOrder: moving a field in the source is not a rule
// change.
func TestRulesVersionFieldOrder(t *testing.T) {
	type ab struct {
		A int64
		B string
	}
	type ba struct {
		B string
		A int64
	}
	if mustVersion(t, ab{1, "x"}) != mustVersion(t, ba{"x", 1}) {
		t.Fatal("field order changed the version")
	}
}

func TestRulesVersionChanges(t *testing.T) {
	utc := time.UTC
	changes := map[string]func(*ruleSet){
		"program name":           func(r *ruleSet) { r.Program.Name = "Punti 2" },
		"unit":                   func(r *ruleSet) { r.Program.Unit = UnitAmount },
		"time zone":              func(r *ruleSet) { r.Program.Location = utc },
		"no time zone":           func(r *ruleSet) { r.Program.Location = nil },
		"expiry days":            func(r *ruleSet) { r.Program.Expiry.Days = 366 },
		"expiry kind":            func(r *ruleSet) { r.Program.Expiry = ExpiryPolicy{Kind: ExpiryFixedDate, Date: Date{2026, 12, 31}} },
		"catalog window":         func(r *ruleSet) { r.Catalogs[0].ValidTo = Date{2026, 7, 1} },
		"catalog deadline":       func(r *ruleSet) { r.Catalogs[0].RedeemUntil = Date{} },
		"catalog card types":     func(r *ruleSet) { r.Catalogs[0].CardTypes = []string{"GOLD"} },
		"prize points":           func(r *ruleSet) { r.Catalogs[0].Prizes[0].Points = 501 },
		"prize co-payment":       func(r *ruleSet) { r.Catalogs[0].Prizes[0].CoPayment = 199 },
		"prize per customer":     func(r *ruleSet) { r.Catalogs[0].Prizes[0].PerCustomer = 0 },
		"prize stock":            func(r *ruleSet) { r.Catalogs[0].Prizes[0].Stock = 1 },
		"prize voucher":          func(r *ruleSet) { r.Catalogs[0].Prizes[0].Voucher.ValidDays = 1 },
		"prize added":            func(r *ruleSet) { r.Catalogs[0].Prizes = append(r.Catalogs[0].Prizes, Prize{ID: "X"}) },
		"badge range":            func(r *ruleSet) { r.Badges[1].To = 498 },
		"badge order":            func(r *ruleSet) { r.Badges[0], r.Badges[1] = r.Badges[1], r.Badges[0] },
		"badge icon":             func(r *ruleSet) { r.Badges[1].Icon = "b.png" },
		"review once":            func(r *ruleSet) { r.Actions.ReviewOnce = true },
		"newsletter points":      func(r *ruleSet) { r.Actions.Newsletter = 21 },
		"gift schedule":          func(r *ruleSet) { r.Gifts[0].Schedule = "0 9 2 * *" },
		"gift zone":              func(r *ruleSet) { r.Gifts[0].Location = utc },
		"sku value":              func(r *ruleSet) { r.PerSKU["B2"] = 1 },
		"sku removed":            func(r *ruleSet) { delete(r.PerSKU, "B2") },
		"sku added":              func(r *ruleSet) { r.PerSKU["D4"] = 0 },
		"string to number-like":  func(r *ruleSet) { r.Program.ID = "365" },
		"gifts emptied":          func(r *ruleSet) { r.Gifts = nil },
		"description whitespace": func(r *ruleSet) { r.Gifts[0].Description = " " },
	}
	seen := map[string]string{mustVersion(t, sampleRules(t)): "unchanged"}
	for name, change := range changes {
		r := sampleRules(t)
		change(&r)
		v := mustVersion(t, r)
		if other, dup := seen[v]; dup {
			t.Errorf("%s gives version %s, the same as %s", name, v, other)
		}
		seen[v] = name
	}
}

func TestRulesVersionNilAndEmpty(t *testing.T) {
	type s struct {
		L []string
		M map[string]int
		P *int64
	}
	if mustVersion(t, s{}) != mustVersion(t, s{L: []string{}, M: map[string]int{}}) {
		t.Fatal("nil and empty collections should name the same rules")
	}
	zero := int64(0)
	if mustVersion(t, s{}) == mustVersion(t, s{P: &zero}) {
		t.Fatal("an unset pointer and a pointer to 0 are different settings")
	}
}

func TestRulesVersionRefuses(t *testing.T) {
	cases := map[string]any{
		"float":            struct{ Ratio float64 }{0.05},
		"float in a map":   map[string]any{"a": 1.5},
		"func":             struct{ F func() }{},
		"channel":          struct{ C chan int }{},
		"complex":          complex(1, 2),
		"struct map key":   map[struct{ A int }]int{{1}: 1},
		"nested too deep":  deep(70),
		"float in a slice": []any{int64(1), float32(2)},
	}
	for name, v := range cases {
		if _, err := RulesVersion(v); err == nil || !strings.HasPrefix(err.Error(), "rules version: ") {
			t.Errorf("%s: got %v, want an error", name, err)
		}
	}
}

func deep(n int) any {
	var v any = int64(1)
	for range n {
		v = []any{v}
	}
	return v
}

// TestRulesVersionCanonicalForm pins the canonical JSON, so a change to it
// (which would give every stored movement a version no rule set has any
// more) is a decision and not an accident.
func TestRulesVersionCanonicalForm(t *testing.T) {
	loc := rome(t)
	v := struct {
		Z      string
		Zone   *time.Location
		At     time.Time
		Day    Date
		Big    int64
		Raw    json.RawMessage
		Tagged int `json:"tagged,omitempty"`
		Kind   PrizeKind
		any    int
	}{
		Z: "z", Zone: loc, At: time.Date(2026, 1, 15, 10, 0, 0, 0, loc), Day: Date{2026, 12, 31},
		Big: 1<<63 - 1, Raw: json.RawMessage(`{"b": 12345678901234567890, "a": [3, 1]}`), Kind: PrizeVoucher,
	}
	tree, err := canonicalRules(reflect.ValueOf(v), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"At":"2026-01-15T09:00:00Z","Big":9223372036854775807,"Day":"2026-12-31","Kind":"voucher",` +
		`"Raw":{"a":[3,1],"b":12345678901234567890},"Z":"z","Zone":"Europe/Rome","tagged":0}`
	if string(b) != want {
		t.Fatalf("canonical form\n got %s\nwant %s", b, want)
	}
	if got := mustVersion(t, v); got != "cffbfc28b2ec" {
		t.Fatalf("version %s", got)
	}
}
