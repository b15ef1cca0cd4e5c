package rules

import (
	"strings"
	"testing"
)

func tiers() []Badge {
	// Deliberately not in order of range.
	return []Badge{
		{ID: "gold", Title: "Cliente Oro", From: 1000},
		{ID: "bronze", Title: "Cliente Bronzo", Description: "Benvenuto", Icon: "bronze.svg", From: 100, To: 499},
		{ID: "silver", Title: "Cliente Argento", From: 500, To: 799},
		// 800 to 999 is a gap: no tier.
	}
}

func TestValidateBadges(t *testing.T) {
	tests := []struct {
		name   string
		badges []Badge
		want   []string // substrings of the error; nil for valid
	}{
		{"tiers with a gap", tiers(), nil},
		{"none", nil, nil},
		{"single point range", []Badge{{ID: "a", Title: "A", From: 7, To: 7}, {ID: "b", Title: "B", From: 8, To: 8}}, nil},
		{"no id", []Badge{{Title: "A", From: 1}}, []string{"no id"}},
		{"no title", []Badge{{ID: "a", From: 1}}, []string{"badge a has no title"}},
		{"negative from", []Badge{{ID: "a", Title: "A", From: -1, To: 5}}, []string{"from must not be negative"}},
		{"to below from", []Badge{{ID: "a", Title: "A", From: 500, To: 100}}, []string{"to 100 is below from 500"}},
		{"id twice", []Badge{{ID: "a", Title: "A", From: 1, To: 2}, {ID: "a", Title: "B", From: 3, To: 4}}, []string{"badge id a is used twice"}},
		{"overlap", []Badge{{ID: "silver", Title: "S", From: 400, To: 999}, {ID: "bronze", Title: "B", From: 100, To: 499}},
			[]string{"badges bronze (100 to 499) and silver (400 to 999) overlap on 400 to 499"}},
		{"seed style touching ends", []Badge{{ID: "bronze", Title: "B", From: 100, To: 500}, {ID: "silver", Title: "S", From: 500, To: 1000}},
			[]string{"overlap on 500 to 500", "end bronze at 499"}},
		{"inside another", []Badge{{ID: "all", Title: "A", From: 0, To: 10000}, {ID: "mid", Title: "M", From: 200, To: 300}},
			[]string{"all (0 to 10000) and mid (200 to 300) overlap on 200 to 300"}},
		{"two without upper bound", []Badge{{ID: "top", Title: "T", From: 1000}, {ID: "vip", Title: "V", From: 5000}},
			[]string{"top (1000 and up) and vip (5000 and up) overlap on 5000 and up"}},
		{"unbounded over bounded", []Badge{{ID: "top", Title: "T", From: 1000}, {ID: "x", Title: "X", From: 2000, To: 3000}},
			[]string{"overlap on 2000 to 3000"}},
		{"overlap found past a valid pair", append(tiers(), Badge{ID: "late", Title: "L", From: 1500, To: 1600}),
			[]string{"gold (1000 and up) and late (1500 to 1600)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBadges(tt.badges)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBadgesFor(t *testing.T) {
	tests := []struct {
		earned  int64
		current string // ids joined by space
		next    string // "" for none
	}{
		{-20, "", "bronze"},
		{0, "", "bronze"},
		{99, "", "bronze"},
		{100, "bronze", "silver"},
		{499, "bronze", "silver"},
		{500, "silver", "gold"},
		{799, "silver", "gold"},
		{800, "", "gold"}, // in the gap
		{999, "", "gold"},
		{1000, "gold", ""},
		{1 << 62, "gold", ""},
	}
	for _, tt := range tests {
		cur, next := BadgesFor(tiers(), tt.earned)
		var ids []string
		for _, b := range cur {
			ids = append(ids, b.ID)
		}
		nextID := ""
		if next != nil {
			nextID = next.ID
		}
		if strings.Join(ids, " ") != tt.current || nextID != tt.next {
			t.Errorf("earned %d: current %v next %q; want %q next %q", tt.earned, ids, nextID, tt.current, tt.next)
		}
	}

	if cur, _ := BadgesFor(tiers(), 150); len(cur) != 1 || cur[0].Icon != "bronze.svg" || cur[0].Description != "Benvenuto" {
		t.Fatalf("badge fields not carried: %+v", cur)
	}
	if cur, next := BadgesFor(nil, 500); cur != nil || next != nil {
		t.Fatalf("no badges: %v %v", cur, next)
	}
	// The caller's slice is not reordered.
	b := tiers()
	BadgesFor(b, 0)
	if b[0].ID != "gold" {
		t.Fatalf("BadgesFor sorted the caller's slice: %v", b)
	}
}
