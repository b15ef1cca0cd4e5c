package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/rules"
)

// ConfirmOn says what makes an order's points earned.
type ConfirmOn string

const (
	// ConfirmConverted: the ERP converts the order (the default, SPEC 3.2).
	ConfirmConverted ConfirmOn = "converted"
	// ConfirmPaid and ConfirmCompleted: the shop's own status, for shops
	// without ERP.
	ConfirmPaid      ConfirmOn = "paid"
	ConfirmCompleted ConfirmOn = "completed"
)

// Program is a program with the rules reconciliation applies.
type Program struct {
	rules.Program
	Accrual    rules.AccrualRules
	Redemption rules.RedemptionRules
	ConfirmOn  ConfirmOn
	// Catalogs, when there are any, bound accrual at the tills to their
	// validity windows (SPEC 3.1); with none, accrual is unbounded.
	Catalogs []rules.Catalog
	// CreateCardCustomers makes a card first seen at a till a customer on
	// the spot; otherwise its receipts wait for a link.
	CreateCardCustomers bool
	// ExcludeCurrentTransaction leaves a bill's own accrual out of what an
	// amount card may pay on it (SPEC 3.3, E1).
	ExcludeCurrentTransaction bool
	// Actions are the points of registration, newsletter and reviews.
	Actions rules.ActionRules
	// Gifts grant points to every customer on a schedule.
	Gifts []rules.Gift

	version string // of Accrual, recorded on what it computes
}

// Engine reconciles facts into ledger movements.
type Engine struct {
	programs map[string]Program
}

// New checks the programs' rules and returns an engine.
func New(programs []Program) (*Engine, error) {
	e := &Engine{programs: map[string]Program{}}
	for _, p := range programs {
		if err := p.Accrual.Validate(); err != nil {
			return nil, fmt.Errorf("program %s: accrual: %w", p.ID, err)
		}
		if p.Redemption.RatePoints != 0 { // redemption configured
			if err := p.Redemption.Validate(); err != nil {
				return nil, fmt.Errorf("program %s: redemption: %w", p.ID, err)
			}
		}
		if err := p.Actions.Validate(); err != nil {
			return nil, fmt.Errorf("program %s: actions: %w", p.ID, err)
		}
		for _, g := range p.Gifts {
			if err := g.Validate(); err != nil {
				return nil, fmt.Errorf("program %s: %w", p.ID, err)
			}
		}
		if err := rules.ValidateCatalogs(p.Catalogs); err != nil {
			return nil, fmt.Errorf("program %s: %w", p.ID, err)
		}
		v, err := rules.RulesVersion(p.Accrual)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", p.ID, err)
		}
		p.version = v
		switch p.ConfirmOn {
		case "":
			p.ConfirmOn = ConfirmConverted
		case ConfirmConverted, ConfirmPaid, ConfirmCompleted:
		default:
			return nil, fmt.Errorf("program %s: confirm_on %q: use converted, paid or completed", p.ID, p.ConfirmOn)
		}
		e.programs[p.ID] = p
	}
	return e, nil
}

func (e *Engine) program(id string) (Program, error) {
	p, ok := e.programs[id]
	if !ok {
		return Program{}, fmt.Errorf("%w %q", ledger.ErrUnknownProgram, id)
	}
	return p, nil
}

// WebOrder stores a web order fact and reconciles the order, inside tx.
func (e *Engine) WebOrder(tx *ledger.Tx, program string, o WebOrder) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFact, err)
	}
	p, err := e.program(program)
	if err != nil {
		return err
	}
	if err := put(tx, program, kindWebOrder, o.ID, o.ID, o.StatusAt, o); err != nil {
		return err
	}
	return e.reconcileOrder(tx, p, o.ID)
}

// ERPDocument stores an ERP document and reconciles its order; a document
// whose order is not known yet parks the order until it arrives (SPEC E7).
func (e *Engine) ERPDocument(tx *ledger.Tx, program string, d ERPDocument) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFact, err)
	}
	p, err := e.program(program)
	if err != nil {
		return err
	}
	if err := put(tx, program, kindERPDoc, d.Key, d.Order, d.Date, d); err != nil {
		return err
	}
	return e.reconcileOrder(tx, p, d.Order)
}

// Link records that two identifiers are one customer (creating it when
// neither is known) and reconciles what was parked waiting for either.
func (e *Engine) Link(tx *ledger.Tx, known, other ledger.Ident) error {
	// A link says two identifiers are one customer, whichever side the
	// source names first: attach the new one to the one already known.
	if ok, err := tx.Known(known); err != nil {
		return err
	} else if !ok {
		if ok, err := tx.Known(other); err != nil {
			return err
		} else if ok {
			known, other = other, known
		}
	}
	if _, _, err := tx.EnsureCustomer(known); err != nil {
		return err
	}
	if err := tx.Link(known, other); err != nil {
		return err
	}
	for _, id := range e.sortedPrograms() {
		p := e.programs[id]
		for _, who := range []ledger.Ident{known, other} {
			canon, err := ledger.ParseIdent(string(who))
			if err != nil {
				return err
			}
			subjects, err := tx.WaitingOn(p.ID, string(canon))
			if err != nil {
				return err
			}
			for _, s := range subjects {
				if err := e.reconcileSubject(tx, p, s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func put(tx *ledger.Tx, program, kind, key, order string, at time.Time, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.PutFact(ledger.Fact{Program: program, Kind: kind, Key: key, Subject: orderSubject(order), Payload: b, At: at})
	return err
}

func orderSubject(id string) string { return "order:" + id }

// reconcileSubject recomputes any subject by its kind.
func (e *Engine) reconcileSubject(tx *ledger.Tx, p Program, subject string) error {
	if id, ok := strings.CutPrefix(subject, "order:"); ok {
		return e.reconcileOrder(tx, p, id)
	}
	if strings.HasPrefix(subject, "receipt:") {
		return e.reconcileReceipt(tx, p, subject, nil)
	}
	if strings.HasPrefix(subject, "actions:") {
		return e.reconcileActions(tx, p, subject)
	}
	return fmt.Errorf("reconcile: unknown subject %q", subject)
}

func (e *Engine) sortedPrograms() []string {
	ids := make([]string, 0, len(e.programs))
	for id := range e.programs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// accountWait is what a subject parked for want of points waits for.
func accountWait(customerKey string) string { return "account:" + customerKey }

// releaseAccount tries again what waits for points on a customer's account
// (a redemption or take-back parked for review), after a credit: whether it
// applies must not depend on whether the points arrived first.
func (e *Engine) releaseAccount(tx *ledger.Tx, p Program, customerKey, self string) error {
	subjects, err := tx.WaitingOn(p.ID, accountWait(customerKey))
	if err != nil {
		return err
	}
	for _, s := range subjects {
		if s == self {
			continue
		}
		if err := e.reconcileSubject(tx, p, s); err != nil {
			return err
		}
	}
	return nil
}

// load reads a subject's record and decodes what reconciliation stored in
// it into st (left as is for a new subject).
func load(tx *ledger.Tx, program, subject string, st any) (ledger.Subject, error) {
	rec, _, err := loadFound(tx, program, subject, st)
	return rec, err
}

// loadFound is load that also reports whether the subject had a record.
func loadFound(tx *ledger.Tx, program, subject string, st any) (ledger.Subject, bool, error) {
	rec, found, err := tx.Subject(program, subject)
	if err != nil {
		return rec, false, err
	}
	if len(rec.State) > 0 {
		if err := json.Unmarshal(rec.State, st); err != nil {
			return rec, found, fmt.Errorf("%s: stored state: %w", subject, err)
		}
	}
	return rec, found, nil
}

// Apply reconciles one canonical fact inside tx.
func (e *Engine) Apply(tx *ledger.Tx, f mapping.Fact) error {
	if err := f.Validate(); err != nil {
		return err
	}
	switch f.Type {
	case mapping.TypeWebOrder:
		return e.WebOrder(tx, f.Program, *f.Order)
	case mapping.TypeERPDocument:
		return e.ERPDocument(tx, f.Program, *f.Document)
	case mapping.TypeTillReceipt:
		return e.TillReceipt(tx, f.Program, *f.Receipt)
	case mapping.TypeAction:
		return e.Action(tx, f.Program, *f.Action)
	}
	known, err := ledger.ParseIdent(f.Known)
	if err != nil {
		return fmt.Errorf("%w: link: known: %v", ErrInvalidFact, err)
	}
	other, err := ledger.ParseIdent(f.Other)
	if err != nil {
		return fmt.Errorf("%w: link: other: %v", ErrInvalidFact, err)
	}
	return e.Link(tx, known, other)
}

// Refused tells a fact the ledger or the engine refuses (report it, go on
// with the others) from anything else, which must stop the batch so it is
// retried: a failing database must never make facts look rejected.
func Refused(err error) bool {
	for _, business := range []error{ErrInvalidFact, ledger.ErrInvalid, ledger.ErrUnknownProgram, ledger.ErrUnknownCustomer,
		ledger.ErrUnknownMovement, ledger.ErrInsufficient, ledger.ErrIdempotency, ledger.ErrNotAdjustment, ledger.ErrAlreadyFinal} {
		if errors.Is(err, business) {
			return true
		}
	}
	return false
}
