package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// ExportOptions say what to export and how to write it.
type ExportOptions struct {
	// Program whose balances are written; its unit says whether figures
	// are points or money (written as euros with the dialect's decimal
	// separator). ID is required.
	Program rules.Program
	// Dialect is how the file is written (delimiter, decimal separator,
	// encoding, BOM, date format): the configuration's export section.
	Dialect csvio.Dialect
	// CardsOnly writes only customers with a card, one row per card named
	// by it, as the tills look balances up.
	CardsOnly bool
}

// Export writes every balance of o.Program to w as the balance export:
// the columns of csvio.BalanceHeader, one row per customer in account
// order, balances as of the ledger's clock. It returns the rows written;
// on an error w may hold part of the file, so a caller writing a file
// writes it under a temporary name.
func Export(ctx context.Context, l *ledger.Ledger, w io.Writer, o ExportOptions) (int, error) {
	switch {
	case l == nil:
		return 0, errors.New("bulk: export: no ledger given")
	case w == nil:
		return 0, errors.New("bulk: export: no writer given")
	case o.Program.ID == "":
		return 0, errors.New("bulk: export: no program given: set ExportOptions.Program")
	}
	bw, err := csvio.NewBalanceWriter(w, o.Dialect, o.Program.Unit == rules.UnitAmount)
	if err != nil {
		return 0, err
	}
	n := 0
	err = l.EachBalance(ctx, o.Program.ID, l.Now(), func(cb ledger.CustomerBalance) error {
		row := csvio.BalanceRow{Customer: string(cb.Customer), Earned: cb.Earned, Provisional: cb.Provisional, Spent: cb.Spent, Expired: cb.Expired}
		for _, id := range cb.Identifiers {
			row.Identifiers = append(row.Identifiers, string(id))
		}
		for _, x := range cb.Expiring {
			dt, err := rules.ParseDate(x.Date)
			if err != nil {
				return fmt.Errorf("customer %s: expiry date %q: %w", cb.Customer.Masked(), x.Date, err)
			}
			row.Expiring = append(row.Expiring, csvio.Expiring{Date: csvio.Date{Year: dt.Year, Month: dt.Month, Day: dt.Day}, Points: x.Points})
		}
		if !o.CardsOnly {
			n++
			return bw.Write(row)
		}
		for _, id := range cb.Identifiers {
			if id.Kind() != ledger.IdentCard {
				continue
			}
			row.Customer = string(id)
			n++
			if err := bw.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
