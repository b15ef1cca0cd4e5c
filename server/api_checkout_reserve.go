package server

import (
	"errors"
	"net/http"
	"strings"
	"unicode"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// reservationRoutes registers the reservations of a checkout (SPEC 3.3:
// reserve, commit, release) and the prize listing, under prog.
func (c *checkoutAPI) reservationRoutes(prog string) {
	s := c.s
	s.api("POST", prog+"/reservations", ScopeRedeem, c.reserve)
	s.api("GET", prog+"/reservations/{order}", ScopeRedeem, c.reservation)
	s.api("POST", prog+"/reservations/{order}/commit", ScopeRedeem, c.commit)
	s.api("POST", prog+"/reservations/{order}/release", ScopeRedeem, c.release)
	s.api("GET", prog+"/customers/{customer}/prizes", ScopeRead, c.prizes)
}

// reserveRequest is the body of POST .../reservations.
type reserveRequest struct {
	Order    string `json:"order"`
	Customer string `json:"customer"`
	Points   int64  `json:"points"`
}

// checkoutOrder checks an order reference given in field.
func checkoutOrder(field, s string) (string, error) {
	switch {
	case s == "":
		return "", badRequest(field, "%s is missing: give the shop's order reference", field)
	case len(s) > maxOrderRef:
		return "", badRequest(field, "%s is longer than %d bytes", field, maxOrderRef)
	case strings.TrimSpace(s) != s:
		return "", badRequest(field, "%s %q has leading or trailing spaces", field, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", badRequest(field, "%s holds a control character or invalid text", field)
		}
	}
	return s, nil
}

func (c *checkoutAPI) reserve(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	var req reserveRequest
	if err := c.s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	order, err := checkoutOrder("order", req.Order)
	if err != nil {
		return err
	}
	cust, err := parseIdent("customer", req.Customer)
	if err != nil {
		return err
	}
	if req.Points <= 0 {
		return badRequest("points", "points must be greater than 0, got %d", req.Points)
	}
	var res ledger.Reservation
	var replayed bool
	err = c.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, replayed, err = c.s.engine.Reserve(tx, p.rules.ID, cust, order, req.Points, c.s.cfg.ReservationTTL,
			ledger.Meta{Source: ledger.SourceAPI, Actor: actor(r)})
		return err
	})
	if errors.Is(err, ledger.ErrIdempotency) {
		return errorf(http.StatusConflict, CodeConflict, "order", "%s", err.Error())
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if replayed {
		w.Header().Set("Idempotent-Replay", "true")
		status = http.StatusOK
	}
	writeJSON(w, status, res)
	return nil
}

func (c *checkoutAPI) reservation(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	order, err := checkoutOrder("order", r.PathValue("order"))
	if err != nil {
		return err
	}
	res, err := c.s.ledger.Reservation(r.Context(), p.rules.ID, order)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (c *checkoutAPI) commit(w http.ResponseWriter, r *http.Request) error {
	return c.finish(w, r, (*ledger.Tx).CommitReservation)
}

func (c *checkoutAPI) release(w http.ResponseWriter, r *http.Request) error {
	return c.finish(w, r, (*ledger.Tx).ReleaseReservation)
}

// finish commits or releases the reservation of the path's order.
func (c *checkoutAPI) finish(w http.ResponseWriter, r *http.Request, do func(*ledger.Tx, string, string, ledger.Meta) (ledger.Reservation, error)) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	order, err := checkoutOrder("order", r.PathValue("order"))
	if err != nil {
		return err
	}
	var res ledger.Reservation
	var refused error
	err = c.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		res, refused = do(tx, p.rules.ID, order, ledger.Meta{Source: ledger.SourceAPI, Actor: actor(r)})
		if errors.Is(refused, ledger.ErrReservationState) {
			// A hold found past its expiry was voided by the refusal
			// itself: commit, so its points are back at once.
			return nil
		}
		return refused
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// apiPrize is one prize of a catalog for a customer.
type apiPrize struct {
	Catalog     string          `json:"catalog"`
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Kind        rules.PrizeKind `json:"kind"`
	Points      int64           `json:"points"`
	CoPayment   int64           `json:"co_payment"` // cents
	PerCustomer int             `json:"per_customer,omitempty"`
	Stock       int             `json:"stock,omitempty"`
	Redeemable  bool            `json:"redeemable"`
	Reason      string          `json:"reason,omitempty"`
}

func (c *checkoutAPI) prizes(w http.ResponseWriter, r *http.Request) error {
	p, err := c.program(r)
	if err != nil {
		return err
	}
	cust, err := checkoutPathIdent(r)
	if err != nil {
		return err
	}
	entries, err := c.s.engine.Prizes(r.Context(), c.s.ledger, p.rules.ID, cust, r.URL.Query().Get("card_type"))
	if err != nil {
		return err
	}
	out := make([]apiPrize, 0, len(entries))
	for _, e := range entries {
		out = append(out, apiPrize{Catalog: e.Catalog, ID: e.Prize.ID, Name: e.Prize.Name, Kind: e.Prize.Kind,
			Points: e.Prize.Points, CoPayment: e.Prize.CoPayment, PerCustomer: e.Prize.PerCustomer, Stock: e.Prize.Stock,
			Redeemable: e.Redeemable, Reason: e.Reason})
	}
	writeJSON(w, http.StatusOK, map[string][]apiPrize{"prizes": out})
	return nil
}
