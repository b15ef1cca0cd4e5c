package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// Fact kinds as stored in the ledger.
const (
	kindWebOrder = "web_order"
	kindERPDoc   = "erp_document"
)

// orderFacts are the facts known about one order, each at its latest
// revision.
type orderFacts struct {
	order *WebOrder
	docs  []ERPDocument // by date, then key
}

// gather decodes a subject's facts. The latest order revision is the one
// with the latest status time (ties: the later status, then the content),
// and of each document the one with the latest date (ties: the content):
// never the arrival order.
func gather(fs []ledger.Fact) (orderFacts, error) {
	var of orderFacts
	var orderRaw string
	docs := map[string]ERPDocument{}
	docRaw := map[string]string{}
	for _, f := range fs {
		switch f.Kind {
		case kindWebOrder:
			var o WebOrder
			if err := json.Unmarshal(f.Payload, &o); err != nil {
				return of, fmt.Errorf("stored web order %s: %w", f.Key, err)
			}
			if of.order == nil || laterOrder(o, string(f.Payload), *of.order, orderRaw) {
				of.order, orderRaw = &o, string(f.Payload)
			}
		case kindERPDoc:
			var d ERPDocument
			if err := json.Unmarshal(f.Payload, &d); err != nil {
				return of, fmt.Errorf("stored ERP document %s: %w", f.Key, err)
			}
			prev, ok := docs[d.Key]
			if !ok || d.Date.After(prev.Date) || (d.Date.Equal(prev.Date) && string(f.Payload) > docRaw[d.Key]) {
				docs[d.Key], docRaw[d.Key] = d, string(f.Payload)
			}
		}
	}
	for _, d := range docs {
		of.docs = append(of.docs, d)
	}
	sort.Slice(of.docs, func(i, j int) bool {
		if !of.docs[i].Date.Equal(of.docs[j].Date) {
			return of.docs[i].Date.Before(of.docs[j].Date)
		}
		return of.docs[i].Key < of.docs[j].Key
	})
	return of, nil
}

func laterOrder(a WebOrder, araw string, b WebOrder, braw string) bool {
	if !a.StatusAt.Equal(b.StatusAt) {
		return a.StatusAt.After(b.StatusAt)
	}
	if a.Status.Rank() != b.Status.Rank() {
		return a.Status.Rank() > b.Status.Rank()
	}
	return araw > braw
}

// target is what the ledger should hold for one order.
type target struct {
	Cancelled   bool
	Confirmed   bool
	Provisional int64     // pending accrual
	Earned      int64     // posted accrual, net of credit notes
	EarnedAt    time.Time // when the points were earned (first conversion)
	Document    string    // the document that confirmed the order
	Spend       int64     // points the order spends
}

// orderTarget computes an order's target from its facts with the rules it
// was placed under.
func orderTarget(of orderFacts, ar rules.AccrualRules, confirmOn ConfirmOn) (target, error) {
	o := *of.order
	var t target
	superseded := map[string]bool{}
	for _, d := range of.docs {
		if d.Kind == DocInvoice {
			for _, k := range d.Supersedes {
				superseded[k] = true
			}
		}
	}
	var converted, credited []ERPDocument
	for _, d := range of.docs {
		switch d.Kind {
		case DocCancellation:
			t.Cancelled = true
		case DocCreditNote:
			credited = append(credited, d)
		case DocDeliveryNote, DocInvoice:
			if !superseded[d.Key] {
				converted = append(converted, d)
			}
		}
	}
	if o.Status == StatusCancelled {
		t.Cancelled = true
	}
	if t.Cancelled {
		return t, nil
	}
	t.Spend = o.PointsSpent
	base := o.Document()
	switch {
	case len(converted) > 0:
		t.Confirmed, t.EarnedAt, t.Document = true, converted[0].Date, converted[0].Key
		base = merge(converted, o.FidelityDiscount)
	case confirmOn == ConfirmPaid && (o.Status == StatusPaid || o.Status == StatusCompleted),
		confirmOn == ConfirmCompleted && o.Status == StatusCompleted:
		t.Confirmed, t.EarnedAt, t.Document = true, o.StatusAt, o.ID
	}
	acc, err := rules.Accrue(ar, base)
	if err != nil {
		return t, fmt.Errorf("order %s: %w", o.ID, err)
	}
	if !t.Confirmed {
		t.Provisional = acc.Points
		return t, nil
	}
	t.Earned = acc.Points
	if len(credited) > 0 {
		back, err := rules.Takeback(ar, base, merge(credited, 0))
		if err != nil {
			return t, fmt.Errorf("order %s: credit notes: %w", o.ID, err)
		}
		t.Earned -= back
	}
	return t, nil
}

// merge adds up documents into one; the order's fidelity discount goes
// with the converted part (the accrual rules decide whether it lowers the
// base), never with what is credited.
func merge(ds []ERPDocument, fidelity int64) rules.Document {
	m := rules.Document{Date: ds[0].Date, FidelityDiscount: fidelity}
	for _, d := range ds {
		m.Lines = append(m.Lines, d.Lines...)
		m.Discount += d.Discount
		m.Shipping += d.Shipping
	}
	return m
}
