//lint:file-ignore SA1019 the audit reads syntax only, without type-checking the module and its dependencies; the parser's resolution of local names (ast.Object) is what it needs
package sqlaudit

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// allowed are the reviewed sites whose SQL text is not a constant
// expression, by file and function, with the reason each is safe. A site
// found and not listed fails TestSQLIsConstant, and so does an entry that
// no longer matches a site.
var allowed = map[string]string{
	"connectors/sqlsource/fetch.go:Source.read": "the operator's configured SELECT (sql.query), parsed by connectors/sqlquery at New: one statement, " +
		"placeholders only :limit and the cursor's :last_COLUMN, bound as parameters",
	"connectors/sqlsource/probe.go:Source.Probe": "check-config --connect runs the configured SELECT as Source.read does (parsed and checked at New)",
	"connectors/sqlsource/table.go:Table.Write": "the sql_table export's INSERT ... ON DUPLICATE KEY UPDATE, built by Table.insert from the configured table " +
		"and column names, each checked against identRE at New and quoted by quote; every value a ? parameter",
	"ledger/customers.go:Ledger.ListCustomers": "the customer list's filters and sort: column names checked by isCustomerColumn against customerColumns, " +
		"their expressions from customerExpr; every value a ? parameter",
	"ledger/migrate.go:Ledger.applyMigration": "the statements of the migration files embedded in the binary (ledger/migrations), split by statements",
	"ledger/tx.go:Tx.Try":                     "SAVEPOINT, ROLLBACK TO and RELEASE of the savepoint pointsync_sp<depth>, named from an integer counter",
	"ledger/stmtcache.go:cachedReader.QueryContext": "the reads' querier passes on the text of its callers, the ledger's read functions, " +
		"whose calls through the querier interface are audited here like any other",
	"ledger/stmtcache.go:cachedReader.QueryRowContext": "as cachedReader.QueryContext",
	"ledger/stmtcache.go:cachedReader.prepareMissed": "prepares the texts the same cachedReader was given by its callers " +
		"(the ledger's read functions, audited at their calls)",
}

// testOnly are folders of the module that are not part of the product
// binary, with why their SQL is not audited. No product package may import
// them (TestSQLIsConstant checks).
var testOnly = map[string]string{
	"internal/tdstest":    "the loopback SQL Server stand-in for tests: it runs the SQL its clients send, by design",
	"internal/testdb":     "test helper: creates and drops the pointsync_test_* databases it names itself",
	"internal/wcdb":       "test helper: the shop's schema on MariaDB for tests",
	"internal/ntsdb":      "test helper: the ERP's schema for tests",
	"cmd/pointsync-bench": "the benchmark's workload generator, a developer tool outside the product binary",
}

// sqlMethods are database/sql's methods that take SQL text (on DB, Tx and
// Conn), with the index of the SQL argument.
var sqlMethods = map[string]int{
	"Exec": 0, "Query": 0, "QueryRow": 0, "Prepare": 0,
	"ExecContext": 1, "QueryContext": 1, "QueryRowContext": 1, "PrepareContext": 1,
}

// pkg is one package folder of the module.
type pkg struct {
	dir    string // relative to the module root, slash-separated
	path   string // import path
	files  map[string]*ast.File
	consts map[string]bool // package-level constant names
}

// module is the module's non-test Go files, parsed.
type module struct {
	root, path string
	fset       *token.FileSet
	pkgs       map[string]*pkg // by import path
}

func loadModule(t *testing.T) *module {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := &module{root: root, fset: token.NewFileSet(), pkgs: map[string]*pkg{}}
	for _, line := range strings.Split(string(gomod), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			m.path = strings.TrimSpace(p)
		}
	}
	if m.path == "" {
		t.Fatal("go.mod names no module")
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(m.fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		ip := m.path
		if rel != "." {
			ip += "/" + rel
		}
		p := m.pkgs[ip]
		if p == nil {
			p = &pkg{dir: rel, path: ip, files: map[string]*ast.File{}, consts: map[string]bool{}}
			m.pkgs[ip] = p
		}
		p.files[path] = f
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				for _, spec := range gd.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						p.consts[n.Name] = true
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// inTestOnly tells whether a folder is one of testOnly's (or below one).
func inTestOnly(dir string) bool {
	for d := range testOnly {
		if dir == d || strings.HasPrefix(dir, d+"/") {
			return true
		}
	}
	return false
}

// sink is a function or method that takes SQL text: database/sql's, or a
// function of the module that builds the SQL of its call from some of its
// parameters (a wrapper, a builder).
type sink struct {
	args []int  // indices of the arguments the SQL is built from
	pkg  string // the only package that can call it (unexported), or ""
	via  string // the declaration, dir:Func
}

// site is a call whose SQL is not built from constant text only.
type site struct {
	key    string // file:Func, the allowlist's key
	pos    string // file:line:column
	callee string
	expr   string
}

// funcName names a declaration as the allowlist does: Func, or Recv.Method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	typ := fd.Recv.List[0].Type
	if s, ok := typ.(*ast.StarExpr); ok {
		typ = s.X
	}
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// calleeName is the name a call calls: f(...) or x.f(...).
func calleeName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	}
	return ""
}

// paramIndex is the position of the parameter obj among ft's parameters,
// or -1.
func paramIndex(ft *ast.FuncType, obj *ast.Object) int {
	if obj == nil || ft.Params == nil {
		return -1
	}
	i := 0
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, n := range f.Names {
			if n.Obj == obj {
				return i
			}
			i++
		}
	}
	return -1
}

// scope is where an expression is read: a function of a package.
type scope struct {
	p       *pkg
	imports map[string]string
	fd      *ast.FuncDecl
}

// auditor holds the sinks found and the functions known to return SQL
// built from constant text.
type auditor struct {
	m     *module
	sinks map[string][]sink
	// builders memoises the functions whose every result is built from
	// constant text and from the parameters listed (nil: not one).
	builders map[*ast.FuncDecl][]int
	busy     map[*ast.FuncDecl]bool
	locals   map[*ast.Object]bool // local variables being decided
	decls    map[string][]declIn  // functions by name
}

// declIn is a function declaration and where it is.
type declIn struct {
	fd      *ast.FuncDecl
	p       *pkg
	imports map[string]string
}

// sqlArgs are the arguments of call that its SQL is built from, if call
// calls a sink.
func (a *auditor) sqlArgs(p *pkg, call *ast.CallExpr) ([]ast.Expr, *sink) {
	for i, s := range a.sinks[calleeName(call)] {
		if s.pkg != "" && s.pkg != p.path {
			continue
		}
		var out []ast.Expr
		for _, j := range s.args {
			if j >= len(call.Args) || (call.Ellipsis.IsValid() && j == len(call.Args)-1) {
				// A *sql.Stmt's Exec(args...) takes no SQL: the spread is
				// the statement's arguments.
				out = nil
				break
			}
			out = append(out, call.Args[j])
		}
		if out != nil {
			return out, &a.sinks[calleeName(call)][i]
		}
	}
	return nil, nil
}

// ct tells whether e is built from constant text only: string literals,
// constants of the module, their concatenation, strings.Repeat and
// strings.Join and fmt.Sprintf of such text, package variables and
// composite literals holding nothing else, local variables given nothing
// else, and calls of the module's functions that return nothing else.
// Parameters of the function count as constant text and are added to
// needs: the function's callers must give it constant text there.
func (a *auditor) ct(sc scope, e ast.Expr, needs map[int]bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.ParenExpr:
		return a.ct(sc, e.X, needs)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && a.ct(sc, e.X, needs) && a.ct(sc, e.Y, needs)
	case *ast.IndexExpr:
		return a.ct(sc, e.X, needs)
	case *ast.SliceExpr:
		return a.ct(sc, e.X, needs)
	case *ast.CompositeLit:
		for _, el := range e.Elts {
			if !a.ct(sc, el, needs) {
				return false
			}
		}
		return true
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		if !ok || x.Obj != nil {
			return false
		}
		other := a.m.pkgs[sc.imports[x.Name]]
		return other != nil && other.consts[e.Sel.Name]
	case *ast.Ident:
		if e.Name == "nil" && e.Obj == nil {
			return true
		}
		if e.Obj == nil {
			return sc.p.consts[e.Name] || a.ctPackageVar(sc, e.Name)
		}
		switch e.Obj.Kind {
		case ast.Con:
			return true
		case ast.Var:
			if i := paramIndex(sc.fd.Type, e.Obj); i >= 0 {
				needs[i] = true
				return true
			}
			if vs, ok := e.Obj.Decl.(*ast.ValueSpec); ok && (vs.Pos() < sc.fd.Pos() || vs.Pos() > sc.fd.End()) {
				return a.ctPackageVar(sc, e.Name) // declared in this file, outside the function
			}
			return a.ctLocal(sc, e.Obj, needs)
		}
		return false
	case *ast.CallExpr:
		return a.ctCall(sc, e, needs)
	}
	return false
}

// ctCall is ct for a call.
func (a *auditor) ctCall(sc scope, call *ast.CallExpr, needs map[int]bool) bool {
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok && x.Obj == nil {
			switch sc.imports[x.Name] + "." + sel.Sel.Name {
			case "strings.Repeat":
				return len(call.Args) == 2 && a.ct(sc, call.Args[0], needs)
			case "strconv.Itoa", "strconv.FormatInt", "strconv.FormatUint":
				return true // digits
			case "strings.TrimSuffix", "strings.TrimPrefix", "strings.TrimSpace", "strings.ToUpper", "strings.ToLower":
				for _, arg := range call.Args {
					if !a.ct(sc, arg, needs) {
						return false
					}
				}
				return true
			case "strings.Join":
				return len(call.Args) == 2 && a.ct(sc, call.Args[0], needs) && a.ct(sc, call.Args[1], needs)
			case "fmt.Sprintf":
				for _, arg := range call.Args {
					if !a.ct(sc, arg, needs) {
						return false
					}
				}
				return len(call.Args) > 0
			}
		}
	}
	if id, ok := call.Fun.(*ast.Ident); ok && id.Obj == nil {
		switch id.Name {
		case "make":
			return true // empty or zero values
		case "append":
			for _, arg := range call.Args {
				if !a.ct(sc, arg, needs) {
					return false
				}
			}
			return true
		}
	}
	// The module's own functions: f(...) of this package, pkg.F(...) of
	// another, x.m(...) for an unexported method of this package (an
	// exported method name could be any type's, String of a
	// strings.Builder as well as ours). Every declaration the call may
	// reach must return constant text.
	var pkgPath, name string
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		pkgPath, name = sc.p.path, fn.Name
	case *ast.SelectorExpr:
		name = fn.Sel.Name
		if x, ok := fn.X.(*ast.Ident); ok && x.Obj == nil && sc.imports[x.Name] != "" {
			pkgPath = sc.imports[x.Name]
		} else if !ast.IsExported(name) {
			pkgPath = sc.p.path
		} else {
			return false
		}
	default:
		return false
	}
	_, plain := call.Fun.(*ast.Ident)
	found := false
	for _, d := range a.decls[name] {
		if d.p.path != pkgPath || (d.fd.Recv == nil) != (plain || pkgPath != sc.p.path) {
			continue
		}
		args, ok := a.builder(d)
		if !ok {
			return false
		}
		for _, i := range args {
			if i >= len(call.Args) || !a.ct(sc, call.Args[i], needs) {
				return false
			}
		}
		found = true
	}
	return found
}

// builder tells whether every result d returns is built from constant
// text and from the parameters it lists.
func (a *auditor) builder(d declIn) ([]int, bool) {
	if args, ok := a.builders[d.fd]; ok {
		return args, args != nil
	}
	if a.busy[d.fd] || d.fd.Body == nil || d.fd.Type.Results == nil || d.fd.Type.Results.NumFields() != 1 {
		return nil, false
	}
	a.busy[d.fd] = true
	defer delete(a.busy, d.fd)
	sc := scope{p: d.p, imports: d.imports, fd: d.fd}
	needs := map[int]bool{}
	ok, returns := true, 0
	ast.Inspect(d.fd.Body, func(n ast.Node) bool {
		if _, lit := n.(*ast.FuncLit); lit {
			return false
		}
		if r, isRet := n.(*ast.ReturnStmt); isRet {
			returns++
			if len(r.Results) != 1 || !a.ct(sc, r.Results[0], needs) {
				ok = false
			}
		}
		return ok
	})
	if !ok || returns == 0 {
		a.builders[d.fd] = nil
		return nil, false
	}
	args := sortedKeys(needs)
	a.builders[d.fd] = args
	return args, true
}

// ctPackageVar tells whether a package variable holds constant text only:
// declared with such a value and never assigned in the package.
func (a *auditor) ctPackageVar(sc scope, name string) bool {
	var value ast.Expr
	var spec *ast.ValueSpec
	for _, f := range sc.p.files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name == name && len(vs.Values) == len(vs.Names) {
						value, spec = vs.Values[i], vs
					}
				}
			}
		}
	}
	if value == nil || !a.ct(sc, value, map[int]bool{}) {
		return false
	}
	for _, f := range sc.p.files {
		assigned := false
		ast.Inspect(f, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok {
				for _, lhs := range as.Lhs {
					if ix, ok := lhs.(*ast.IndexExpr); ok {
						lhs = ix.X
					}
					if id, ok := lhs.(*ast.Ident); ok && id.Name == name && (id.Obj == nil || id.Obj.Decl == spec) {
						assigned = true
					}
				}
			}
			return !assigned
		})
		if assigned {
			return false
		}
	}
	return true
}

// ctLocal tells whether the local variable obj of sc's function is only
// ever given constant text (declared, assigned or appended with +=), or,
// a closure's parameter, is given constant text at every call.
func (a *auditor) ctLocal(sc scope, obj *ast.Object, needs map[int]bool) bool {
	if field, ok := obj.Decl.(*ast.Field); ok {
		return a.ctClosureParam(sc, field, obj, needs)
	}
	// v = append(v, ...) reads v while v is being decided: what it held
	// before is decided by its other assignments.
	if a.locals[obj] {
		return true
	}
	a.locals[obj] = true
	defer delete(a.locals, obj)
	ok, seen := true, false
	ast.Inspect(sc.fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				// v = ..., and v[i] = ... for a slice of text.
				if ix, isIx := lhs.(*ast.IndexExpr); isIx {
					lhs = ix.X
				}
				id, isID := lhs.(*ast.Ident)
				if !isID || id.Obj != obj {
					continue
				}
				seen = true
				switch {
				case len(n.Rhs) == 1 && len(n.Lhs) <= 2 && isRange(n.Rhs[0]):
					// for k, v := range x: text when x holds text.
					if !a.ct(sc, n.Rhs[0].(*ast.UnaryExpr).X, needs) {
						ok = false
					}
				case len(n.Rhs) != len(n.Lhs) || (n.Tok != token.DEFINE && n.Tok != token.ASSIGN && n.Tok != token.ADD_ASSIGN) ||
					!a.ct(sc, n.Rhs[i], needs):
					ok = false
				}
			}
		case *ast.RangeStmt:
			for _, x := range []ast.Expr{n.Key, n.Value} {
				if id, isID := x.(*ast.Ident); isID && id.Obj == obj {
					seen = true
					if !a.ct(sc, n.X, needs) {
						ok = false
					}
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Obj != obj {
					continue
				}
				seen = true
				if len(n.Values) == 0 {
					continue // the zero value
				}
				if len(n.Values) != len(n.Names) || !a.ct(sc, n.Values[i], needs) {
					ok = false
				}
			}
		case *ast.UnaryExpr:
			// Its address taken: anything may write it.
			if id, isID := n.X.(*ast.Ident); isID && n.Op == token.AND && id.Obj == obj {
				ok = false
			}
		}
		return ok
	})
	return ok && seen
}

// isRange tells whether e is the "range x" of a range clause as the
// parser records it.
func isRange(e ast.Expr) bool {
	u, ok := e.(*ast.UnaryExpr)
	return ok && u.Op == token.RANGE
}

// ctClosureParam tells whether a parameter of a function literal assigned
// to a local variable is given constant text at every call of it.
func (a *auditor) ctClosureParam(sc scope, field *ast.Field, obj *ast.Object, needs map[int]bool) bool {
	var fn *ast.Object // the variable holding the literal
	idx := -1
	ast.Inspect(sc.fd.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return fn == nil
		}
		lit, ok := as.Rhs[0].(*ast.FuncLit)
		id, isID := as.Lhs[0].(*ast.Ident)
		if ok && isID {
			if i := paramIndex(lit.Type, obj); i >= 0 {
				fn, idx = id.Obj, i
			}
		}
		return fn == nil
	})
	if fn == nil {
		return false
	}
	ok, calls := true, 0
	ast.Inspect(sc.fd.Body, func(n ast.Node) bool {
		call, isCall := n.(*ast.CallExpr)
		if !isCall {
			return ok
		}
		if id, isID := call.Fun.(*ast.Ident); isID && id.Obj == fn {
			calls++
			if idx >= len(call.Args) || !a.ct(sc, call.Args[idx], needs) {
				ok = false
			}
		}
		return ok
	})
	return ok && calls > 0
}

// audit finds the SQL calls of the module whose SQL is not built from
// constant text only.
func (m *module) audit() (sites []site, wrappers []string, calls int) {
	a := &auditor{m: m, sinks: map[string][]sink{}, builders: map[*ast.FuncDecl][]int{}, busy: map[*ast.FuncDecl]bool{}, locals: map[*ast.Object]bool{}, decls: map[string][]declIn{}}
	for name, arg := range sqlMethods {
		a.sinks[name] = []sink{{args: []int{arg}, via: "database/sql"}}
	}
	paths := sortedKeys(m.pkgs)
	type fileIn struct {
		name string
		f    *ast.File
		p    *pkg
	}
	var files []fileIn
	for _, ip := range paths {
		p := m.pkgs[ip]
		if inTestOnly(p.dir) {
			continue
		}
		for _, name := range sortedKeys(p.files) {
			files = append(files, fileIn{name, p.files[name], p})
			imports := importsOf(p.files[name])
			for _, decl := range p.files[name].Decls {
				if fd, ok := decl.(*ast.FuncDecl); ok {
					a.decls[fd.Name.Name] = append(a.decls[fd.Name.Name], declIn{fd, p, imports})
				}
			}
		}
	}
	// each calls fn for every SQL call of the module, with the arguments
	// its SQL is built from.
	each := func(fn func(sc scope, call *ast.CallExpr, args []ast.Expr, rel string)) {
		for _, fi := range files {
			rel, _ := filepath.Rel(m.root, fi.name)
			sc := scope{p: fi.p, imports: importsOf(fi.f)}
			for _, decl := range fi.f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				sc.fd = fd
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if call, ok := n.(*ast.CallExpr); ok {
						if args, _ := a.sqlArgs(fi.p, call); args != nil {
							fn(sc, call, args, filepath.ToSlash(rel))
						}
					}
					return true
				})
			}
		}
	}
	// Wrappers and builders first, to a fixed point: a function whose SQL
	// is built from its own parameters is a sink for its callers.
	for changed := true; changed; {
		changed = false
		each(func(sc scope, call *ast.CallExpr, args []ast.Expr, rel string) {
			needs := map[int]bool{}
			for _, arg := range args {
				if !a.ct(sc, arg, needs) {
					return
				}
			}
			// Only an unexported function may build SQL from its
			// parameters: its callers are all in view, in its package. An
			// exported one is reported at its own SQL call.
			name := sc.fd.Name.Name
			if len(needs) == 0 || ast.IsExported(name) {
				return
			}
			s := sink{args: sortedKeys(needs), via: sc.p.dir + ":" + funcName(sc.fd), pkg: sc.p.path}
			for _, old := range a.sinks[name] {
				if old.via == s.via {
					return
				}
			}
			a.sinks[name] = append(a.sinks[name], s)
			wrappers = append(wrappers, s.via)
			changed = true
		})
	}
	each(func(sc scope, call *ast.CallExpr, args []ast.Expr, rel string) {
		calls++
		wrapper := slices.Contains(wrappers, sc.p.dir+":"+funcName(sc.fd))
		for _, arg := range args {
			needs := map[int]bool{}
			if a.ct(sc, arg, needs) && (len(needs) == 0 || wrapper) {
				continue
			}
			pos := m.fset.Position(arg.Pos())
			sites = append(sites, site{
				key:    rel + ":" + funcName(sc.fd),
				pos:    fmt.Sprintf("%s:%d:%d", rel, pos.Line, pos.Column),
				callee: calleeName(call),
				expr:   m.text(arg),
			})
		}
	})
	return sites, wrappers, calls
}

// importsOf maps a file's import names to their paths.
func importsOf(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, im := range f.Imports {
		path, err := strconv.Unquote(im.Path.Value)
		if err != nil {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		out[name] = path
	}
	return out
}

// text is the source of e, shortened.
func (m *module) text(e ast.Expr) string {
	start, end := m.fset.Position(e.Pos()), m.fset.Position(e.End())
	data, err := os.ReadFile(start.Filename)
	if err != nil || end.Offset > len(data) {
		return "?"
	}
	s := strings.Join(strings.Fields(string(data[start.Offset:end.Offset])), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// TestSQLIsConstant: every SQL call of the module takes constant SQL text,
// or is a reviewed site of allowed; values travel as parameters.
func TestSQLIsConstant(t *testing.T) {
	m := loadModule(t)
	sites, wrappers, calls := m.audit()
	found := map[string][]site{}
	for _, s := range sites {
		found[s.key] = append(found[s.key], s)
		if _, ok := allowed[s.key]; !ok {
			t.Errorf("%s: %s takes SQL not built from constant text only: %s\n\tpass values as ? parameters; if the text must be built (identifiers), build it from checked names and add %q to allowed with the reason",
				s.pos, s.callee, s.expr, s.key)
		}
	}
	for key := range allowed {
		if found[key] == nil {
			t.Errorf("allowed lists %s, which has no non-constant SQL any more: remove it", key)
		}
	}
	if calls < 100 {
		t.Errorf("only %d SQL calls found: the audit does not see the module's SQL", calls)
	}
	for _, ip := range sortedKeys(m.pkgs) {
		p := m.pkgs[ip]
		if inTestOnly(p.dir) {
			continue
		}
		for name, f := range p.files {
			for path := range importsOfPaths(f) {
				if other := m.pkgs[path]; other != nil && inTestOnly(other.dir) && !inTestOnly(p.dir) && p.dir != "cmd/pointsync-bench" {
					t.Errorf("%s imports %s, a test-only package", name, path)
				}
			}
		}
	}
	for dir := range testOnly {
		if !slices.ContainsFunc(sortedKeys(m.pkgs), func(ip string) bool { return m.pkgs[ip].dir == dir }) {
			t.Errorf("testOnly lists %s, which is no package of the module", dir)
		}
	}
	t.Logf("%d SQL calls in %d packages, %d wrappers (%s), %d reviewed sites", calls, len(m.pkgs), len(wrappers), strings.Join(wrappers, ", "), len(sites))
}

func importsOfPaths(f *ast.File) map[string]bool {
	out := map[string]bool{}
	for _, path := range importsOf(f) {
		out[path] = true
	}
	return out
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
