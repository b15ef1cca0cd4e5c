package server

import (
	"net/http"
	"strings"

	"github.com/pointsync/pointsync/internal/mask"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// uiCatalogRow is a prize catalog with where it stands today.
type uiCatalogRow struct {
	rules.Catalog
	// State is open (accrual and redemption), upcoming, redeem_only (accrual
	// over, redemption open) or closed.
	State string
}

// uiPrizesPage is the prizes page's data.
type uiPrizesPage struct {
	Catalogs []uiCatalogRow
	// Customer, when given, gets the prizes offered to them now.
	Customer ledger.Ident
	Earned   int64
	Entries  []rules.RedeemableEntry
	// CardTypes are the card types some catalog is restricted to, for the
	// customer's card type selector; CardType is the one chosen.
	CardTypes []string
	CardType  string
}

// prizes lists the program's catalogs and prizes and, for a customer, the
// ones they can redeem now.
func (u *ui) prizes(w http.ResponseWriter, r *http.Request, v *uiView) error {
	now := u.s.clock()
	today := rules.DateOf(now.In(v.zone()))
	pg := uiPrizesPage{CardType: strings.TrimSpace(r.FormValue("card_type"))}
	seen := map[string]bool{}
	for _, c := range v.Program.Catalogs {
		pg.Catalogs = append(pg.Catalogs, uiCatalogRow{Catalog: c, State: uiCatalogState(c, today)})
		for _, ct := range c.CardTypes {
			if k := strings.ToUpper(ct); !seen[k] {
				seen[k] = true
				pg.CardTypes = append(pg.CardTypes, ct)
			}
		}
	}
	if s := r.FormValue("customer"); s != "" {
		id, err := u.customerParam(s)
		if err != nil {
			return err
		}
		bal, err := u.balance(r.Context(), v, id)
		if err != nil {
			return err
		}
		entries, err := u.s.engine.Prizes(r.Context(), u.s.ledger, v.Program.ID, id, pg.CardType)
		if err != nil {
			return err
		}
		pg.Customer, pg.Earned, pg.Entries = id, bal.Earned, entries
		if err := v.setCustomer(id); err != nil {
			return err
		}
	}
	return u.render(w, v, http.StatusOK, "prizes", pg)
}

// uiCatalogState says where a catalog stands on day.
func uiCatalogState(c rules.Catalog, day rules.Date) string {
	d := day.String()
	switch {
	case d < c.ValidFrom.String():
		return "upcoming"
	case d <= c.ValidTo.String():
		return "open"
	case d <= c.Deadline().String():
		return "redeem_only"
	}
	return "closed"
}

// uiParkedPage is the parked facts page's data.
type uiParkedPage struct {
	Subjects []ledger.Subject
	// Counts is the number of parked subjects by program.
	Counts []uiProgramCount
}

// uiProgramCount is a figure of one program.
type uiProgramCount struct {
	Program *uiProgram
	N       int64
}

// parked lists what waits for a customer link or an order.
func (u *ui) parked(w http.ResponseWriter, r *http.Request, v *uiView) error {
	subs, err := u.s.ledger.Parked(r.Context(), v.Program.ID)
	if err != nil {
		return err
	}
	for i := range subs {
		subs[i].Subject = uiMaskSubject(subs[i].Subject)
		subs[i].Waiting = uiMaskSubject(subs[i].Waiting)
	}
	counts, err := u.s.ledger.ParkedCount(r.Context())
	if err != nil {
		return err
	}
	pg := uiParkedPage{Subjects: subs}
	for _, p := range u.programs {
		pg.Counts = append(pg.Counts, uiProgramCount{Program: p, N: counts[p.ID]})
	}
	return u.render(w, v, http.StatusOK, "parked", pg)
}

// uiMaskSubject masks the card number in a subject or what it waits for:
// "card:0420001234", "actions:card:0420001234".
func uiMaskSubject(s string) string {
	prefix := ""
	if rest, ok := strings.CutPrefix(s, "actions:"); ok {
		prefix, s = "actions:", rest
	}
	return prefix + mask.Ident(s)
}

// connectors shows the scheduled jobs' status.
func (u *ui) connectors(w http.ResponseWriter, r *http.Request, v *uiView) error {
	jobs, err := u.s.ledger.Jobs(r.Context())
	if err != nil {
		return err
	}
	return u.render(w, v, http.StatusOK, "connectors", jobs)
}
