package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// uiProgramPage is the program page's data: the bulk operations' forms.
type uiProgramPage struct {
	ExpiryKey, ResetKey string
	// Typed is what was typed to confirm a program reset that did not match.
	Typed string
	// Expiry is the expiry form as typed.
	Expiry uiExpiryForm
}

// uiExpiryForm is the bulk expiry form.
type uiExpiryForm struct {
	Date            string
	IncludeNoExpiry bool
	Note            string
	Key             string
}

// program shows the program page.
func (u *ui) program(w http.ResponseWriter, r *http.Request, v *uiView) error {
	return u.showProgram(w, v, http.StatusOK, uiProgramPage{})
}

func (u *ui) showProgram(w http.ResponseWriter, v *uiView, status int, pg uiProgramPage) error {
	for _, k := range []*string{&pg.ExpiryKey, &pg.ResetKey} {
		if *k == "" {
			var err error
			if *k, err = u.random(16); err != nil {
				return err
			}
		}
	}
	return u.render(w, v, status, "program", pg)
}

// uiProgramExpiryPage is the confirmation page of a bulk expiry change.
type uiProgramExpiryPage struct {
	Form uiExpiryForm
	// Day is the date chosen, "" for no expiry.
	Day string
}

// programExpiry reviews (step=review) or applies (step=apply) a new
// expiry date for every customer's usable points.
func (u *ui) programExpiry(w http.ResponseWriter, r *http.Request, v *uiView) error {
	key, err := uiFormKey(r)
	if err != nil {
		return err
	}
	form := uiExpiryForm{
		Date: strings.TrimSpace(r.PostForm.Get("date")), IncludeNoExpiry: r.PostForm.Get("include_no_expiry") == "yes",
		Note: strings.TrimSpace(r.PostForm.Get("note")), Key: r.PostForm.Get("key"),
	}
	exp, err := v.parseExpiry(form.Date)
	if err != nil {
		v.Error = v.explain(err)
		return u.showProgram(w, v, v.Error.Status, uiProgramPage{Expiry: form})
	}
	if r.PostForm.Get("step") != "apply" {
		return u.render(w, v, http.StatusOK, "program_expiry", uiProgramExpiryPage{Form: form, Day: form.Date})
	}
	var res ledger.Result
	err = u.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.SetExpiry(ledger.ExpiryRequest{Program: v.Program.ID, Expires: exp, IncludeNoExpiry: form.IncludeNoExpiry, Meta: v.meta(key, form.Note)})
		return err
	})
	if err != nil {
		v.Error = v.explain(err)
		if v.Error.Status >= 500 {
			return err
		}
		return u.showProgram(w, v, v.Error.Status, uiProgramPage{Expiry: form})
	}
	u.logWrite(r, v, "bulk expiry change", ledger.Account{Program: v.Program.ID}, res, zap.String("date", form.Date),
		zap.Bool("include_no_expiry", form.IncludeNoExpiry), zap.Int("lots", res.Lots))
	uiRedirect(w, r, "/ui/program", uiDone(v, "expiry", res, res.Lots))
	return nil
}

// programReset zeroes every account of the program once its id is typed
// to confirm.
func (u *ui) programReset(w http.ResponseWriter, r *http.Request, v *uiView) error {
	key, err := uiFormKey(r)
	if err != nil {
		return err
	}
	typed := strings.TrimSpace(r.PostForm.Get("confirm_id"))
	if typed != v.Program.ID {
		v.Error = &uiPageError{Status: http.StatusBadRequest, Key: "err.reset_confirm", Args: []any{v.Program.ID}}
		return u.showProgram(w, v, http.StatusBadRequest, uiProgramPage{Typed: typed})
	}
	var res ledger.Result
	err = u.s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.Reset(ledger.ResetRequest{Program: v.Program.ID, Meta: v.meta(key, strings.TrimSpace(r.PostForm.Get("note")))})
		return err
	})
	if err != nil {
		v.Error = v.explain(err)
		if v.Error.Status >= 500 {
			return err
		}
		return u.showProgram(w, v, v.Error.Status, uiProgramPage{})
	}
	u.logWrite(r, v, "program reset", ledger.Account{Program: v.Program.ID}, res, zap.Int("accounts", res.Accounts))
	uiRedirect(w, r, "/ui/program", uiDone(v, "program_reset", res, res.Accounts))
	return nil
}

// uiDone is the query of the page a write redirects to: the program and
// what was done (replayed when the form had been sent before).
func uiDone(v *uiView, what string, res ledger.Result, n int) url.Values {
	q := url.Values{"program": {v.Program.ID}, "done": {what}}
	if res.Replayed {
		q.Set("done", "replayed")
	} else if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	return q
}
