package ledger

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// The scenario of the report and customer list tests: five customers of
// program shop over 2026-01-10 to 2026-01-14 (Rome), every kind of
// movement, one lot past its expiry and not swept. Each write runs with
// the clock at its business time. The figures expected below are worked
// out by hand from this list, not by the code under test.
//
//	customer A card:0042001 (then web:7), B web:15, C email:ann@example.com,
//	D erp:C0001, E card:0042999
//	 1 01-10 09:00 A credit 100 posted, expires 01-13 00:00  pos    accrual
//	 2 01-10 12:00 B credit 50 pending                        web    accrual
//	 3 01-11 08:00 A credit 200 posted, no expiry             erp    accrual
//	 4 01-11 09:00 B post of 2 for 40                         erp    ""
//	 5 01-11 10:00 A spend 30 pending (takes 30 from lot 1)  web    redemption
//	 6 01-12 10:00 A post of 5 for 20 (10 back to lot 1)     web    ""
//	 7 01-12 11:00 B spend 15 posted                          pos    redemption
//	 8 01-12 12:00 C credit 80, expires 02-01 00:00           import bonus
//	 9 01-12 13:00 C withdraw 30                              erp    credit_note
//	10 01-12 14:00 B credit 25 pending                        web    accrual
//	11 01-12 15:00 void of 10                                 web    ""
//	   01-13 00:00 lot 1 expires with 80 (not swept)          schedule expiry
//	12 01-13 10:00 D spend 40 posted, overdraft 40            pos    redemption
//	13 01-13 18:00 D credit 25 posted (pays 25 of the debt)   pos    accrual
//	14 01-13 19:00 C note                                     admin  ""
//	15 01-14 10:00 B refund of 7: 5                           pos    return
//	16 01-14 11:00 D reset (0 points, 15 debt forgiven)       admin  reset
//	17 01-14 12:00 E credit 60 pending                        web    accrual
//
// Now is 2026-01-15 10:00: A earned 200 spent 20 expired 80; B earned 30
// spent 10; C earned 50 expiring 01-31; D earned 0 spent 40; E
// provisional 60. Outstanding 280, provisional 60, 5 customers.
var (
	custA = Ident("card:0042001")
	custB = Ident("web:15")
	custC = Ident("email:ann@example.com")
	custD = Ident("erp:C0001")
	custE = Ident("card:0042999")
)

func romeAt(day, hour int) time.Time { return time.Date(2026, 1, day, hour, 0, 0, 0, rome) }

func buildScenario(t *testing.T, l *Ledger, clock *testClock) {
	t.Helper()
	ctx := context.Background()
	n := 0
	write := func(at time.Time, f func(tx *Tx, m Meta) (Result, error), source, reason string) int64 {
		t.Helper()
		clock.Set(at)
		n++
		var r Result
		err := l.Update(ctx, func(tx *Tx) error {
			var err error
			r, err = f(tx, Meta{Source: source, Key: "scenario-" + strconv.Itoa(n), Reason: reason})
			return err
		})
		if err != nil {
			t.Fatalf("scenario movement %d: %v", n, err)
		}
		return r.Main()
	}
	ensure := func(at time.Time, ids ...Ident) {
		t.Helper()
		clock.Set(at)
		if err := l.Update(ctx, func(tx *Tx) error {
			for _, id := range ids {
				if _, _, err := tx.EnsureCustomer(id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	credit := func(c Ident, amount int64, pending bool, exp *time.Time) func(tx *Tx, m Meta) (Result, error) {
		return func(tx *Tx, m Meta) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: m, Amount: amount, Pending: pending, Expires: exp})
		}
	}
	spend := func(c Ident, amount int64, pending, withdraw, overdraft bool) func(tx *Tx, m Meta) (Result, error) {
		return func(tx *Tx, m Meta) (Result, error) {
			return tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: m, Amount: amount, Pending: pending, Withdraw: withdraw, Overdraft: overdraft})
		}
	}
	ensure(romeAt(9, 8), custA, custB, custC, custD, custE)
	clock.Set(romeAt(9, 9)) // A's second identifier comes later: it is not its first

	if err := l.Update(ctx, func(tx *Tx) error { return tx.Link(custA, "web:7") }); err != nil {
		t.Fatal(err)
	}
	write(romeAt(10, 9), credit(custA, 100, false, tp(romeAt(13, 0))), SourcePOS, "accrual")
	m2 := write(romeAt(10, 12), credit(custB, 50, true, nil), SourceWeb, "accrual")
	write(romeAt(11, 8), credit(custA, 200, false, nil), SourceERP, "accrual")
	write(romeAt(11, 9), func(tx *Tx, m Meta) (Result, error) {
		return tx.Post(FinishRequest{Meta: m, Movement: m2, Amount: 40})
	}, SourceERP, "")
	m5 := write(romeAt(11, 10), spend(custA, 30, true, false, false), SourceWeb, "redemption")
	write(romeAt(12, 10), func(tx *Tx, m Meta) (Result, error) {
		return tx.Post(FinishRequest{Meta: m, Movement: m5, Amount: 20})
	}, SourceWeb, "")
	m7 := write(romeAt(12, 11), spend(custB, 15, false, false, false), SourcePOS, "redemption")
	write(romeAt(12, 12), credit(custC, 80, false, tp(time.Date(2026, 2, 1, 0, 0, 0, 0, rome))), SourceImport, "bonus")
	write(romeAt(12, 13), spend(custC, 30, false, true, false), SourceERP, "credit_note")
	m10 := write(romeAt(12, 14), credit(custB, 25, true, nil), SourceWeb, "accrual")
	write(romeAt(12, 15), func(tx *Tx, m Meta) (Result, error) {
		return tx.Void(FinishRequest{Meta: m, Movement: m10})
	}, SourceWeb, "")
	write(romeAt(13, 10), spend(custD, 40, false, false, true), SourcePOS, "redemption")
	write(romeAt(13, 18), credit(custD, 25, false, nil), SourcePOS, "accrual")
	write(romeAt(13, 19), func(tx *Tx, m Meta) (Result, error) {
		m.Note = "receipt outside every catalog window"
		return tx.Note(NoteRequest{Account: Account{"shop", custC}, Meta: m})
	}, SourceAdmin, "")
	write(romeAt(14, 10), func(tx *Tx, m Meta) (Result, error) {
		return tx.Refund(RefundRequest{Meta: m, Movement: m7, Amount: 5})
	}, SourcePOS, "return")
	write(romeAt(14, 11), func(tx *Tx, m Meta) (Result, error) {
		return tx.Reset(ResetRequest{Program: "shop", Customer: custD, Meta: m})
	}, SourceAdmin, "")
	write(romeAt(14, 12), credit(custE, 60, true, nil), SourceWeb, "accrual")
	clock.Set(romeAt(15, 10))
}

func rrow(key string, movements, issued, spent, withdrawn, expired, average int64) ReportRow {
	return ReportRow{Key: key, Movements: movements, Issued: issued, Spent: spent, Withdrawn: withdrawn, Expired: expired, Average: average}
}

func TestReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		buildScenario(t, l, clock)
		ctx := context.Background()
		// Issued 445 (100+200+40+80+25), spent 75 (20+15+40), withdrawn 30
		// (30 + a reset of 0), expired 80, 14 movements: average 630/14 = 45.
		total := rrow("", 14, 445, 75, 30, 80, 45)
		tests := []struct {
			name     string
			q        ReportQuery
			rows     []ReportRow
			total    ReportRow
			wantRows bool
		}{
			{"total only", ReportQuery{}, []ReportRow{}, total, true},
			{"by day", ReportQuery{By: ReportByDay}, []ReportRow{
				rrow("2026-01-10", 2, 100, 0, 0, 0, 50),
				rrow("2026-01-11", 2, 240, 20, 0, 0, 130),
				rrow("2026-01-12", 4, 80, 15, 30, 0, 31),
				rrow("2026-01-13", 3, 25, 40, 0, 80, 48),
				rrow("2026-01-14", 3, 0, 0, 0, 0, 0),
			}, total, true},
			{"by month", ReportQuery{By: ReportByMonth}, []ReportRow{rrow("2026-01", 14, 445, 75, 30, 80, 45)}, total, true},
			{"by source", ReportQuery{By: ReportBySource}, []ReportRow{
				rrow("admin", 1, 0, 0, 0, 0, 0),
				rrow("erp", 2, 240, 0, 30, 0, 135),
				rrow("import", 1, 80, 0, 0, 0, 80),
				rrow("pos", 5, 125, 55, 0, 0, 36),
				rrow("schedule", 1, 0, 0, 0, 80, 80),
				rrow("web", 4, 0, 20, 0, 0, 5),
			}, total, true},
			{"by reason", ReportQuery{By: ReportByReason}, []ReportRow{
				rrow("", 0, 40, 0, 0, 0, 0),
				rrow("accrual", 6, 325, 0, 0, 0, 54),
				rrow("bonus", 1, 80, 0, 0, 0, 80),
				rrow("credit_note", 1, 0, 0, 30, 0, 30),
				rrow("expiry", 1, 0, 0, 0, 80, 80),
				rrow("redemption", 3, 0, 75, 0, 0, 25),
				rrow("reset", 1, 0, 0, 0, 0, 0),
				rrow("return", 1, 0, 0, 0, 0, 0),
			}, total, true},
			{"by customer, most points moved first", ReportQuery{By: ReportByCustomer}, []ReportRow{
				rrow(string(custA), 4, 300, 20, 0, 80, 100),
				rrow(string(custC), 2, 80, 0, 30, 0, 55),
				rrow(string(custD), 3, 25, 40, 0, 0, 21),
				rrow(string(custB), 4, 40, 15, 0, 0, 13),
				rrow(string(custE), 1, 0, 0, 0, 0, 0),
			}, total, true},
			{"by customer, limited", ReportQuery{By: ReportByCustomer, Limit: 2}, []ReportRow{
				rrow(string(custA), 4, 300, 20, 0, 80, 100),
				rrow(string(custC), 2, 80, 0, 30, 0, 55),
			}, total, true},
			{"by day, limited", ReportQuery{By: ReportByDay, Limit: 1}, []ReportRow{rrow("2026-01-10", 2, 100, 0, 0, 0, 50)}, total, true},
			// From and To at midnights: the expiry at 01-13 00:00 belongs to
			// the 13th, movement 11 at 15:00 to the 12th.
			{"one day", ReportQuery{From: romeAt(12, 0), To: romeAt(13, 0), By: ReportByDay},
				[]ReportRow{rrow("2026-01-12", 4, 80, 15, 30, 0, 31)}, rrow("", 4, 80, 15, 30, 0, 31), true},
			{"open end", ReportQuery{From: romeAt(13, 0)}, []ReportRow{}, rrow("", 6, 25, 40, 0, 80, 24), true},
			{"open start", ReportQuery{To: romeAt(11, 0)}, []ReportRow{}, rrow("", 2, 100, 0, 0, 0, 50), true},
			{"nothing in the period", ReportQuery{From: romeAt(20, 0), To: romeAt(21, 0), By: ReportByDay}, []ReportRow{}, rrow("", 0, 0, 0, 0, 0, 0), true},
		}
		check := func(t *testing.T, sweptNote string) {
			for _, tt := range tests {
				t.Run(tt.name+sweptNote, func(t *testing.T) {
					q := tt.q
					q.Program = "shop"
					rep, err := l.Report(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(rep.Rows, tt.rows) {
						t.Errorf("rows =\n%+v\nwant\n%+v", rep.Rows, tt.rows)
					}
					if rep.Total != tt.total {
						t.Errorf("total = %+v, want %+v", rep.Total, tt.total)
					}
					if rep.Outstanding != 280 || rep.Provisional != 60 || rep.Customers != 5 {
						t.Errorf("outstanding %d, provisional %d, customers %d; want 280, 60, 5", rep.Outstanding, rep.Provisional, rep.Customers)
					}
					if rep.Program != "shop" || rep.By != q.By || !rep.From.Equal(q.From) || !rep.To.Equal(q.To) {
						t.Errorf("report header = %q %q %v %v", rep.Program, rep.By, rep.From, rep.To)
					}
				})
			}
		}
		check(t, "")
		// The sweep writes the expiry movement of lot 1 dated at its
		// expiry: the report must not change.
		if _, err := l.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, " after the sweep")

		// Another program is apart.
		rep, err := l.Report(ctx, ReportQuery{Program: "card", By: ReportByDay})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 0 || rep.Total != (ReportRow{}) || rep.Outstanding != 0 || rep.Customers != 0 {
			t.Fatalf("program card: %+v", rep)
		}
	})
}

func TestReportRefuses(t *testing.T) {
	clock := &testClock{t: romeAt(15, 10)}
	l := openSQLite(t, clock)
	ctx := context.Background()
	tests := []struct {
		name string
		q    ReportQuery
		want error
	}{
		{"unknown program", ReportQuery{Program: "gold"}, ErrUnknownProgram},
		{"unknown grouping", ReportQuery{Program: "shop", By: "week"}, ErrInvalid},
		{"empty period", ReportQuery{Program: "shop", From: romeAt(12, 0), To: romeAt(12, 0)}, ErrInvalid},
		{"reversed period", ReportQuery{Program: "shop", From: romeAt(13, 0), To: romeAt(12, 0)}, ErrInvalid},
		{"negative limit", ReportQuery{Program: "shop", Limit: -1}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Report(ctx, tt.q)
			wantErr(t, err, tt.want)
		})
	}
}

func TestDaily(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		buildScenario(t, l, clock)
		ctx := context.Background()
		// Earned points at the end of each day, by hand:
		//   10: +100 (1)                                        = 100
		//   11: +200 (3) +40 (4) -30 (5)                        = 310
		//   12: +10 (6 gives back) -15 (7) +80 (8) -30 (9)      = 355
		//   13: -80 (lot 1 expires) -40 (12) +25 (13)           = 260
		//   14: +5 (15) +15 (16 forgives the debt)              = 280
		//   15: nothing (now is 10:00)                          = 280
		all := []DayFigures{
			{"2026-01-09", 0, 0, 0, 0},
			{"2026-01-10", 100, 0, 0, 100},
			{"2026-01-11", 240, 20, 0, 310},
			{"2026-01-12", 80, 15, 0, 355},
			{"2026-01-13", 25, 40, 80, 260},
			{"2026-01-14", 0, 0, 0, 280},
			{"2026-01-15", 0, 0, 0, 280},
		}
		tests := []struct {
			name     string
			from, to time.Time
			want     []DayFigures
		}{
			{"whole story", romeAt(9, 0), romeAt(16, 0), all},
			{"days after today are left out", romeAt(9, 0), romeAt(25, 0), all},
			{"middle days", romeAt(12, 0), romeAt(14, 0), all[3:5]},
			{"instants inside days", romeAt(12, 15), romeAt(13, 1), all[3:5]},
			{"one day", romeAt(11, 0), romeAt(12, 0), all[2:3]},
			{"after today", romeAt(20, 0), romeAt(22, 0), []DayFigures{}},
		}
		check := func(t *testing.T, note string) {
			for _, tt := range tests {
				t.Run(tt.name+note, func(t *testing.T) {
					got, err := l.Daily(ctx, "shop", tt.from, tt.to)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, tt.want) {
						t.Errorf("daily =\n%+v\nwant\n%+v", got, tt.want)
					}
				})
			}
		}
		check(t, "")
		if _, err := l.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, " after the sweep")

		_, err := l.Daily(ctx, "shop", romeAt(12, 0), romeAt(12, 0))
		wantErr(t, err, ErrInvalid)
		_, err = l.Daily(ctx, "shop", time.Time{}, romeAt(12, 0))
		wantErr(t, err, ErrInvalid)
		_, err = l.Daily(ctx, "shop", romeAt(12, 0).AddDate(-11, 0, 0), romeAt(12, 0))
		wantErr(t, err, ErrInvalid)
		_, err = l.Daily(ctx, "gold", romeAt(12, 0), romeAt(13, 0))
		wantErr(t, err, ErrUnknownProgram)
	})
}

// TestDailyAcrossDST checks that days follow the program's zone through
// the change to summer time (2026-03-29 in Rome has 23 hours).
func TestDailyAcrossDST(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer(custA)
		// 23:30 on the 29th is 21:30 UTC: the 29th in Rome, though only
		// 23 hours after its midnight; 00:30 on the 30th is the 30th.
		for _, c := range []struct {
			at     time.Time
			amount int64
		}{
			{time.Date(2026, 3, 29, 23, 30, 0, 0, rome), 7},
			{time.Date(2026, 3, 30, 0, 30, 0, 0, rome), 11},
		} {
			clock.Set(c.at)
			h.credit(custA, c.amount, nil)
		}
		clock.Set(time.Date(2026, 3, 31, 12, 0, 0, 0, rome))
		got, err := l.Daily(context.Background(), "shop", time.Date(2026, 3, 29, 0, 0, 0, 0, rome), time.Date(2026, 3, 31, 0, 0, 0, 0, rome))
		if err != nil {
			t.Fatal(err)
		}
		want := []DayFigures{{"2026-03-29", 7, 0, 0, 7}, {"2026-03-30", 11, 0, 0, 18}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("daily = %+v, want %+v", got, want)
		}
	})
}

func TestParkedCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		ctx := context.Background()
		got, err := l.ParkedCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("parked count of an empty ledger = %v", got)
		}
		subjects := []Subject{
			{Program: "shop", Subject: "order:W1", State: []byte(`{}`), Parked: "customer web:9 unknown", Waiting: "web:9"},
			{Program: "shop", Subject: "order:W2", State: []byte(`{}`), Parked: "order unknown", Waiting: "order:W2"},
			{Program: "shop", Subject: "order:W3", State: []byte(`{}`)}, // applied, not parked
			{Program: "card", Subject: "receipt:S1/T1/1", State: []byte(`{}`), Parked: "review"},
		}
		if err := l.Update(ctx, func(tx *Tx) error {
			for _, s := range subjects {
				if err := tx.SaveSubject(s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err = l.ParkedCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"shop": 2, "card": 1}; !reflect.DeepEqual(got, want) {
			t.Fatalf("parked count = %v, want %v", got, want)
		}
		// Unparking one lowers the count.
		subjects[0].Parked, subjects[0].Waiting = "", ""
		if err := l.Update(ctx, func(tx *Tx) error { return tx.SaveSubject(subjects[0]) }); err != nil {
			t.Fatal(err)
		}
		got, err = l.ParkedCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"shop": 1, "card": 1}; !reflect.DeepEqual(got, want) {
			t.Fatalf("parked count after unparking = %v, want %v", got, want)
		}
	})
}

// TestReportContextCancelled checks that a cancelled context ends a report
// with an error rather than partial figures.
func TestReportContextCancelled(t *testing.T) {
	clock := &testClock{t: romeAt(15, 10)}
	l := openSQLite(t, clock)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Report(ctx, ReportQuery{Program: "shop"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("report with a cancelled context: %v", err)
	}
}
