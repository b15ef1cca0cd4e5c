package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFactsAndSubjects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		at := clock.Now()
		put := func(tx *Tx, key, payload string, at time.Time) bool {
			t.Helper()
			stored, err := tx.PutFact(Fact{Program: "shop", Kind: "web_order", Key: key, Subject: "order:" + key, Payload: []byte(payload), At: at})
			if err != nil {
				t.Fatal(err)
			}
			return stored
		}
		err := l.Update(h.ctx, func(tx *Tx) error {
			if !put(tx, "W1", `{"total":100}`, at) || put(tx, "W1", `{"total":100}`, at) {
				t.Error("a duplicate was stored, or the first was not")
			}
			if !put(tx, "W1", `{"total":90}`, at.Add(time.Hour)) {
				t.Error("a revision was not stored")
			}
			fs, err := tx.SubjectFacts("shop", "order:W1")
			if err != nil {
				return err
			}
			if len(fs) != 2 || string(fs[1].Payload) != `{"total":90}` {
				t.Errorf("facts = %+v", fs)
			}
			if _, ok, err := tx.Subject("shop", "order:W1"); ok || err != nil {
				t.Errorf("subject before saving: %v %v", ok, err)
			}
			for _, state := range []string{`{"g":1}`, `{"g":1}`, `{"g":2}`} {
				if err := tx.SaveSubject(Subject{Program: "shop", Subject: "order:W1", State: []byte(state), Parked: "no customer web:9", Waiting: "web:9"}); err != nil {
					return err
				}
			}
			s, ok, err := tx.Subject("shop", "order:W1")
			if !ok || err != nil || string(s.State) != `{"g":2}` || s.Waiting != "web:9" {
				t.Errorf("subject = %+v %v %v", s, ok, err)
			}
			w, err := tx.WaitingOn("shop", "web:9")
			if err != nil || len(w) != 1 || w[0] != "order:W1" {
				t.Errorf("waiting = %v %v", w, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.Parked(h.ctx, "shop")
		if err != nil || len(p) != 1 || p[0].Parked != "no customer web:9" {
			t.Fatalf("parked = %+v %v", p, err)
		}
	})
}

// TestWaitingOnKnownKinds: WaitingOn finds a subject parked in the same
// transaction after it found none of that kind, in another program's
// name or not, after a savepoint rolled a parked subject back or rolled
// back its unparking, and in the next transaction; on SQLite it asks the database once per kind of what
// is waited for (mayWait), and a subject waiting for nothing of a kind
// is not found by it.
func TestWaitingOnKnownKinds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		park := func(tx *Tx, program, subject, waiting string) {
			t.Helper()
			if err := tx.SaveSubject(Subject{Program: program, Subject: subject, State: []byte(`{}`), Parked: "parked", Waiting: waiting}); err != nil {
				t.Fatal(err)
			}
		}
		waiting := func(tx *Tx, program, what string, want ...string) {
			t.Helper()
			got, err := tx.WaitingOn(program, what)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("WaitingOn(%s, %s) = %v, want %v", program, what, got, want)
			}
		}
		err := l.Update(h.ctx, func(tx *Tx) error {
			waiting(tx, "shop", "account:1")
			park(tx, "card", "receipt:a", "account:1") // another program
			waiting(tx, "shop", "account:1")
			waiting(tx, "card", "account:1", "receipt:a")
			park(tx, "shop", "receipt:b", "account:1")
			waiting(tx, "shop", "account:1", "receipt:b")
			waiting(tx, "shop", "account:2")
			park(tx, "shop", "order:c", "card:77")
			waiting(tx, "shop", "card:77", "order:c")
			waiting(tx, "shop", "card:78")
			// Parked in a savepoint rolled back: not found, whatever was
			// remembered.
			err := tx.Try(func() error {
				park(tx, "shop", "receipt:d", "web:9")
				return ErrInvalid
			})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Try: %v", err)
			}
			waiting(tx, "shop", "web:9")
			park(tx, "shop", "receipt:e", "noprefix")
			waiting(tx, "shop", "noprefix", "receipt:e")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = l.Update(h.ctx, func(tx *Tx) error {
			// A subject that stops waiting in a savepoint rolled back
			// waits again, whatever was learnt inside it.
			err := tx.Try(func() error {
				park(tx, "shop", "receipt:b", "")
				waiting(tx, "shop", "account:1")
				return ErrInvalid
			})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Try: %v", err)
			}
			waiting(tx, "shop", "account:1", "receipt:b")
			waiting(tx, "shop", "web:9")
			park(tx, "shop", "receipt:b", "") // no longer waits
			waiting(tx, "shop", "account:1")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
