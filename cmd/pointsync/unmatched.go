package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/pointsync/pointsync/internal/mask"
)

// runUnmatched lists what reconciliation parked: orders whose customer or
// web order is not known yet, and take-backs or redemptions waiting for a
// review. Nothing parked is dropped; it is applied when what it waits for
// arrives.
func runUnmatched(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("unmatched", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	parked, err := e.ledger.Parked(ctx, p.ID)
	if err != nil {
		return err
	}
	// A subject and what it waits for may be a card: the listing shows
	// its last four digits, as the API and the admin UI do.
	for i := range parked {
		parked[i].Subject, parked[i].Parked, parked[i].Waiting = mask.Text(parked[i].Subject), mask.Text(parked[i].Parked), mask.Text(parked[i].Waiting)
	}
	if *asJSON {
		type row struct {
			Subject string `json:"subject"`
			Reason  string `json:"reason"`
			Waiting string `json:"waiting,omitempty"`
			Since   string `json:"since"`
		}
		out := []row{}
		for _, s := range parked {
			out = append(out, row{s.Subject, s.Parked, s.Waiting, s.Updated.UTC().Format("2006-01-02T15:04:05Z")})
		}
		return writeJSON(a.stdout, out)
	}
	if len(parked) == 0 {
		fmt.Fprintf(a.stdout, "nothing parked in program %s\n", p.ID)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tSINCE\tWAITING FOR\tREASON")
	for _, s := range parked {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Subject, s.Updated.In(p.Location).Format("2006-01-02 15:04"), s.Waiting, s.Parked)
	}
	return tw.Flush()
}
