package configs

import (
	"strings"
	"testing"
	"time"
)

func TestExpandEnv(t *testing.T) {
	vars := map[string]string{"HOST": "db1", "PORT": "3306", "EMPTY": "", "_U9": "u"}
	tests := []struct {
		in, want string
		errs     []string // substrings, one per expected error
	}{
		{in: "plain", want: "plain"},
		{in: "${HOST}", want: "db1"},
		{in: "tcp(${HOST}:${PORT})", want: "tcp(db1:3306)"},
		{in: "${_U9}", want: "u"},
		{in: "${MISSING:fallback}", want: "fallback"},
		{in: "${MISSING:}", want: ""},
		{in: "${HOST:other}", want: "db1"},
		{in: "${EMPTY:dflt}", want: "dflt"},
		{in: "${MISSING:a:b@tcp(h:1)/d}", want: "a:b@tcp(h:1)/d"}, // the first : splits
		{in: "$${HOST}", want: "${HOST}"},
		{in: "$$${HOST}", want: "$${HOST}"}, // a run of $ before { loses one and is not a reference
		{in: "$$$${HOST}", want: "$$${HOST}"},
		{in: "cost $5 and $HOST and $$", want: "cost $5 and $HOST and $$"},
		{in: "a$", want: "a$"},
		{in: "}{$}", want: "}{$}"},
		{in: "${HOST}}", want: "db1}"},

		{in: "${MISSING}", errs: []string{"environment variable MISSING is not set; set it or write ${MISSING:default}"}},
		{in: "${EMPTY}", errs: []string{"environment variable EMPTY is empty"}},
		{in: "${A}${B}", errs: []string{"A is not set", "B is not set"}},
		{in: "${", errs: []string{"unterminated ${"}},
		{in: "x ${HOST", errs: []string{"unterminated ${"}},
		{in: "${}", errs: []string{"empty variable name"}},
		{in: "${:dflt}", errs: []string{"empty variable name"}},
		{in: "${1HOST}", errs: []string{`bad environment variable name "1HOST"`}},
		{in: "${HO-ST}", errs: []string{`bad environment variable name "HO-ST"`}},
		{in: "${ HOST }", errs: []string{`bad environment variable name " HOST "`}},
		{in: "${A:${B}}", errs: []string{"cannot contain another one"}},
		{in: "${A${B}}", errs: []string{"cannot contain another one"}},
	}
	for _, tt := range tests {
		got, errs := expandEnv(tt.in, envMap(vars))
		if len(errs) != len(tt.errs) {
			t.Errorf("%q: got errors %v, want %d", tt.in, errs, len(tt.errs))
			continue
		}
		for i, err := range errs {
			if !strings.Contains(err.Error(), tt.errs[i]) {
				t.Errorf("%q: error %q does not contain %q", tt.in, err, tt.errs[i])
			}
		}
		if len(tt.errs) == 0 && got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandEnvNeverQuotesDefault(t *testing.T) {
	_, errs := expandEnv("${A:s3cret${B}}", envMap(nil))
	for _, err := range errs {
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error shows the default: %v", err)
		}
	}
}

// TestEnvRetyping is the point of clearing the tag of an expanded plain
// scalar: the new text decides the type, while quotes keep a string.
func TestEnvRetyping(t *testing.T) {
	c := mustParse(t, `
ledger:
  busy_timeout: ${TIMEOUT:5s}
programs:
  - id: ${ID:shop}
    name: ${NAME:007}
    expiry:
      policy: days
      days: ${DAYS:365}
  - id: "${ID2:card}"
    name: "${NAME2:true}"
export:
  bom: ${BOM:true}
`, map[string]string{"DAYS": "30"})
	if c.Ledger.BusyTimeout != 5*time.Second {
		t.Errorf("busy_timeout = %v", c.Ledger.BusyTimeout)
	}
	if p := c.Programs[0]; p.ID != "shop" || p.Name != "007" || p.Expiry.Days != 30 {
		t.Errorf("program 0 = %+v", p)
	}
	if p := c.Programs[1]; p.ID != "card" || p.Name != "true" {
		t.Errorf("program 1 = %+v", p)
	}
	if !c.Export.BOM {
		t.Error("bom not true")
	}
}

func TestEnvQuotedStaysString(t *testing.T) {
	_, err := parseString(t, `
programs:
  - id: shop
    expiry:
      policy: days
      days: "${DAYS:365}"
`, nil)
	want := `c.yaml:6: programs[0].expiry.days: expected a whole number, got the quoted string "365" (remove the quotes)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// An anchored value reached again through an alias is expanded once: a
// second pass would turn the literal ${X} from $${X} into a reference.
func TestEnvAnchorsExpandedOnce(t *testing.T) {
	c := mustParse(t, `
programs:
  - id: shop
    name: &n "$${X} and ${Y:y}"
  - id: card
    name: *n
`, map[string]string{"X": "expanded-twice"})
	for _, p := range c.Programs {
		if p.Name != "${X} and y" {
			t.Errorf("%s: name = %q", p.ID, p.Name)
		}
	}
}

func TestEnvNotInKeys(t *testing.T) {
	_, err := parseString(t, "programs:\n  - id: shop\n    ${KEY}: x\n", map[string]string{"KEY": "name"})
	want := "c.yaml:3: programs[0].${KEY}: unknown key (known keys here: accrual, actions, badges, catalogs, confirm_on, create_card_customers, exclude_current_transaction, expiry, gifts, id, name, redemption, time_zone, unit)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestEnvProcessEnvironment(t *testing.T) {
	t.Setenv("POINTSYNC_TEST_TZ", "UTC")
	c, err := Parse("c.yaml", []byte("programs:\n  - id: shop\n    time_zone: ${POINTSYNC_TEST_TZ}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Programs[0].TimeZone != "UTC" {
		t.Fatalf("time_zone = %q", c.Programs[0].TimeZone)
	}
}
