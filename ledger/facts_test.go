package ledger

import (
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
