package configs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pointsync/pointsync/rules"
)

// exampleLoader checks examples away from the host they are written for:
// no environment (defaults apply) and secret files not read, since
// /run/secrets/... exists only where the daemon runs.
func exampleLoader() Loader { return Loader{LookupEnv: envMap(nil), SkipSecrets: true} }

func TestExamplesValid(t *testing.T) {
	embedded, err := fs.Glob(Examples, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) < 3 || !slices.Equal(embedded, onDisk) {
		t.Fatalf("embedded %v, in the folder %v", embedded, onDisk)
	}
	for _, name := range embedded {
		data, err := fs.ReadFile(Examples, name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := exampleLoader().Parse(name, data)
		if err != nil {
			t.Errorf("embedded %s:\n%v", name, err)
			continue
		}
		if _, err := c.RulesPrograms(); err != nil {
			t.Errorf("embedded %s: %v", name, err)
		}
	}
	for _, path := range onDisk {
		if _, err := exampleLoader().Load(path); err != nil {
			t.Errorf("%s:\n%v", path, err)
		}
	}
}

func TestDemoExample(t *testing.T) {
	c, err := exampleLoader().Load("demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ledger.Path != filepath.Join("data", "demo.db") {
		t.Errorf("ledger path %q", c.Ledger.Path)
	}
	shop, ok := c.Program("shop")
	if !ok || shop.Unit != rules.UnitPoints || shop.Location.String() != "Europe/Rome" ||
		shop.Expiry != (rules.ExpiryPolicy{Kind: rules.ExpiryDays, Days: 365}) {
		t.Errorf("shop = %+v", shop)
	}
	card, ok := c.Program("card")
	if !ok || card.Unit != rules.UnitAmount || card.Expiry.Kind != rules.ExpiryNone {
		t.Errorf("card = %+v", card)
	}
	if c.Import.Comma() != 0 || c.Import.Decimal != DecimalComma || c.Export.Comma() != ';' || c.Export.Decimal != DecimalComma {
		t.Errorf("CSV: import %+v export %+v", c.Import, c.Export)
	}

	c, err = Loader{LookupEnv: envMap(map[string]string{"POINTSYNC_DATA": "/srv/pointsync"})}.Load("demo.yaml")
	if err != nil || c.Ledger.Path != filepath.FromSlash("/srv/pointsync/demo.db") {
		t.Errorf("POINTSYNC_DATA not used: %v %v", c, err)
	}
}

// Without SkipSecrets the MySQL example really reads its DSN file, which
// does not exist on a build machine.
func TestMySQLExampleReadsSecret(t *testing.T) {
	const secret = "/run/secrets/pointsync-ledger-dsn"
	if _, err := os.Stat(secret); err == nil {
		t.Skipf("%s exists on this host", secret)
	}
	_, err := Loader{LookupEnv: envMap(nil)}.Load("mysql-ledger.yaml")
	var e *Error
	if !errors.As(err, &e) || e.Key != "ledger.dsn_file" || e.Line != 8 || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}
