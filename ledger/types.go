package ledger

import (
	"time"
)

// Kind is what a movement does to an account.
type Kind string

const (
	// KindCredit adds points: pending (provisional) or posted (a lot).
	KindCredit Kind = "credit"
	// KindSpend pays with points (counted as spent): pending or posted.
	KindSpend Kind = "spend"
	// KindWithdraw takes points back (a credit note, a negative or corrected
	// admin adjustment); it lowers what was credited, not what was spent.
	KindWithdraw Kind = "withdraw"
	// KindPost finishes a pending credit or spend for Amount (which may be
	// less than asked).
	KindPost Kind = "post"
	// KindVoid cancels a pending credit or spend.
	KindVoid Kind = "void"
	// KindRefund gives back part or all of a posted spend or withdraw to the
	// lots it consumed.
	KindRefund Kind = "refund"
	// KindExpire records points of one lot that reached their expiry.
	KindExpire Kind = "expire"
	// KindReset zeroes an account: Amount points removed, Overdraft debt
	// forgiven.
	KindReset Kind = "reset"
	// KindNote moves no points: it records in the history why something
	// earned nothing (a till receipt outside every catalog window).
	KindNote Kind = "note"
)

// Phase is the phase a credit or spend was created in.
type Phase string

const (
	PhasePending Phase = "pending"
	PhasePosted  Phase = "posted"
)

// State is the state of a movement as read now: a pending movement becomes
// posted or voided when a later post or void points at it.
type State string

const (
	StatePending State = "pending"
	StatePosted  State = "posted"
	StateVoided  State = "voided"
)

// Sources of movements (SPEC 2).
const (
	SourceWeb      = "web"
	SourceERP      = "erp"
	SourcePOS      = "pos"
	SourceAdmin    = "admin"
	SourceImport   = "import"
	SourceAPI      = "api"
	SourceSchedule = "schedule"
)

var validSources = map[string]bool{
	SourceWeb: true, SourceERP: true, SourcePOS: true, SourceAdmin: true,
	SourceImport: true, SourceAPI: true, SourceSchedule: true,
}

// Reasons the ledger itself gives; callers may use their own (accrual,
// redemption, credit_note, registration, ...).
const (
	ReasonAdjustment        = "adjustment"
	ReasonAdjustmentChange  = "adjustment_change"
	ReasonAdjustmentRemoval = "adjustment_removal"
	ReasonReset             = "reset"
	ReasonExpiry            = "expiry"
)

// Meta is what every write carries (SPEC 2): where it comes from, its
// idempotency key, the business document, the rule that computed it, who
// asked and why, and when it happened in business terms.
type Meta struct {
	Source      string `json:"source"`
	Key         string `json:"key"`
	Reason      string `json:"reason,omitempty"`
	Document    string `json:"document,omitempty"`
	Rule        string `json:"rule,omitempty"`
	RuleVersion string `json:"rule_version,omitempty"`
	// Actor is who asked. It is not part of the input an idempotency key
	// stands for: the same operation retried by someone else is a replay.
	Actor string    `json:"-"`
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"` // business time; zero means now
}

// Account names one account: a customer in a program.
type Account struct {
	Program  string `json:"program"`
	Customer Ident  `json:"customer"`
}

// CreditRequest adds points, pending (provisional) or posted.
type CreditRequest struct {
	Account
	Meta
	Amount  int64      `json:"amount"`
	Pending bool       `json:"pending"`
	Expires *time.Time `json:"expires,omitempty"` // nil: never
}

// SpendRequest pays with points (pending or posted) or, with Withdraw,
// takes points back.
type SpendRequest struct {
	Account
	Meta
	Amount   int64 `json:"amount"`
	Pending  bool  `json:"pending"`
	Withdraw bool  `json:"withdraw"`
	// PreferCredits consumes the lots of these credits first (a credit note
	// takes back the points of the credit it reverses): posted credits or
	// posts of pending credits.
	PreferCredits []int64 `json:"prefer_credits,omitempty"`
	// Overdraft records a spend the till already made even when the
	// balance is short; the shortfall is flagged and becomes debt.
	Overdraft bool `json:"overdraft"`
	// EarnedBefore, when set, lets the spend use only points earned
	// before it: an order spends only points whose order was converted
	// before it was placed (SPEC 3.2, E6).
	EarnedBefore time.Time `json:"earned_before"`
}

// FinishRequest posts or voids a pending credit or spend.
type FinishRequest struct {
	Meta
	Movement int64 `json:"movement"`
	// Amount to post; 0 posts the whole pending amount. Ignored by Void.
	Amount int64 `json:"amount"`
	// Expires overrides the pending credit's expiry when posting it
	// (expiry counted from the day the points are earned).
	Expires *time.Time `json:"expires,omitempty"`
	// NoExpiry posts a credit without expiry even if the pending credit
	// carried one.
	NoExpiry bool `json:"no_expiry,omitempty"`
}

// RefundRequest gives back Amount of a posted spend or withdraw.
type RefundRequest struct {
	Meta
	Movement int64 `json:"movement"`
	Amount   int64 `json:"amount"`
}

// AdjustRequest is an admin adjustment: positive credits, negative
// withdraws (refused if the customer has fewer usable points).
type AdjustRequest struct {
	Account
	Meta
	Points  int64      `json:"points"`
	Expires *time.Time `json:"expires,omitempty"`
}

// ChangeRequest changes the points (and optionally the note) of an admin
// adjustment by writing a correcting movement.
type ChangeRequest struct {
	Meta
	Movement int64 `json:"movement"`
	Points   int64 `json:"points"`
	// Account, when set, must be the adjustment's account: a guard
	// against an id typed for the wrong customer.
	Account Account `json:"account"`
}

// RemoveRequest removes an admin adjustment by writing a correcting
// movement for its current value.
type RemoveRequest struct {
	Meta
	Movement int64   `json:"movement"`
	Account  Account `json:"account"` // as in ChangeRequest
}

// NoteRequest writes a note movement in an account's history.
type NoteRequest struct {
	Account
	Meta
}

// ResetRequest zeroes one customer's account, or every account of the
// program when Customer is empty.
type ResetRequest struct {
	Program  string `json:"program"`
	Customer Ident  `json:"customer,omitempty"`
	Meta
}

// ExpiryRequest sets a new expiry instant on points still usable in a
// program (or one customer of it). A nil Expires removes expiry.
// IncludeNoExpiry also dates the points that had none.
type ExpiryRequest struct {
	Program         string     `json:"program"`
	Customer        Ident      `json:"customer,omitempty"`
	Expires         *time.Time `json:"expires,omitempty"`
	IncludeNoExpiry bool       `json:"include_no_expiry"`
	Meta
}

// Result is what a write did. Replaying the same key and input returns the
// stored Result with Replayed set.
type Result struct {
	// Movements written, in order; the first is the main one.
	Movements []int64 `json:"movements"`
	// Accounts touched (admin operations on a whole program).
	Accounts int `json:"accounts,omitempty"`
	// Lots holding points whose expiry changed (expiry operations).
	Lots int `json:"lots,omitempty"`
	// Overdraft is the part of a spend the balance did not cover.
	Overdraft int64 `json:"overdraft,omitempty"`
	// Written counts the movements of an operation on many accounts.
	Written int `json:"written,omitempty"`
	// Op is the admin operation's audit record (reset, expiry).
	Op       int64 `json:"op,omitempty"`
	Replayed bool  `json:"-"`
}

// Main is the id of the main movement written, or 0.
func (r Result) Main() int64 {
	if len(r.Movements) == 0 {
		return 0
	}
	return r.Movements[0]
}

// Balance of an account at an instant (SPEC 2 and the fixed JSON form of
// SPEC 5).
type Balance struct {
	Program     string     `json:"program"`
	Customer    Ident      `json:"customer"`
	Earned      int64      `json:"earned"`
	Provisional int64      `json:"provisional"`
	Spent       int64      `json:"spent"`
	Expired     int64      `json:"expired"`
	Expiring    []Expiring `json:"expiring"`
}

// Expiring is how many points stop being usable at the end of a day.
type Expiring struct {
	Date   string `json:"date"` // YYYY-MM-DD in the program's zone
	Points int64  `json:"points"`
}

// Movement as read back, with its state derived from later movements.
type Movement struct {
	ID          int64      `json:"id"`
	Program     string     `json:"program"`
	Customer    Ident      `json:"customer"`
	Kind        Kind       `json:"kind"`
	Phase       Phase      `json:"phase,omitempty"`
	State       State      `json:"state"`
	Amount      int64      `json:"amount"`
	Final       int64      `json:"final"` // amount once posted; 0 when voided
	Ref         int64      `json:"ref,omitempty"`
	Overdraft   int64      `json:"overdraft,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	Source      string     `json:"source"`
	Key         string     `json:"key"`
	Reason      string     `json:"reason,omitempty"`
	Document    string     `json:"document,omitempty"`
	Rule        string     `json:"rule,omitempty"`
	RuleVersion string     `json:"rule_version,omitempty"`
	Actor       string     `json:"actor,omitempty"`
	Note        string     `json:"note,omitempty"`
	BusinessAt  time.Time  `json:"business_at"`
	RecordedAt  time.Time  `json:"recorded_at"`
}

// Signed is the movement's effect on the points credited or spent, with
// the sign an operator expects to read: credits and refunds positive,
// debits negative, post and void zero (they finish another movement).
func (m Movement) Signed() int64 {
	switch m.Kind {
	case KindCredit, KindRefund:
		return m.Amount
	case KindSpend, KindWithdraw, KindExpire, KindReset:
		return -m.Amount
	}
	return 0
}
