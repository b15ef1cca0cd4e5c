package mapping

import "testing"

func TestFieldKinds(t *testing.T) {
	tests := []struct {
		t    Type
		name string
		want Kind
	}{
		{TypeTillReceipt, "gross", KindMoney},
		{TypeTillReceipt, "discount", KindMoney},
		{TypeTillReceipt, "quantity", KindQuantity},
		{TypeTillReceipt, "discounted", KindFlag},
		{TypeTillReceipt, "earned", KindPoints},
		{TypeTillReceipt, "spent", KindPoints},
		{TypeTillReceipt, "at", KindTime},
		{TypeTillReceipt, "card", KindText},
		{TypeTillReceipt, "store", KindText},
		{TypeWebOrder, "customer", KindIdent},
		{TypeWebOrder, "placed_at", KindTime},
		{TypeWebOrder, "status_at", KindTime},
		{TypeWebOrder, "shipping", KindMoney},
		{TypeWebOrder, "points_spent", KindPoints},
		{TypeWebOrder, "status", KindText},
		{TypeERPDocument, "date", KindTime},
		{TypeERPDocument, "doc_discount", KindMoney},
		{TypeERPDocument, "number", KindText},
		{TypeAction, "at", KindTime},
		{TypeAction, "customer", KindIdent},
		{TypeLink, "web", KindIdent},
	}
	for _, tc := range tests {
		fs, err := Fields(tc.t)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range fs {
			if f.Name == tc.name {
				found = true
				if f.Kind != tc.want {
					t.Errorf("%s.%s kind = %q, want %q", tc.t, tc.name, f.Kind, tc.want)
				}
			}
		}
		if !found {
			t.Errorf("%s has no field %s", tc.t, tc.name)
		}
	}
}
