package rules

import (
	"errors"
	"fmt"
	"slices"
)

// Badge is a tier a customer holds while the earned balance is in its range
// (SPEC 3.6: "Bronze 100 to 499"). The range is to reach and to keep it: a
// customer who spends below From, or earns past To into the next tier, no
// longer holds it.
type Badge struct {
	ID, Title, Description, Icon string
	// From and To are the earned-balance range, both included; To 0 means
	// no upper bound.
	From, To int64
}

// Holds reports whether a customer with earned points is in b's range.
func (b Badge) Holds(earned int64) bool {
	return earned >= b.From && (b.To == 0 || earned <= b.To)
}

func (b Badge) rangeText() string {
	if b.To == 0 {
		return fmt.Sprintf("%d and up", b.From)
	}
	return fmt.Sprintf("%d to %d", b.From, b.To)
}

// Validate reports a badge whose range cannot be held.
func (b Badge) Validate() error {
	switch {
	case b.ID == "":
		return errors.New("badge has no id")
	case b.Title == "":
		return fmt.Errorf("badge %s has no title", b.ID)
	case b.From < 0:
		return fmt.Errorf("badge %s: from must not be negative, got %d", b.ID, b.From)
	case b.To != 0 && b.To < b.From:
		return fmt.Errorf("badge %s: to %d is below from %d (to 0 means no upper bound)", b.ID, b.To, b.From)
	}
	return nil
}

// ValidateBadges checks each badge, unique ids and that no two ranges
// overlap, since a balance must name one tier.
func ValidateBadges(badges []Badge) error {
	ids := map[string]bool{}
	for _, b := range badges {
		if err := b.Validate(); err != nil {
			return err
		}
		if ids[b.ID] {
			return fmt.Errorf("badge id %s is used twice", b.ID)
		}
		ids[b.ID] = true
	}
	sorted := sortedBadges(badges)
	for i := 1; i < len(sorted); i++ {
		lo, hi := sorted[i-1], sorted[i]
		if lo.To != 0 && lo.To < hi.From {
			continue
		}
		end := lo.To
		if end == 0 || (hi.To != 0 && hi.To < end) {
			end = hi.To
		}
		overlap := fmt.Sprintf("%d and up", hi.From)
		if end != 0 {
			overlap = fmt.Sprintf("%d to %d", hi.From, end)
		}
		hint := ""
		if lo.To == hi.From {
			// The seed writes "da 100 a 500" for the tier below 500; the
			// ranges here include both ends.
			hint = fmt.Sprintf("; ranges include both ends, so end %s at %d", lo.ID, hi.From-1)
		}
		return fmt.Errorf("badges %s (%s) and %s (%s) overlap on %s%s", lo.ID, lo.rangeText(), hi.ID, hi.rangeText(), overlap, hint)
	}
	return nil
}

// BadgesFor gives the badges a customer with earned points holds (one, or
// none in a gap between tiers, once ValidateBadges has passed) and the next
// badge to reach: the one with the lowest From above earned, or nil at the
// top. Both are in ascending order of From whatever the configuration order.
func BadgesFor(badges []Badge, earned int64) (current []Badge, next *Badge) {
	for _, b := range sortedBadges(badges) {
		if b.Holds(earned) {
			current = append(current, b)
		} else if next == nil && b.From > earned {
			next = &b
		}
	}
	return current, next
}

func sortedBadges(badges []Badge) []Badge {
	s := slices.Clone(badges)
	slices.SortStableFunc(s, func(a, b Badge) int {
		switch {
		case a.From < b.From:
			return -1
		case a.From > b.From:
			return 1
		}
		return 0
	})
	return s
}
