package mapping

import (
	"fmt"
	"slices"
)

// Field is one logical field of a fact type.
type Field struct {
	Name     string   // logical name, the key of Record.Values
	Required bool     // a group without it is an error
	Line     bool     // per record (a line of the document) rather than per group
	Headers  []string // header names accepted in files besides Name (English and Italian, e.g. "negozio" for store)
	Help     string   // one line for README/config reference
	Kind     Kind     // how its text is read
}

// Kind is how a field's text is read, so that a source with typed
// columns (SQL) can check a column's type before reading it.
type Kind string

// Kinds of fields.
const (
	KindText     Kind = "text"     // any text: codes, keys, statuses
	KindIdent    Kind = "ident"    // a customer identifier
	KindMoney    Kind = "money"    // an amount of money, read to cents
	KindPoints   Kind = "points"   // whole points, or money for amount programs
	KindQuantity Kind = "quantity" // a quantity, up to 3 decimals
	KindTime     Kind = "time"     // a date or a date and time
	KindFlag     Kind = "flag"     // yes or no
)

// Logical field names, the keys of Record.Values.
const (
	fieldProgram = "program"

	fieldLine       = "line"
	fieldProduct    = "product"
	fieldQuantity   = "quantity"
	fieldGross      = "gross"
	fieldDiscount   = "discount"
	fieldDiscounted = "discounted"

	fieldStore    = "store"
	fieldTill     = "till"
	fieldReceipt  = "receipt"
	fieldAt       = "at"
	fieldCard     = "card"
	fieldCardType = "card_type"
	fieldPrize    = "prize"
	fieldEarned   = "earned"
	fieldSpent    = "spent"

	fieldOrder            = "order"
	fieldCustomer         = "customer"
	fieldPlacedAt         = "placed_at"
	fieldStatus           = "status"
	fieldStatusAt         = "status_at"
	fieldDocDiscount      = "doc_discount"
	fieldShipping         = "shipping"
	fieldFidelityDiscount = "fidelity_discount"
	fieldPointsSpent      = "points_spent"

	fieldKey        = "key"
	fieldDocType    = "doc_type"
	fieldYear       = "year"
	fieldSeries     = "series"
	fieldNumber     = "number"
	fieldKind       = "kind"
	fieldDate       = "date"
	fieldSupersedes = "supersedes"

	fieldReviewID = "review_id"

	fieldKnown = "known"
	fieldOther = "other"
	fieldWeb   = "web"
	fieldERP   = "erp"
	fieldEmail = "email"
)

// lineFields are the fields of one line of a receipt, order or document:
// each record of those groups is a line.
var lineFields = []Field{
	{Name: fieldLine, Line: true, Headers: []string{"riga", "line_id", "line_no"},
		Help: "the line's id within the document; default its position (1, 2, 3...)"},
	{Name: fieldProduct, Line: true, Headers: []string{"articolo", "prodotto", "sku", "codice_articolo"},
		Help: "product code, matched by per-product rules"},
	{Name: fieldQuantity, Line: true, Headers: []string{"quantita", "quantità", "qta", "qty"},
		Help: "quantity, up to 3 decimals (0,250 kg); default 1"},
	{Name: fieldGross, Required: true, Line: true, Headers: []string{"importo", "lordo", "totale", "amount"},
		Help: "line total before discounts, money"},
	{Name: fieldDiscount, Line: true, Headers: []string{"sconto", "sconto_riga"},
		Help: "discounts and promotions on the line, money; default 0"},
	{Name: fieldDiscounted, Line: true, Headers: []string{"scontato", "in_promozione", "promo"},
		Help: "the line is already on promotion: 1/0, true/false, yes/no, si/no, x or empty"},
}

var programField = Field{Name: fieldProgram, Headers: []string{"programma", "raccolta"},
	Help: "program of the fact, overriding the connector's"}

var typeFields = map[Type][]Field{
	TypeTillReceipt: {
		{Name: fieldStore, Required: true, Headers: []string{"negozio", "punto_vendita", "pv"},
			Help: "store code; with till and receipt it identifies the receipt"},
		{Name: fieldTill, Required: true, Headers: []string{"cassa"},
			Help: "till within the store"},
		{Name: fieldReceipt, Required: true, Headers: []string{"scontrino", "numero_scontrino"},
			Help: "receipt number within the till"},
		{Name: fieldAt, Required: true, Headers: []string{"data_ora", "data", "datetime"},
			Help: "date and time of the receipt"},
		{Name: fieldCard, Required: true, Headers: []string{"tessera", "numero_tessera", "card_number"},
			Help: "card number read at the till"},
		{Name: fieldCardType, Headers: []string{"tipo_tessera"},
			Help: "card type, for catalogs of a card type"},
		{Name: fieldPrize, Headers: []string{"premio"},
			Help: "catalog prize given at the till for the points spent"},
		{Name: fieldEarned, Line: true, Headers: []string{"punti_guadagnati", "guadagnati", "vincita"},
			Help: "points (or amount, for amount cards) the till computed; summed over the rows; empty lets the rules compute"},
		{Name: fieldSpent, Line: true, Headers: []string{"punti_spesi", "spesi", "utilizzati"},
			Help: "points (or amount) the card paid at the till; summed over the rows"},
	},
	TypeWebOrder: {
		{Name: fieldOrder, Required: true, Headers: []string{"ordine", "numero_ordine", "order_id"},
			Help: "shop order id; adjacent rows with the same id are the lines of one order"},
		{Name: fieldCustomer, Required: true, Headers: []string{"cliente", "utente", "customer_id"},
			Help: "customer identifier (web:42), or a bare value given the connector's ident_kind"},
		{Name: fieldPlacedAt, Required: true, Headers: []string{"data_ordine", "created_at", "order_date"},
			Help: "when the order was placed"},
		{Name: fieldStatus, Required: true, Headers: []string{"stato", "stato_ordine"},
			Help: "order status, mapped through statuses (placed, payment_unconfirmed, paid, completed, cancelled)"},
		{Name: fieldStatusAt, Headers: []string{"data_stato", "updated_at"},
			Help: "when the order took its status; default placed_at"},
		{Name: fieldDocDiscount, Headers: []string{"sconto_documento", "sconto_ordine"},
			Help: "document-level discount, money"},
		{Name: fieldShipping, Headers: []string{"spedizione", "spese_spedizione", "trasporto"},
			Help: "shipping, money"},
		{Name: fieldFidelityDiscount, Headers: []string{"sconto_punti", "sconto_fidelity"},
			Help: "discount paid with points, money"},
		{Name: fieldPointsSpent, Headers: []string{"punti_spesi", "punti_utilizzati"},
			Help: "points (or amount, for amount programs) spent on the order"},
	},
	TypeERPDocument: {
		{Name: fieldKey, Headers: []string{"chiave", "chiave_documento", "doc_key"},
			Help: "document identity; default doc_type/year/series/number"},
		{Name: fieldDocType, Headers: []string{"tipo_documento", "tipo_doc", "tipodoc"},
			Help: "ERP document type (part of the key; mapped through document_kinds when kind is absent)"},
		{Name: fieldYear, Headers: []string{"anno", "esercizio"},
			Help: "document year (part of the key)"},
		{Name: fieldSeries, Headers: []string{"serie"},
			Help: "document series (part of the key)"},
		{Name: fieldNumber, Headers: []string{"numero", "numero_documento", "numdoc"},
			Help: "document number (part of the key)"},
		{Name: fieldKind, Headers: []string{"natura", "genere"},
			Help: "document kind, mapped through document_kinds (delivery_note, invoice, credit_note, cancellation)"},
		{Name: fieldOrder, Required: true, Headers: []string{"ordine", "ordine_web", "rif_ordine"},
			Help: "the web order the document comes from"},
		{Name: fieldDate, Required: true, Headers: []string{"data", "data_documento", "data_doc"},
			Help: "document date (and time)"},
		{Name: fieldDocDiscount, Headers: []string{"sconto_documento", "sconto_piede"},
			Help: "document-level discount, money"},
		{Name: fieldShipping, Headers: []string{"spedizione", "spese_spedizione", "trasporto"},
			Help: "shipping, money"},
		{Name: fieldSupersedes, Headers: []string{"sostituisce", "da_bolle", "ddt_origine"},
			Help: "keys of the delivery notes this invoice was made from, separated by spaces, commas or semicolons"},
	},
	TypeAction: {
		{Name: fieldCustomer, Required: true, Headers: []string{"cliente", "utente", "customer_id"},
			Help: "customer identifier (web:42), or a bare value given the connector's ident_kind"},
		{Name: fieldKind, Required: true, Headers: []string{"azione", "tipo", "action"},
			Help: "registration, newsletter or review (registrazione, newsletter, recensione)"},
		{Name: fieldReviewID, Headers: []string{"id_recensione", "recensione"},
			Help: "review id, needed for reviews"},
		{Name: fieldAt, Required: true, Headers: []string{"data_ora", "data", "date"},
			Help: "when the customer did it"},
	},
	TypeLink: {
		{Name: fieldKnown, Headers: []string{"noto", "identificativo"},
			Help: "an identifier of the customer (web:42), linked to other"},
		{Name: fieldOther, Headers: []string{"altro", "altro_identificativo"},
			Help: "another identifier of the same customer"},
		{Name: fieldWeb, Headers: []string{"id_web", "utente_web", "web_id"},
			Help: "the customer's web shop id"},
		{Name: fieldERP, Headers: []string{"codice_erp", "codice_cliente", "erp_code"},
			Help: "the customer's ERP code"},
		{Name: fieldCard, Headers: []string{"tessera", "numero_tessera", "card_number"},
			Help: "the customer's card number"},
		{Name: fieldEmail, Headers: []string{"e-mail", "mail", "posta_elettronica"},
			Help: "the customer's e-mail address"},
	},
}

// Fields lists the logical fields a record of type t may hold: the keys of
// Record.Values, and the headers files may name them by.
func Fields(t Type) ([]Field, error) {
	own, ok := typeFields[t]
	if !ok {
		return nil, fmt.Errorf("unknown fact type %q (%s)", t, typeNames())
	}
	fs := slices.Clone(own)
	if grouped(t) {
		fs = append(fs, lineFields...)
	}
	fs = append(fs, programField)
	// The Headers slices are shared with the tables: callers get copies,
	// so editing them cannot change what every Mapper accepts.
	for i := range fs {
		fs[i].Headers = slices.Clone(fs[i].Headers)
		fs[i].Kind = kindOf(t, fs[i].Name)
	}
	return fs, nil
}

// grouped tells whether adjacent records of type t make one fact, each of
// them a line of it.
func grouped(t Type) bool {
	return t == TypeTillReceipt || t == TypeWebOrder || t == TypeERPDocument
}

func typeNames() string {
	s := ""
	for i, t := range Types() {
		if i > 0 {
			s += ", "
		}
		s += string(t)
	}
	return s
}

// kindOf tells how field name of type t is read.
func kindOf(t Type, name string) Kind {
	switch name {
	case fieldGross, fieldDiscount:
		return KindMoney
	case fieldQuantity:
		return KindQuantity
	case fieldDiscounted:
		return KindFlag
	case fieldEarned, fieldSpent:
		return KindPoints
	}
	for _, g := range groupFieldsOf[t] {
		if g.name != name {
			continue
		}
		switch g.kind {
		case vIdent:
			return KindIdent
		case vTime:
			return KindTime
		case vMoney:
			return KindMoney
		case vPoints:
			return KindPoints
		}
	}
	return KindText
}
