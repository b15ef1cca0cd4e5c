package rules

import (
	"fmt"
	"time"
)

// Unit is what a program counts.
type Unit string

const (
	// UnitPoints counts whole points.
	UnitPoints Unit = "points"
	// UnitAmount counts money in cents (amount cards, cashback).
	UnitAmount Unit = "amount"
)

// Valid reports whether u is a known unit.
func (u Unit) Valid() bool { return u == UnitPoints || u == UnitAmount }

// DefaultTimeZone is the program time zone when none is configured.
const DefaultTimeZone = "Europe/Rome"

// Program is one points system. Rules are added to it as pointsync grows;
// what is here is what the ledger needs to keep balances.
type Program struct {
	ID       string
	Name     string
	Unit     Unit
	Location *time.Location
	Expiry   ExpiryPolicy
}

// ExpiryKind says how points of a program expire.
type ExpiryKind string

const (
	// ExpiryNone: points never expire unless an admin sets a date.
	ExpiryNone ExpiryKind = "none"
	// ExpiryFixedDate: every point earned expires at the end of one date.
	ExpiryFixedDate ExpiryKind = "fixed_date"
	// ExpiryDays: points expire at the end of the day N days after the day
	// they were earned.
	ExpiryDays ExpiryKind = "days"
)

// ExpiryPolicy is a program's expiry rule.
type ExpiryPolicy struct {
	Kind ExpiryKind
	Date Date // for ExpiryFixedDate
	Days int  // for ExpiryDays
}

// Validate reports a policy that cannot be applied.
func (p ExpiryPolicy) Validate() error {
	switch p.Kind {
	case ExpiryNone, "":
		return nil
	case ExpiryFixedDate:
		if p.Date.IsZero() {
			return fmt.Errorf("expiry policy fixed_date needs a date")
		}
		return nil
	case ExpiryDays:
		if p.Days <= 0 {
			return fmt.Errorf("expiry policy days needs days greater than 0, got %d", p.Days)
		}
		return nil
	default:
		return fmt.Errorf("unknown expiry policy %q (use none, fixed_date or days)", p.Kind)
	}
}

// ExpiresAt gives the instant points earned at earned stop being usable
// under p, in the program zone loc, or ok=false when they never expire.
//
// A date D always means the start of D+1 in loc (SPEC 3.5); with ExpiryDays
// the date is the local day of earning plus Days, so points earned on
// 2026-01-15 with 365 days expire at 2027-01-16 00:00 (SPEC E9).
func (p ExpiryPolicy) ExpiresAt(earned time.Time, loc *time.Location) (t time.Time, ok bool) {
	switch p.Kind {
	case ExpiryFixedDate:
		return p.Date.EndOfDay(loc), true
	case ExpiryDays:
		return DateOf(earned.In(loc)).AddDays(p.Days).EndOfDay(loc), true
	default:
		return time.Time{}, false
	}
}
