package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// runDemo starts the daemon on the demo configuration and plays a short
// story into its drop folders, as the shop, the ERP and the stores would:
// a web order is provisional, then earned when the ERP invoices it;
// another spends points and is cancelled; a card earns and pays at two
// tills. It prints the balances after each step and then keeps the daemon
// running (--exit stops it). The story's dates are fixed at the first run,
// so running the demo again drops the same files: pointsync recognises
// them and changes nothing.
func runDemo(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var c common
	c.register(fs)
	exit := fs.Bool("exit", false, "stop the daemon when the story is over")
	wait := fs.Duration("timeout", time.Minute, "how long to wait for the daemon to take each step's files")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	d, e, release, err := c.startDaemon(ctx, a)
	if err != nil {
		return err
	}
	defer release()
	story, err := newDemoStory(e)
	if err != nil {
		return err
	}
	abort, cancelAbort := abortOnSecondSignal(ctx, e.log)
	defer cancelAbort()
	stop, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	done := make(chan error, 1)
	go func() { done <- d.Run(stop, abort) }()

	fmt.Fprintf(a.stdout, "pointsync demo: the daemon runs on %s; the story goes into the drop folders under %s\n\n",
		e.cfg.Ledger.Path, story.root)
	if story.again {
		fmt.Fprintf(a.stdout, "The story was played before on this ledger: its files are recognised and change nothing.\n"+
			"Remove the folder %s to watch it from the start.\n\n", filepath.Dir(e.cfg.Ledger.Path))
	}
	err = story.play(ctx, a, *wait)
	if err == nil && !*exit {
		fmt.Fprintf(a.stdout, "\nThe daemon keeps running; stop it with Ctrl-C. In another terminal try:\n")
		for _, cmd := range []string{
			"balance --program shop --customer web:1001 --json",
			"movements --program shop --customer email:anna.rossi@example.com",
			"balance --program card --customer card:0420001234",
			"status",
		} {
			name, rest, _ := strings.Cut(cmd, " ")
			fmt.Fprintf(a.stdout, "  go run ./cmd/pointsync %s --config %s %s\n", name, c.config, rest)
		}
		fmt.Fprintf(a.stdout, "Drop your own files into %s/*/inbox; the tills' balance files are written under %s.\n",
			story.root, filepath.Join(story.root, "stores", "out"))
		<-ctx.Done()
	}
	stopDaemon()
	if rerr := <-done; err == nil {
		err = rerr
	}
	return err
}

// demoStory writes the demo's files into the drop folders of the demo
// configuration's connectors.
type demoStory struct {
	e     *env
	root  string            // the drop folders' parent, for messages
	inbox map[string]string // connector name -> its inbox
	base  time.Time         // the story's "now", fixed at the first run
	again bool              // the story was played on this ledger before
	shop  rules.Program
	card  rules.Program
}

func newDemoStory(e *env) (*demoStory, error) {
	s := &demoStory{e: e, inbox: map[string]string{}}
	var ok1, ok2 bool
	s.shop, ok1 = e.cfg.Program("shop")
	s.card, ok2 = e.cfg.Program("card")
	for _, c := range e.cfg.Connectors {
		if c.Kind == configs.ConnectorCSVDrop {
			s.inbox[c.Name] = filepath.Join(c.Drop.Dir, "inbox")
		}
	}
	for _, name := range []string{"shop-customers", "shop-orders", "erp-documents", "stores"} {
		if s.inbox[name] == "" || !ok1 || !ok2 {
			return nil, &configError{err: fmt.Errorf("%s: the demo needs programs shop and card and the drop connectors shop-customers, shop-orders, erp-documents and stores, as in configs/demo.yaml", e.cfg.File())}
		}
	}
	s.root = filepath.Dir(filepath.Dir(s.inbox["stores"]))
	// The dates are fixed at the first run and kept beside the ledger, so
	// a second run writes the very same files.
	mark := e.cfg.Ledger.Path + ".demo-start"
	if b, err := os.ReadFile(mark); err == nil {
		s.again = true
		if s.base, err = time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err != nil {
			return nil, fmt.Errorf("%s: %w (remove the file to start the story afresh)", mark, err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		s.base = time.Now().In(s.shop.Location).Truncate(time.Minute)
		if err := os.WriteFile(mark, []byte(s.base.Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return nil, err
		}
	} else {
		return nil, err
	}
	s.base = s.base.In(s.shop.Location)
	return s, nil
}

type demoStep struct {
	what  string
	files map[string]string // connector -> file content (UTF-8; the ERP's is written in Windows-1252)
	name  string            // file name
}

func (s *demoStory) steps() []demoStep {
	iso := func(d time.Duration) string { return s.base.Add(d).Format("2006-01-02T15:04:05-07:00") }
	it := func(d time.Duration) string { return s.base.Add(d).Format("02/01/2006 15:04") }
	day, year := 24*time.Hour, s.base.Year()
	return []demoStep{
		{"the shop registers Anna (web 1001, ERP C0001) and her web order W1 of 120.00 EUR is paid: 120 points provisional", map[string]string{
			"shop-customers": "web,erp,email\n1001,C0001,anna.rossi@example.com\n",
			"shop-orders": "order,customer,placed_at,status,line,product,quantity,gross\n" +
				"W1,1001," + iso(-2*day) + ",wc-processing,1,SHOES-42,1,90.00\n" +
				"W1,1001," + iso(-2*day) + ",wc-processing,2,SOCKS,3,30.00\n",
		}, "01.csv"},
		{"the ERP invoices W1: the 120 points are earned", map[string]string{
			"erp-documents": "tipo;anno;serie;numero;ordine;data;articolo;quantita;importo\n" +
				fmt.Sprintf("F;%d;A;101;W1;%s;SHOES-42;1;90,00\n", year, it(-day)) +
				fmt.Sprintf("F;%d;A;101;W1;%s;CALZINI PIÙ;3;30,00\n", year, it(-day)),
		}, "02.csv"},
		{"web order W2 of 60.00 EUR spends 100 points, payment not confirmed yet", map[string]string{
			"shop-orders": "order,customer,placed_at,status,points_spent,line,product,quantity,gross\n" +
				"W2,1001," + iso(-2*time.Hour) + ",wc-on-hold,100,1,BAG,1,60.00\n",
		}, "03.csv"},
		{"card 0420001234 at the tills: 127.60 EUR earns 6.38 at S01; 40.00 EUR earns 2.00 and pays 5.00 at S02", map[string]string{
			"stores": "negozio;cassa;scontrino;riga;data;tessera;importo;sconto;utilizzato\n" +
				"S01;1;4711;1;" + it(-time.Hour) + ";0420001234;127,60;0,00;0,00\n" +
				"S02;2;88;1;" + it(-30*time.Minute) + ";0420001234;40,00;0,00;5,00\n",
		}, "04.csv"},
		{"the ERP cancels W2: its 100 points come back and its accrual is void", map[string]string{
			"erp-documents": "tipo;anno;serie;numero;ordine;data;articolo;quantita;importo\n" +
				fmt.Sprintf("X;%d;A;7;W2;%s;BAG;1;60,00\n", year, it(-time.Minute)),
		}, "05.csv"},
	}
}

// play writes each step's files, waits until the daemon has taken them,
// and prints the balances.
func (s *demoStory) play(ctx context.Context, a *app, timeout time.Duration) error {
	anna := ledger.Account{Program: s.shop.ID, Customer: "web:1001"}
	carla := ledger.Account{Program: s.card.ID, Customer: "card:0420001234"}
	for i, st := range s.steps() {
		var paths []string
		for conn, content := range st.files {
			data := []byte(content)
			if conn == "erp-documents" {
				var err error
				if data, err = charmap.Windows1252.NewEncoder().Bytes(data); err != nil {
					return err
				}
			}
			path := filepath.Join(s.inbox[conn], "demo-"+st.name)
			if err := writeDrop(path, data); err != nil {
				return err
			}
			paths = append(paths, path)
		}
		// A file leaves processing/ only once its batch has committed.
		if err := waitTaken(ctx, paths, timeout); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%d. %s\n", i+1, st.what)
		for _, acct := range []ledger.Account{anna, carla} {
			p := s.shop
			if acct.Program == s.card.ID {
				p = s.card
			}
			b, err := s.e.ledger.Balance(ctx, acct, s.e.ledger.Now())
			if errors.Is(err, ledger.ErrUnknownCustomer) {
				continue
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "   %-5s %-16s earned %s, provisional %s, spent %s\n", acct.Program, acct.Customer,
				figure(p, b.Earned), figure(p, b.Provisional), figure(p, b.Spent))
		}
	}
	return nil
}

// writeDrop writes a drop file as a till would, under a temporary name
// first so the daemon never sees half of it.
func writeDrop(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".part"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// waitTaken waits until the files have left the inbox and their
// processing folder.
func waitTaken(ctx context.Context, paths []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		waiting := ""
		for _, p := range paths {
			processing := filepath.Join(filepath.Dir(filepath.Dir(p)), "processing", filepath.Base(p))
			for _, f := range []string{p, processing} {
				if _, err := os.Stat(f); err == nil {
					waiting = f
				}
			}
		}
		if waiting == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not take %s within %s; see its log above and `pointsync status`", waiting, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
