package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// uiMovementsPerPage is how many movements the customer page lists at once.
const uiMovementsPerPage = 100

// uiCustomerPage is the customer page's data.
type uiCustomerPage struct {
	Customer    ledger.Ident
	Identifiers []ledger.Ident
	Balance     ledger.Balance
	Badges      []rules.Badge
	NextBadge   *rules.Badge
	Movements   []uiMovementRow
	// Older is the before= of the next (older) page, 0 when none; Paged
	// tells that this is not the newest page.
	Older int64
	Paged bool
	Form  uiAdjustForm
	// Preview is the outcome of the add form's preview button.
	Preview *uiAdjustPreview
}

// uiMovementRow is a movement as the customer page lists it.
type uiMovementRow struct {
	ledger.Movement
	// Adjustment marks an admin adjustment still in force: it gets change
	// and remove forms. Value is its value now, corrections included.
	Adjustment bool
	Value      int64
	ChangeKey  string
	RemoveKey  string
}

// Provisional tells a provisional movement: a pending credit or spend.
func (m uiMovementRow) Provisional() bool { return m.State == ledger.StatePending }

// uiAdjustForm is the add-adjustment form as typed.
type uiAdjustForm struct {
	Points, Expiry, Note, Key string
}

// uiAdjustPreview is a previewed adjustment: the balance before and after.
type uiAdjustPreview struct {
	Before, After ledger.Balance
	Form          uiAdjustForm
}

// customer shows one customer of the program.
func (u *ui) customer(w http.ResponseWriter, r *http.Request, v *uiView) error {
	id, err := u.customerParam(r.FormValue("customer"))
	if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(r.FormValue("before"), 10, 64)
	return u.showCustomer(w, r, v, http.StatusOK, id, before, uiAdjustForm{}, nil)
}

// uiCustomerParam reads the customer identifier of a form or query.
func uiCustomerParam(s string) (ledger.Ident, error) {
	if strings.TrimSpace(s) == "" {
		return "", uiFormErr("err.no_customer")
	}
	id, err := ledger.ParseIdent(s)
	if err != nil {
		return "", uiFormErr("err.bad_customer", ledger.Ident(strings.TrimSpace(s)).Masked())
	}
	return id, nil
}

func (u *ui) showCustomer(w http.ResponseWriter, r *http.Request, v *uiView, status int, id ledger.Ident, before int64, form uiAdjustForm, preview *uiAdjustPreview) error {
	ctx := r.Context()
	l := u.s.ledger
	ids, err := l.Identifiers(ctx, id)
	if err != nil {
		return err
	}
	acct := ledger.Account{Program: v.Program.ID, Customer: id}
	bal, err := l.Balance(ctx, acct, u.s.clock())
	if err != nil {
		return err
	}
	// The whole history is read to fold each adjustment's corrections
	// into its value, whatever page they fall on.
	all, err := l.Movements(ctx, acct, ledger.MovementQuery{Limit: 10000})
	if err != nil {
		return err
	}
	if form.Key == "" {
		if form.Key, err = u.random(16); err != nil {
			return err
		}
	}
	pg := &uiCustomerPage{Customer: id, Identifiers: ids, Balance: bal, Form: form, Preview: preview, Paged: before > 0}
	pg.Badges, pg.NextBadge = rules.BadgesFor(v.Program.Badges, bal.Earned)
	rows, err := u.movementRows(all, before)
	if err != nil {
		return err
	}
	if len(rows) > uiMovementsPerPage {
		rows = rows[:uiMovementsPerPage]
		pg.Older = rows[len(rows)-1].ID
	}
	pg.Movements = rows
	if err := v.setCustomer(id); err != nil {
		return err
	}
	return u.render(w, v, status, "customer", pg)
}

// movementRows lists the movements older than before (all when 0), one
// more than a page, with the adjustments' current values.
func (u *ui) movementRows(all []ledger.Movement, before int64) ([]uiMovementRow, error) {
	// An adjustment's value is its own points and its corrections'; a
	// removed one is worth 0 and gets no forms.
	value := map[int64]int64{}
	for _, m := range all {
		if uiIsAdjustment(m) {
			value[m.ID] += m.Signed()
		}
	}
	for _, m := range all {
		if _, ok := value[m.Ref]; ok && m.Ref != 0 &&
			(m.Reason == ledger.ReasonAdjustmentChange || m.Reason == ledger.ReasonAdjustmentRemoval) {
			value[m.Ref] += m.Signed()
		}
	}
	var rows []uiMovementRow
	for _, m := range all {
		if before > 0 && m.ID >= before {
			continue
		}
		row := uiMovementRow{Movement: m}
		if v := value[m.ID]; v != 0 {
			row.Adjustment, row.Value = true, v
			var err error
			if row.ChangeKey, err = u.random(16); err != nil {
				return nil, err
			}
			if row.RemoveKey, err = u.random(16); err != nil {
				return nil, err
			}
		}
		rows = append(rows, row)
		if len(rows) > uiMovementsPerPage {
			break
		}
	}
	return rows, nil
}

// uiIsAdjustment tells an admin adjustment, as the ledger lets change it.
func uiIsAdjustment(m ledger.Movement) bool {
	switch m.Source {
	case ledger.SourceAdmin, ledger.SourceImport, ledger.SourceAPI:
	default:
		return false
	}
	return m.Reason == ledger.ReasonAdjustment && (m.Kind == ledger.KindCredit || m.Kind == ledger.KindWithdraw)
}

// uiFormKey is the idempotency key a form carries: drawn when the form was
// shown, so submitting it twice applies it once.
func uiFormKey(r *http.Request) (string, error) {
	k := r.PostForm.Get("key")
	if len(k) != 22 {
		return "", uiFormErr("err.bad_key")
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", uiFormErr("err.bad_key")
		}
	}
	return "ui-" + k, nil
}

// meta is the audit record of a write made from the UI.
func (v *uiView) meta(key, note string) ledger.Meta {
	return ledger.Meta{Source: ledger.SourceAdmin, Key: key, Actor: "ui:" + v.User, Note: note}
}

// parseFigure reads a figure typed in a form: whole points, or money for
// an amount program (in the page's decimal form, or the other one when
// that is the only reading).
func (v *uiView) parseFigure(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if v.Program != nil && v.Program.Amount() {
		first, second, otherThousands := csvio.DecimalComma, csvio.DecimalPoint, ","
		if v.loc.decimal == "." {
			first, second, otherThousands = second, first, "."
		}
		if n, err := csvio.ParseCents(s, first); err == nil {
			return n, nil
		}
		// "12.50" on an Italian page is 12,50; but "1.234" on an English
		// page is not read as Italian thousands.
		if !strings.Contains(s, otherThousands) {
			if n, err := csvio.ParseCents(s, second); err == nil {
				return n, nil
			}
		}
		return 0, uiFormErr("err.bad_amount", s)
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	if err != nil || n > 1_000_000_000_000 || n < -1_000_000_000_000 {
		return 0, uiFormErr("err.bad_points", s)
	}
	return n, nil
}

// parseExpiry reads an expiry date field: the points expire at the end of
// that day in the program's zone; empty is none.
func (v *uiView) parseExpiry(s string) (*time.Time, error) {
	d, err := rules.ParseDate(strings.TrimSpace(s))
	if err != nil || d.Year > maxDateYear {
		return nil, uiFormErr("err.bad_date", s)
	}
	if d.IsZero() {
		return nil, nil
	}
	t := d.EndOfDay(v.zone())
	return &t, nil
}

// adjust previews or saves a new adjustment.
func (u *ui) adjust(w http.ResponseWriter, r *http.Request, v *uiView) error {
	id, err := u.customerParam(r.PostForm.Get("customer"))
	if err != nil {
		return err
	}
	form := uiAdjustForm{Points: r.PostForm.Get("points"), Expiry: r.PostForm.Get("expiry"), Note: strings.TrimSpace(r.PostForm.Get("note")), Key: r.PostForm.Get("key")}
	fail := func(err error) error {
		v.Error = v.explain(err)
		if v.Error.Status >= 500 {
			return err
		}
		return u.showCustomer(w, r, v, v.Error.Status, id, 0, form, nil)
	}
	key, err := uiFormKey(r)
	if err != nil {
		return err
	}
	pts, err := v.parseFigure(form.Points)
	if err != nil {
		return fail(err)
	}
	if pts == 0 {
		return fail(uiFormErr("err.zero_points"))
	}
	exp, err := v.parseExpiry(form.Expiry)
	if err != nil {
		return fail(err)
	}
	acct := ledger.Account{Program: v.Program.ID, Customer: id}
	req := ledger.AdjustRequest{Account: acct, Meta: v.meta(key, form.Note), Points: pts, Expires: exp}
	if r.PostForm.Get("action") != "save" {
		before, after, err := u.s.ledger.Preview(r.Context(), acct, func(tx *ledger.Tx) error {
			_, err := tx.Adjust(req)
			return err
		})
		if err != nil {
			return fail(err)
		}
		return u.showCustomer(w, r, v, http.StatusOK, id, 0, form, &uiAdjustPreview{Before: before, After: after, Form: form})
	}
	var res ledger.Result
	err = u.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.Adjust(req)
		return err
	})
	if err != nil {
		return fail(err)
	}
	u.logWrite(r, v, "admin adjustment", acct, res, zap.Int64("points", pts))
	return u.done(w, r, v, id, "adjusted", res)
}

// done redirects to the customer page announcing what happened.
func (u *ui) done(w http.ResponseWriter, r *http.Request, v *uiView, id ledger.Ident, what string, res ledger.Result) error {
	q := uiDone(v, what, res, 0)
	ref, err := u.refs.ref(id)
	if err != nil {
		return err
	}
	q.Set("customer", ref)
	uiRedirect(w, r, "/ui/customer", q)
	return nil
}

func (u *ui) logWrite(r *http.Request, v *uiView, what string, acct ledger.Account, res ledger.Result, fields ...zap.Field) {
	fields = append(fields, zap.String("program", acct.Program), zap.String("actor", "ui:"+v.User),
		zap.Int64("movement", res.Main()), zap.Bool("replayed", res.Replayed))
	if acct.Customer != "" {
		fields = append(fields, zap.String("customer", acct.Customer.Masked()))
	}
	u.s.log.Info(what, fields...)
}

// adjustmentForm reads the customer and movement of a change or remove
// form.
func (u *ui) adjustmentForm(r *http.Request) (ledger.Ident, int64, string, error) {
	id, err := u.customerParam(r.PostForm.Get("customer"))
	if err != nil {
		return "", 0, "", err
	}
	mv, err := strconv.ParseInt(r.PostForm.Get("movement"), 10, 64)
	if err != nil || mv <= 0 {
		return "", 0, "", uiFormErr("err.bad_movement")
	}
	key, err := uiFormKey(r)
	return id, mv, key, err
}

// changeAdjustment sets an adjustment to new points.
func (u *ui) changeAdjustment(w http.ResponseWriter, r *http.Request, v *uiView) error {
	id, mv, key, err := u.adjustmentForm(r)
	if err != nil {
		return err
	}
	pts, err := v.parseFigure(r.PostForm.Get("points"))
	if err == nil && pts == 0 {
		err = uiFormErr("err.change_to_zero")
	}
	acct := ledger.Account{Program: v.Program.ID, Customer: id}
	var res ledger.Result
	if err == nil {
		err = u.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
			var err error
			res, err = tx.ChangeAdjustment(ledger.ChangeRequest{Meta: v.meta(key, ""), Movement: mv, Points: pts, Account: acct})
			return err
		})
	}
	if err != nil {
		return u.customerError(w, r, v, id, err)
	}
	u.logWrite(r, v, "admin adjustment changed", acct, res, zap.Int64("adjustment", mv), zap.Int64("points", pts))
	return u.done(w, r, v, id, "changed", res)
}

// removeAdjustment takes an adjustment back.
func (u *ui) removeAdjustment(w http.ResponseWriter, r *http.Request, v *uiView) error {
	id, mv, key, err := u.adjustmentForm(r)
	if err != nil {
		return err
	}
	acct := ledger.Account{Program: v.Program.ID, Customer: id}
	var res ledger.Result
	err = u.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.RemoveAdjustment(ledger.RemoveRequest{Meta: v.meta(key, ""), Movement: mv, Account: acct})
		return err
	})
	if err != nil {
		return u.customerError(w, r, v, id, err)
	}
	u.logWrite(r, v, "admin adjustment removed", acct, res, zap.Int64("adjustment", mv))
	return u.done(w, r, v, id, "removed", res)
}

// customerError shows the customer page with the error of a write.
func (u *ui) customerError(w http.ResponseWriter, r *http.Request, v *uiView, id ledger.Ident, err error) error {
	v.Error = v.explain(err)
	if v.Error.Status >= 500 {
		return err
	}
	return u.showCustomer(w, r, v, v.Error.Status, id, 0, uiAdjustForm{}, nil)
}

// uiCustomerResetPage is the confirmation page of a customer's reset.
type uiCustomerResetPage struct {
	Customer ledger.Ident
	Balance  ledger.Balance
	Key      string
}

// customerResetForm asks to confirm a customer's reset, repeating what it
// will do.
func (u *ui) customerResetForm(w http.ResponseWriter, r *http.Request, v *uiView) error {
	id, err := u.customerParam(r.FormValue("customer"))
	if err != nil {
		return err
	}
	bal, err := u.balance(r.Context(), v, id)
	if err != nil {
		return err
	}
	key, err := u.random(16)
	if err != nil {
		return err
	}
	if err := v.setCustomer(id); err != nil {
		return err
	}
	return u.render(w, v, http.StatusOK, "customer_reset", uiCustomerResetPage{Customer: id, Balance: bal, Key: key})
}

// balance is a customer's balance now; a customer no one knows is an
// error.
func (u *ui) balance(ctx context.Context, v *uiView, id ledger.Ident) (ledger.Balance, error) {
	if _, err := u.s.ledger.Identifiers(ctx, id); err != nil {
		return ledger.Balance{}, err
	}
	return u.s.ledger.Balance(ctx, ledger.Account{Program: v.Program.ID, Customer: id}, u.s.clock())
}

// customerReset zeroes a customer's account once confirmed.
func (u *ui) customerReset(w http.ResponseWriter, r *http.Request, v *uiView) error {
	id, err := u.customerParam(r.PostForm.Get("customer"))
	if err != nil {
		return err
	}
	key, err := uiFormKey(r)
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "yes" {
		return uiFormErr("err.not_confirmed")
	}
	var res ledger.Result
	err = u.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.Reset(ledger.ResetRequest{Program: v.Program.ID, Customer: id, Meta: v.meta(key, strings.TrimSpace(r.PostForm.Get("note")))})
		return err
	})
	if errors.Is(err, ledger.ErrUnknownCustomer) {
		return err
	}
	if err != nil {
		return u.customerError(w, r, v, id, err)
	}
	u.logWrite(r, v, "customer reset", ledger.Account{Program: v.Program.ID, Customer: id}, res, zap.Int("movements", res.Written))
	return u.done(w, r, v, id, "reset", res)
}
