package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Line is one row of a document. Amounts are cents, quantities thousandths
// of a unit, so that weighed goods (0.250 kg) and services (no quantity)
// fit the same row as pieces.
type Line struct {
	Product    string `json:"product"`
	Quantity   int64  `json:"quantity"`             // thousandths of a unit (1 piece = 1000; 0.250 kg = 250); may be 0 for services
	Gross      int64  `json:"gross"`                // line total before discounts, cents
	Discount   int64  `json:"discount,omitempty"`   // ordinary discounts and promotions on this line, cents (>= 0)
	Discounted bool   `json:"discounted,omitempty"` // the line is already on promotion (for "exclude discounted lines")
}

// Net is the line total after its own discounts, before any share of the
// document discount.
func (l Line) Net() int64 { return l.Gross - l.Discount }

// Document is what the rules see of a web order, an ERP delivery note,
// invoice or credit note, or a till receipt.
type Document struct {
	Date  time.Time
	Lines []Line
	// Discount is the ordinary document-level discount (promotions). Where a
	// rule works line by line it is spread over the lines pro rata to their
	// net, so a per-line rule sees what the customer really paid for the line.
	Discount int64
	// FidelityDiscount is the points or amount-card discount used on this
	// same document. It is kept apart from Discount because by default it
	// does not lower what the document earns (SPEC 3.1).
	FidelityDiscount int64
	Shipping         int64 // cents
}

// ErrInvalidDocument is wrapped by every error about a document's content,
// so callers can tell bad input (a 400, a rejected drop row) from a fault.
var ErrInvalidDocument = errors.New("invalid document")

func invalidDocument(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidDocument, fmt.Sprintf(format, args...))
}

// lineName is how errors point at a line: numbered from 1, as ERP and till
// documents number their rows, and with the product so an operator can find
// it without counting.
func lineName(i int, product string) string {
	return fmt.Sprintf("line %d (product %q)", i+1, product)
}

// Validate reports the first thing in d that no rule can make sense of:
// negative amounts or quantities, a discount above what it discounts, a
// fidelity discount above the document total, or totals too large to add
// up. Lines are numbered from 1 in messages.
func (d Document) Validate() error {
	_, err := d.goodsTotal()
	return err
}

// goodsTotal checks d and returns the goods net of every ordinary discount
// (line and document), shipping excluded.
func (d Document) goodsTotal() (int64, error) {
	var gross, net, qty int64
	var err error
	for i, l := range d.Lines {
		switch {
		case l.Quantity < 0:
			return 0, invalidDocument("%s: quantity %s is negative (a return is a credit note, not a negative line)", lineName(i, l.Product), quantityText(l.Quantity))
		case l.Gross < 0:
			return 0, invalidDocument("%s: gross %s is negative (a return is a credit note, not a negative line)", lineName(i, l.Product), moneyText(l.Gross))
		case l.Discount < 0:
			return 0, invalidDocument("%s: discount %s is negative", lineName(i, l.Product), moneyText(l.Discount))
		case l.Discount > l.Gross:
			return 0, invalidDocument("%s: discount %s is above the line gross %s", lineName(i, l.Product), moneyText(l.Discount), moneyText(l.Gross))
		}
		if gross, err = addInt64(gross, l.Gross); err != nil {
			return 0, invalidDocument("%s: the lines' gross total is too large: %v", lineName(i, l.Product), err)
		}
		if qty, err = addInt64(qty, l.Quantity); err != nil {
			return 0, invalidDocument("%s: the lines' total quantity is too large: %v", lineName(i, l.Product), err)
		}
		net += l.Net() // cannot overflow: 0 <= net <= gross, and gross fitted
	}
	switch {
	case d.Discount < 0:
		return 0, invalidDocument("document discount %s is negative", moneyText(d.Discount))
	case d.Discount > net:
		return 0, invalidDocument("document discount %s is above the lines' net total %s", moneyText(d.Discount), moneyText(net))
	case d.Shipping < 0:
		return 0, invalidDocument("shipping %s is negative", moneyText(d.Shipping))
	case d.FidelityDiscount < 0:
		return 0, invalidDocument("fidelity discount %s is negative", moneyText(d.FidelityDiscount))
	}
	goods := net - d.Discount
	total, err := addInt64(goods, d.Shipping)
	if err != nil {
		return 0, invalidDocument("goods %s plus shipping %s is too large: %v", moneyText(goods), moneyText(d.Shipping), err)
	}
	if d.FidelityDiscount > total {
		return 0, invalidDocument("fidelity discount %s is above the document total %s (goods net of discounts plus shipping)", moneyText(d.FidelityDiscount), moneyText(total))
	}
	return goods, nil
}

// lineNets gives each line's net after its own discount and its share of the
// document discount. The shares are pro rata to the line nets, rounded down,
// and the cents left over go one each to the lines with the largest
// remainders (the earlier line on a tie), so they add up to the document
// discount exactly and the result depends only on the document. d must
// have passed Validate.
func (d Document) lineNets() ([]int64, error) {
	nets := make([]int64, len(d.Lines))
	var sum int64
	for i, l := range d.Lines {
		nets[i] = l.Net()
		sum += nets[i]
	}
	if d.Discount == 0 || sum == 0 {
		return nets, nil
	}
	rems := make([]int64, len(d.Lines))
	left := d.Discount
	for i := range nets {
		share, rem, err := mulDivRem(d.Discount, nets[i], sum)
		if err != nil {
			return nil, err
		}
		nets[i] -= share
		rems[i] = rem
		left -= share
	}
	order := make([]int, len(nets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rems[a] > rems[b]:
			return -1
		case rems[a] < rems[b]:
			return 1
		}
		return 0
	})
	// left is below the number of lines with a remainder, and a line with a
	// remainder has a net strictly above its floored share, so no net goes
	// below zero.
	for _, i := range order[:left] {
		nets[i]--
	}
	return nets, nil
}
