package rules

import "fmt"

// ActionKind is a customer action that earns fixed points (SPEC 3.1).
type ActionKind string

const (
	ActionRegistration ActionKind = "registration"
	ActionNewsletter   ActionKind = "newsletter"
	ActionReview       ActionKind = "review"
)

// ActionRules are the fixed points per action; 0 turns an action off.
type ActionRules struct {
	Registration, Newsletter, Review int64
	// ReviewOnce awards the review points for the first review only, as
	// the seed's "solo una volta" option; otherwise every review earns.
	ReviewOnce bool
}

// Validate reports negative action points: taking points for an action is
// an adjustment, not an action rule.
func (r ActionRules) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"registration", r.Registration}, {"newsletter", r.Newsletter}, {"review", r.Review}} {
		if f.v < 0 {
			return fmt.Errorf("actions.%s must not be negative, got %d", f.name, f.v)
		}
	}
	return nil
}

// ActionPoints is what one action earns. already is how many awards of that
// kind the customer has had; reviewID names the review, for per-review
// awards. key is the idempotency sub-key that makes the award unique for the
// customer ("registration", "newsletter", "review" when once,
// "review:<reviewID>" otherwise): the same event delivered twice gives the
// same key and the ledger writes it once. When points is 0, reason says why.
//
// Newsletter points are once per customer for life: unsubscribing and
// subscribing again must not be a way to farm points.
func ActionPoints(r ActionRules, kind ActionKind, already int, reviewID string) (points int64, key string, reason string) {
	once := func(name string, pts int64) (int64, string, string) {
		switch {
		case pts == 0:
			return 0, name, name + " earns no points in this program"
		case already > 0:
			return 0, name, name + " points are awarded once per customer and were already awarded"
		}
		return pts, name, ""
	}
	switch kind {
	case ActionRegistration:
		return once("registration", r.Registration)
	case ActionNewsletter:
		return once("newsletter", r.Newsletter)
	case ActionReview:
		if r.ReviewOnce {
			return once("review", r.Review)
		}
		if reviewID == "" {
			return 0, "", "review has no id; each review earns once, by its id"
		}
		key = "review:" + reviewID
		if r.Review == 0 {
			return 0, key, "review earns no points in this program"
		}
		return r.Review, key, ""
	}
	return 0, "", fmt.Sprintf("unknown action %q (use registration, newsletter or review)", kind)
}
