package configs

import (
	"fmt"
	"time"

	"github.com/pointsync/pointsync/rules"
)

// Rules builds the rules.Program for p, loading its time zone.
func (p Program) Rules() (rules.Program, error) {
	if err := checkTimeZone(p.TimeZone); err != nil {
		return rules.Program{}, fmt.Errorf("program %s: %w", p.ID, err)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return rules.Program{}, fmt.Errorf("program %s: time zone %q: %w", p.ID, p.TimeZone, err)
	}
	policy := p.Expiry.policy()
	if err := policy.Validate(); err != nil {
		return rules.Program{}, fmt.Errorf("program %s: %w", p.ID, err)
	}
	return rules.Program{ID: p.ID, Name: p.Name, Unit: p.Unit, Location: loc, Expiry: policy}, nil
}

func (e Expiry) policy() rules.ExpiryPolicy {
	return rules.ExpiryPolicy{Kind: e.Policy, Date: e.Date, Days: e.Days}
}

// RulesPrograms builds every configured program, in file order.
func (c *Config) RulesPrograms() ([]rules.Program, error) {
	out := make([]rules.Program, 0, len(c.Programs))
	for _, p := range c.Programs {
		rp, err := p.Rules()
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, nil
}

// Program returns the program with the given id, built for the rules
// package; false when there is none (or it cannot be built, which Validate
// would have reported).
func (c *Config) Program(id string) (rules.Program, bool) {
	for _, p := range c.Programs {
		if p.ID == id {
			rp, err := p.Rules()
			return rp, err == nil
		}
	}
	return rules.Program{}, false
}
