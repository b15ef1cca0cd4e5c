package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// tillHeader is the header of the generated till receipt files, in the
// form the stores' tills write them: semicolons, decimal comma, day-first
// dates (see tillConnector for the connector that reads them).
const tillHeader = "store;till;receipt;line;at;card;gross;discount;spent\n"

// tillBadEvery is how rare a bad receipt is in the bench's till files.
const tillBadEvery = 1000

// tillStats says what a generated till file holds.
type tillStats struct {
	Rows        int // data rows, the header excluded
	Receipts    int
	BadReceipts int // receipts the connector rejects whole (one reject each)
	BadRows     int // rows of bad receipts
	Cards       int // size of the card pool the receipts draw from
	Bytes       int64
}

// writeTillFile writes a till receipt drop file of exactly rows data rows,
// the same for the same seed: 40 stores with 6 tills each, receipts of one
// to four lines (mostly one) a few seconds apart, cards drawn from a pool
// of a fifth of the rows (so a card comes back about five times), line
// amounts from 0,50 to 150,00 with a discount on one line in ten, three
// receipts in a hundred paying up to 5,00 of the bill (never more than
// the bill) with the card's balance, some beyond it (an overdraft the
// ledger records and flags), and one receipt in badEvery bad (an amount
// that is not a number or a date that does not exist on one row, or no
// card on any row), which the connector rejects whole. The bench makes
// one in tillBadEvery bad.
func writeTillFile(w io.Writer, rows, badEvery int, seed uint64) (tillStats, error) {
	const stores, tills = 40, 6
	st := tillStats{Cards: max(rows/5, 50)}
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := &countWriter{w: bw}
	rng := rand.New(rand.NewPCG(seed, 0x7111))
	if _, err := io.WriteString(cw, tillHeader); err != nil {
		return st, err
	}
	receiptNo := make([]int, stores*tills)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var line []byte
	var gross, discount [4]int64
	for st.Rows < rows {
		n := 1
		switch r := rng.IntN(100); {
		case r >= 95:
			n = 4
		case r >= 85:
			n = 3
		case r >= 60:
			n = 2
		}
		n = min(n, rows-st.Rows)
		store, till := rng.IntN(stores), rng.IntN(tills)
		receiptNo[store*tills+till]++
		at = at.Add(time.Duration(1+rng.IntN(20)) * time.Second)
		card := rng.IntN(st.Cards)
		badLine, badKind := 0, 0
		if rng.IntN(badEvery) == 0 {
			badLine, badKind = 1+rng.IntN(n), rng.IntN(3)
			st.BadReceipts++
			st.BadRows += n
		}
		var spent int64
		if rng.IntN(100) < 3 {
			spent = 50 + rng.Int64N(451)
		}
		st.Receipts++
		var net int64
		for l := range n {
			gross[l] = 50 + rng.Int64N(14951)
			discount[l] = 0
			if rng.IntN(10) == 0 {
				discount[l] = gross[l] / 10
			}
			net += gross[l] - discount[l]
		}
		spent = min(spent, net) // the card pays at most the bill
		for l := 1; l <= n; l++ {
			grossText, atText, cardText := cents(gross[l-1]), at.Format("02/01/2006 15:04"), fmt.Sprintf("0420%08d", card)
			if l == badLine {
				switch badKind {
				case 0:
					grossText = "n/d"
				case 1:
					atText = "31/02/2026 10:00"
				}
			}
			if badKind == 2 && badLine > 0 {
				cardText = "" // the till read no card: no row of the receipt names one
			}
			spentText := "0"
			if l == 1 && spent > 0 {
				spentText = cents(spent)
			}
			line = fmt.Appendf(line[:0], "S%03d;%d;%d;%d;%s;%s;%s;%s;%s\n",
				store+1, till+1, receiptNo[store*tills+till], l, atText, cardText, grossText, cents(discount[l-1]), spentText)
			if _, err := cw.Write(line); err != nil {
				return st, err
			}
			st.Rows++
		}
	}
	if err := bw.Flush(); err != nil {
		return st, err
	}
	st.Bytes = cw.n
	return st, nil
}

// cents writes an amount of cents with a decimal comma: 1234 is 12,34.
func cents(c int64) string {
	return fmt.Sprintf("%d,%02d", c/100, c%100)
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
