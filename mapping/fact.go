package mapping

import "fmt"

// Type names the kind of a Fact.
type Type string

const (
	TypeWebOrder    Type = "web_order"
	TypeERPDocument Type = "erp_document"
	TypeTillReceipt Type = "till_receipt"
	TypeAction      Type = "action"
	TypeLink        Type = "link"
)

// Types lists the fact types, in the order messages name them.
func Types() []Type {
	return []Type{TypeWebOrder, TypeERPDocument, TypeTillReceipt, TypeAction, TypeLink}
}

// Fact is one canonical fact of a program: exactly one of its parts is
// set, the one Type names. Its JSON form is the line of a facts file
// (README "Facts files") and the item of a webservice in that form.
type Fact struct {
	Type     Type         `json:"type"`
	Program  string       `json:"program"`
	Order    *WebOrder    `json:"order,omitempty"`
	Document *ERPDocument `json:"document,omitempty"`
	Receipt  *TillReceipt `json:"receipt,omitempty"`
	Action   *Action      `json:"action,omitempty"`
	// A link says Known and Other are identifiers of the same customer.
	Known string `json:"known,omitempty"`
	Other string `json:"other,omitempty"`
}

// Validate checks that the part Type names is there and valid.
func (f Fact) Validate() error {
	missing := func(part string) error {
		return fmt.Errorf("%w: %s: the %q object is missing", ErrInvalidFact, f.Type, part)
	}
	invalid := func(err error) error { return fmt.Errorf("%w: %v", ErrInvalidFact, err) }
	if f.Program == "" && f.Type != TypeLink { // a customer is the same in every program
		return fmt.Errorf("%w: %s: the program is empty", ErrInvalidFact, f.Type)
	}
	switch f.Type {
	case TypeWebOrder:
		if f.Order == nil {
			return missing("order")
		}
		if err := f.Order.Validate(); err != nil {
			return invalid(err)
		}
	case TypeERPDocument:
		if f.Document == nil {
			return missing("document")
		}
		if err := f.Document.Validate(); err != nil {
			return invalid(err)
		}
	case TypeTillReceipt:
		if f.Receipt == nil {
			return missing("receipt")
		}
		if err := f.Receipt.Validate(); err != nil {
			return invalid(err)
		}
	case TypeAction:
		if f.Action == nil {
			return missing("action")
		}
		if err := f.Action.Validate(); err != nil {
			return invalid(err)
		}
	case TypeLink:
		if f.Known == "" || f.Other == "" {
			return fmt.Errorf("%w: link: both known and other identifiers are needed", ErrInvalidFact)
		}
	default:
		return fmt.Errorf("%w: unknown type %q (web_order, erp_document, till_receipt, action, link)", ErrInvalidFact, f.Type)
	}
	return nil
}

// Subject names what the fact is about, for messages: "order W1",
// "receipt S1/T2/4711", "link web:42 card:0001".
func (f Fact) Subject() string {
	switch {
	case f.Order != nil:
		return "order " + f.Order.ID
	case f.Document != nil:
		return "document " + f.Document.Key
	case f.Receipt != nil:
		return "receipt " + f.Receipt.Key()
	case f.Action != nil:
		return string(f.Action.Kind) + " of " + f.Action.Customer
	case f.Type == TypeLink:
		return "link " + f.Known + " " + f.Other
	}
	return string(f.Type)
}
