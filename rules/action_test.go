package rules

import (
	"strings"
	"testing"
)

func TestActionPoints(t *testing.T) {
	perReview := ActionRules{Registration: 50, Newsletter: 20, Review: 10}
	onceReview := perReview
	onceReview.ReviewOnce = true
	off := ActionRules{}
	tests := []struct {
		name     string
		rules    ActionRules
		kind     ActionKind
		already  int
		reviewID string
		points   int64
		key      string
		reason   string // substring; "" when points are awarded
	}{
		{"registration", perReview, ActionRegistration, 0, "", 50, "registration", ""},
		{"registration again", perReview, ActionRegistration, 1, "", 0, "registration", "once per customer"},
		{"registration off", off, ActionRegistration, 0, "", 0, "registration", "earns no points"},
		{"newsletter", perReview, ActionNewsletter, 0, "", 20, "newsletter", ""},
		{"newsletter after unsubscribing", perReview, ActionNewsletter, 1, "", 0, "newsletter", "already awarded"},
		{"review ignores a review id when once", onceReview, ActionReview, 0, "R7", 10, "review", ""},
		{"second review when once", onceReview, ActionReview, 1, "R8", 0, "review", "once per customer"},
		{"first review per review", perReview, ActionReview, 0, "R7", 10, "review:R7", ""},
		{"fifth review per review", perReview, ActionReview, 4, "R11", 10, "review:R11", ""},
		{"review without id", perReview, ActionReview, 0, "", 0, "", "review has no id"},
		{"review off", off, ActionReview, 0, "R1", 0, "review:R1", "earns no points"},
		{"negative already counts as none", perReview, ActionNewsletter, -1, "", 20, "newsletter", ""},
		{"unknown", perReview, "purchase", 0, "", 0, "", `unknown action "purchase"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts, key, reason := ActionPoints(tt.rules, tt.kind, tt.already, tt.reviewID)
			if pts != tt.points || key != tt.key {
				t.Fatalf("got %d %q (%s), want %d %q", pts, key, reason, tt.points, tt.key)
			}
			if (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
				t.Fatalf("reason %q, want %q", reason, tt.reason)
			}
		})
	}
}

func TestActionRulesValidate(t *testing.T) {
	if err := (ActionRules{Registration: 1, ReviewOnce: true}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []ActionRules{{Registration: -1}, {Newsletter: -1}, {Review: -5}} {
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("%+v: %v", r, err)
		}
	}
}
