package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/reconcile"
	"github.com/pointsync/pointsync/rules"
)

// checkoutAPI serves the routes a shop's checkout and its customer pages
// use: programs, balance, movements, quote, points per product,
// reservations and prizes.
type checkoutAPI struct {
	s *Server
	// programs are the configured programs with their rules built once,
	// by id.
	programs map[string]checkoutProgram
	// order is the configuration order of the program ids.
	order []string
}

// checkoutProgram is a configured program as the checkout routes use it.
type checkoutProgram struct {
	rules      rules.Program
	accrual    rules.AccrualRules
	redemption rules.RedemptionRules
	redeems    bool // redemption rules are configured
	// err is why the program's rules could not be built (the
	// configuration was validated, so it is not expected); its routes
	// answer 500 with it in the log.
	err error
}

// Bounds of the movement listing's page size.
const (
	defaultMovementPage = 100
	maxMovementPage     = 1000
	// maxOrderRef is the longest order reference or prize request key
	// taken: the ledger's idempotency keys (191 bytes) hold them with a
	// prefix.
	maxOrderRef = 128
)

// checkoutRoutes registers the checkout's routes; the program's rules
// are built once here.
func (s *Server) checkoutRoutes() {
	c := &checkoutAPI{s: s, programs: map[string]checkoutProgram{}}
	for _, cp := range s.conf.Programs {
		c.programs[cp.ID] = buildCheckoutProgram(cp)
		c.order = append(c.order, cp.ID)
	}
	const prog = "/api/v1/programs/{program}"
	s.api("GET", "/api/v1/programs", ScopeRead, c.listPrograms)
	s.api("GET", prog+"/customers/{customer}/balance", ScopeRead, c.balance)
	s.api("GET", prog+"/customers/{customer}/movements", ScopeRead, c.movements)
	s.api("POST", prog+"/quote", ScopeRead, c.quote)
	s.api("GET", prog+"/products/points", ScopeRead, c.productPoints)
	c.reservationRoutes(prog)
	s.api("POST", prog+"/customers/{customer}/prizes/{catalog}/{prize}", ScopeRedeem, c.redeemPrize)
}

func buildCheckoutProgram(cp configs.Program) checkoutProgram {
	var p checkoutProgram
	if p.rules, p.err = cp.Rules(); p.err != nil {
		return p
	}
	if p.accrual, p.err = cp.AccrualRules(); p.err != nil {
		p.err = fmt.Errorf("program %s: accrual: %w", cp.ID, p.err)
		return p
	}
	if p.redemption, p.redeems, p.err = cp.RedemptionRules(); p.err != nil {
		p.err = fmt.Errorf("program %s: redemption: %w", cp.ID, p.err)
	}
	return p
}

// program is the program the request's path names: 404 unknown_program
// when it is not configured, checked before any work.
func (c *checkoutAPI) program(r *http.Request) (checkoutProgram, error) {
	id := r.PathValue("program")
	p, ok := c.programs[id]
	if !ok {
		return p, errorf(http.StatusNotFound, CodeUnknownProgram, "program",
			"no program %q is configured; GET /api/v1/programs lists them", id)
	}
	return p, p.err
}

// checkoutPathIdent is the customer identifier of the request's path.
func checkoutPathIdent(r *http.Request) (ledger.Ident, error) {
	return parseIdent("customer", r.PathValue("customer"))
}

// parseIdent checks a customer identifier given in field (a path or
// query parameter, or a body field): a bad one is a 400 naming it.
func parseIdent(field, s string) (ledger.Ident, error) {
	id, err := ledger.ParseIdent(s)
	if err != nil {
		return "", badRequest(field, "%v", err)
	}
	return id, nil
}

// apiProgram is one program in the listing.
type apiProgram struct {
	ID   string     `json:"id"`
	Name string     `json:"name"`
	Unit rules.Unit `json:"unit"`
}

func (c *checkoutAPI) listPrograms(w http.ResponseWriter, r *http.Request) error {
	out := make([]apiProgram, 0, len(c.order))
	for _, id := range c.order {
		p := c.programs[id]
		if p.err != nil {
			return p.err
		}
		out = append(out, apiProgram{ID: id, Name: p.rules.Name, Unit: p.rules.Unit})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (c *checkoutAPI) balance(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	cust, err := checkoutPathIdent(r)
	if err != nil {
		return err
	}
	b, err := c.s.ledger.Balance(r.Context(), ledger.Account{Program: p.rules.ID, Customer: cust}, time.Time{})
	if err != nil {
		return err
	}
	if b.Expiring == nil {
		b.Expiring = []ledger.Expiring{}
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// apiMovement is a movement as the API lists it: Pending marks a credit or
// spend not finished yet, Provisional a pending credit (points that are
// not earned yet).
type apiMovement struct {
	ledger.Movement
	Pending     bool `json:"pending"`
	Provisional bool `json:"provisional"`
}

// apiMovementPage is a page of movements, newest first. NextBefore is the
// before parameter of the next (older) page, 0 when this is the last one.
type apiMovementPage struct {
	Movements  []apiMovement `json:"movements"`
	NextBefore int64         `json:"next_before"`
}

func (c *checkoutAPI) movements(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	cust, err := checkoutPathIdent(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	before, err := checkoutQueryInt(q.Get("before"), "before", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	limit, err := checkoutQueryInt(q.Get("limit"), "limit", defaultMovementPage, 1, maxMovementPage)
	if err != nil {
		return err
	}
	// One more than the page tells whether an older page exists.
	ms, err := c.s.ledger.Movements(r.Context(), ledger.Account{Program: p.rules.ID, Customer: cust},
		ledger.MovementQuery{Before: before, Limit: int(limit) + 1})
	if err != nil {
		return err
	}
	page := apiMovementPage{Movements: make([]apiMovement, 0, min(len(ms), int(limit)))}
	if len(ms) > int(limit) {
		ms = ms[:limit]
		page.NextBefore = ms[len(ms)-1].ID
	}
	for _, m := range ms {
		pending := m.State == ledger.StatePending
		page.Movements = append(page.Movements, apiMovement{Movement: m, Pending: pending,
			Provisional: pending && m.Kind == ledger.KindCredit})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// checkoutQueryInt reads an optional integer query parameter within [lo, hi].
func checkoutQueryInt(s, field string, def, lo, hi int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(field, "%s %q must be a whole number from %d to %d", field, s, lo, hi)
	}
	return n, nil
}

// decimalText is a non-negative decimal number as the client wrote it: a
// JSON string ("12.50") or a JSON number (12.50), read from its text so no
// binary fraction ever rounds it.
type decimalText string

// UnmarshalJSON keeps the text of a string or number; null leaves it
// empty (absent).
func (d *decimalText) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimalText(s)
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*d = decimalText(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKindOf(b), Type: reflect.TypeFor[string]()}
}

// jsonKindOf names the kind of a JSON value for a type error.
func jsonKindOf(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	}
	return "value"
}

// money reads d as cents ("12.50" is 1250); empty is def.
func (d decimalText) money(field string, def int64) (int64, error) {
	if d == "" {
		return def, nil
	}
	v, err := configs.ParseMoney(string(d))
	if err != nil {
		return 0, badRequest(field, "%s: %v", field, err)
	}
	return v, nil
}

// quantity reads d as thousandths of a unit ("0.250" is 250); empty is
// one unit.
func (d decimalText) quantity(field string) (int64, error) {
	if d == "" {
		return 1000, nil
	}
	v, err := configs.ParseQuantity(string(d))
	if err != nil {
		return 0, badRequest(field, "%s: %v", field, err)
	}
	return v, nil
}

// quoteRequest is the body of POST .../quote.
type quoteRequest struct {
	// Customer is optional: without one (or for a customer not known
	// yet) the balance is 0.
	Customer string      `json:"customer"`
	Cart     cartRequest `json:"cart"`
}

// cartRequest is a cart; money is decimal text in the currency ("12.50").
type cartRequest struct {
	Date     string        `json:"date"` // YYYY-MM-DD (program zone) or RFC 3339; empty: now
	Lines    []lineRequest `json:"lines"`
	Discount decimalText   `json:"discount"` // document-level discount
	Shipping decimalText   `json:"shipping"`
}

// lineRequest is one cart line: Total, when given, is the line total
// before discounts; otherwise it is Price (per unit) times Quantity,
// rounded to the cent, half up.
type lineRequest struct {
	Product    string      `json:"product"`
	Quantity   decimalText `json:"quantity"` // units, up to 3 decimals; empty: 1
	Price      decimalText `json:"price"`
	Total      decimalText `json:"total"`
	Discount   decimalText `json:"discount"`
	Discounted bool        `json:"discounted"`
}

// document turns the cart into what the rules price; loc is the
// program's zone, now the default date.
func (cr cartRequest) document(loc *time.Location, now time.Time) (rules.Document, error) {
	var d rules.Document
	var err error
	if d.Date, err = cartDate(cr.Date, loc, now); err != nil {
		return d, err
	}
	if d.Discount, err = cr.Discount.money("cart.discount", 0); err != nil {
		return d, err
	}
	if d.Shipping, err = cr.Shipping.money("cart.shipping", 0); err != nil {
		return d, err
	}
	d.Lines = make([]rules.Line, 0, len(cr.Lines))
	// What rules.Document.Validate refuses is refused here first, naming
	// the field at fault.
	money := func(c int64) string { return csvio.FormatCents(c, csvio.DecimalPoint) }
	var gross, qty, net int64
	for i, l := range cr.Lines {
		field := fmt.Sprintf("cart.lines[%d]", i)
		line, err := l.line(field)
		if err != nil {
			return d, err
		}
		if line.Discount > line.Gross {
			return d, badRequest(field+".discount", "%s: the discount %s is above the line total %s", field, money(line.Discount), money(line.Gross))
		}
		if gross > math.MaxInt64-line.Gross || qty > math.MaxInt64-line.Quantity {
			return d, badRequest(field, "%s: the lines of the cart add up to more than can be counted", field)
		}
		gross, qty, net = gross+line.Gross, qty+line.Quantity, net+line.Net()
		d.Lines = append(d.Lines, line)
	}
	if d.Discount > net {
		return d, badRequest("cart.discount", "cart.discount %s is above the lines' total after their own discounts, %s", money(d.Discount), money(net))
	}
	if net-d.Discount > math.MaxInt64-d.Shipping {
		return d, badRequest("cart.shipping", "cart.shipping %s: the cart's total is more than can be counted", money(d.Shipping))
	}
	return d, nil
}

func (l lineRequest) line(field string) (rules.Line, error) {
	out := rules.Line{Product: l.Product, Discounted: l.Discounted}
	var err error
	if out.Quantity, err = l.Quantity.quantity(field + ".quantity"); err != nil {
		return out, err
	}
	if out.Discount, err = l.Discount.money(field+".discount", 0); err != nil {
		return out, err
	}
	if l.Total != "" {
		out.Gross, err = l.Total.money(field+".total", 0)
		return out, err
	}
	if l.Price == "" {
		return out, badRequest(field+".price", "%s: give the unit price (e.g. \"12.50\") or the line total", field)
	}
	price, err := l.Price.money(field+".price", 0)
	if err != nil {
		return out, err
	}
	if out.Gross, err = lineGross(price, out.Quantity); err != nil {
		return out, badRequest(field+".price", "%s: %v", field, err)
	}
	return out, nil
}

// lineGross is price cents times quantity thousandths, in cents rounded
// half up.
func lineGross(price, qty int64) (int64, error) {
	v := new(big.Int).Mul(big.NewInt(price), big.NewInt(qty))
	v.Add(v, big.NewInt(500))
	v.Quo(v, big.NewInt(1000))
	if !v.IsInt64() {
		return 0, errors.New("price times quantity is too large")
	}
	return v.Int64(), nil
}

// cartDate reads the cart's date: a day in the program's zone (its
// start), an RFC 3339 instant, or now when empty.
func cartDate(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.ParseInLocation(rules.DateLayout, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badRequest("cart.date", "cart.date %q is neither a day (2026-03-10) nor an RFC 3339 instant (2026-03-10T15:04:05+01:00)", s)
	}
	return t, nil
}

// quoteAnswer is what a cart earns and the most its customer may spend
// on it.
type quoteAnswer struct {
	Earn   int64        `json:"earn"`
	Redeem redeemAnswer `json:"redeem"`
}

// redeemAnswer is rules.Quote in the API's form: MaxValue in cents and as
// text, Reason when nothing can be spent, Limit the limit that bound it.
type redeemAnswer struct {
	MaxPoints    int64  `json:"max_points"`
	MaxValue     int64  `json:"max_value"`
	MaxValueText string `json:"max_value_text"`
	Base         int64  `json:"base"`
	Reason       string `json:"reason"`
	Limit        string `json:"limit"`
}

func (c *checkoutAPI) quote(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	var req quoteRequest
	if err := c.s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	var cust ledger.Ident
	if req.Customer != "" {
		if cust, err = parseIdent("customer", req.Customer); err != nil {
			return err
		}
	}
	doc, err := req.Cart.document(p.rules.Location, c.s.clock())
	if err != nil {
		return err
	}
	var q reconcile.CartQuote
	switch {
	case !p.redeems:
		// Points cannot be spent in this program; what the cart earns
		// is still worth showing.
		acc, err := rules.Accrue(p.accrual, doc)
		if err != nil {
			return err
		}
		q.Earn = acc.Points
		q.Redeem.Reason = fmt.Sprintf("program %s has no redemption rules: its points cannot be spent at a checkout", p.rules.ID)
	case cust == "":
		acc, err := rules.Accrue(p.accrual, doc)
		if err != nil {
			return err
		}
		if q.Redeem, err = rules.QuoteRedemption(p.redemption, 0, doc); err != nil {
			return err
		}
		q.Earn = acc.Points
	default:
		if q, err = c.s.engine.Quote(r.Context(), c.s.ledger, p.rules.ID, cust, doc); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, quoteAnswer{Earn: q.Earn, Redeem: redeemAnswer{
		MaxPoints: q.Redeem.MaxPoints, MaxValue: q.Redeem.MaxValue, MaxValueText: csvio.FormatCents(q.Redeem.MaxValue, csvio.DecimalPoint),
		Base: q.Redeem.Base, Reason: q.Redeem.Reason, Limit: q.Redeem.Limit,
	}})
	return nil
}

// productPoints answers how many points one unit of a product earns at a
// price: a one-line cart through the program's accrual rules.
func (c *checkoutAPI) productPoints(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	product := q.Get("product")
	if product == "" {
		return badRequest("product", "product is missing: give the product code, e.g. ?product=SKU123&price=12.50")
	}
	if q.Get("price") == "" {
		return badRequest("price", "price is missing: give the unit price with a decimal point, e.g. ?product=SKU123&price=12.50")
	}
	price, err := decimalText(q.Get("price")).money("price", 0)
	if err != nil {
		return err
	}
	acc, err := rules.Accrue(p.accrual, rules.Document{Date: c.s.clock(),
		Lines: []rules.Line{{Product: product, Quantity: 1000, Gross: price}}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"points": acc.Points})
	return nil
}

// redeemRequest is the body of POST .../prizes/{catalog}/{prize}.
type redeemRequest struct {
	// Key makes a retried request harmless: the same key redeems once.
	Key      string `json:"key"`
	CardType string `json:"card_type"`
}

func (c *checkoutAPI) redeemPrize(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	cust, err := checkoutPathIdent(r)
	if err != nil {
		return err
	}
	var req redeemRequest
	if err := c.s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Key == "" {
		return badRequest("key", "key is missing: give a key unique to this redemption, so that a retried request does not redeem twice")
	}
	if len(req.Key) > maxOrderRef {
		return badRequest("key", "key is longer than %d bytes", maxOrderRef)
	}
	var out reconcile.PrizeRedeemed
	err = c.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		out, err = c.s.engine.RedeemPrize(tx, p.rules.ID, cust, r.PathValue("catalog"), r.PathValue("prize"), req.CardType, req.Key, c.s.rand)
		return err
	})
	if errors.Is(err, rules.ErrUnknownPrize) {
		return errorf(http.StatusNotFound, CodeNotFound, "prize", "%s", err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
