package server

import (
	"bytes"
	"errors"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/bulk"
	"github.com/pointsync/pointsync/csvio"
)

// uiImportPage is the outcome of an import upload.
type uiImportPage struct {
	Name   string
	Result bulk.ImportResult
	// Stopped tells that bad rows stopped the import: nothing applied.
	Stopped bool
	// More is how many bad rows the report has beyond those listed.
	More    int
	Options struct{ SkipInvalid, CreateCustomers, DryRun bool }
}

// importFile applies an uploaded adjustment file as `pointsync import`
// does, and shows what happened with the bad rows' line, column, value
// and reason.
func (u *ui) importFile(w http.ResponseWriter, r *http.Request, v *uiView) error {
	f, hdr, err := r.FormFile("file")
	if err != nil {
		v.Error = &uiPageError{Status: http.StatusBadRequest, Key: "err.no_file"}
		return u.showProgram(w, v, http.StatusBadRequest, uiProgramPage{})
	}
	defer f.Close()
	d, cols, err := u.s.conf.Import.Dialect()
	if err != nil {
		return err
	}
	pg := uiImportPage{Name: uiUploadName(hdr.Filename)}
	pg.Options.SkipInvalid = r.PostForm.Get("skip_invalid") == "yes"
	pg.Options.CreateCustomers = r.PostForm.Get("create_customers") == "yes"
	pg.Options.DryRun = r.PostForm.Get("dry_run") == "yes"
	res, err := bulk.Import(r.Context(), u.s.ledger, f, bulk.ImportOptions{
		Program: v.Program.Rules, Dialect: d, Columns: cols, Name: pg.Name,
		SkipInvalid: pg.Options.SkipInvalid, CreateCustomers: pg.Options.CreateCustomers, DryRun: pg.Options.DryRun,
		Actor: "ui:" + v.User,
	})
	pg.Result = res
	pg.More = res.Rejected - len(res.Errors)
	status := http.StatusOK
	var rej *bulk.RejectedError
	switch {
	case errors.As(err, &rej):
		pg.Stopped = true
		status = http.StatusUnprocessableEntity
		v.Error = &uiPageError{Status: status, Key: "err.import_rejected", Args: []any{rej.Rows}}
	case err != nil:
		v.Error = v.explain(err)
		if v.Error.Status >= 500 {
			// A file that cannot be read (its header, its encoding) is
			// the file's fault: the import's message says what to fix.
			v.Error = &uiPageError{Status: http.StatusBadRequest, Key: "err.import_failed", Detail: err.Error()}
		}
		status = v.Error.Status
	}
	u.s.log.Info("import from the admin web UI", zap.String("file", pg.Name), zap.String("program", v.Program.ID),
		zap.Int("applied", res.Applied), zap.Int("replayed", res.Replayed), zap.Int("rejected", res.Rejected),
		zap.Bool("dry_run", pg.Options.DryRun), zap.String("actor", "ui:"+v.User), zap.NamedError("outcome", err))
	return u.render(w, v, status, "import_result", pg)
}

// uiUploadName is an uploaded file's base name, fit for messages.
func uiUploadName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if !utf8.ValidString(name) || name == "." || name == "/" {
		name = "upload.csv"
	}
	if len(name) > 120 {
		name = name[:120]
	}
	return name
}

// exportFile downloads every balance of the program as the export CSV
// (cards=1: one row per card, as the tills read it).
func (u *ui) exportFile(w http.ResponseWriter, r *http.Request, v *uiView) error {
	d, err := u.s.conf.Export.Dialect()
	if err != nil {
		return err
	}
	cards := r.FormValue("cards") == "1"
	// Written whole first: an error halfway must be an error page, not a
	// cut file the browser saves as if complete.
	var buf bytes.Buffer
	n, err := bulk.Export(r.Context(), u.s.ledger, &buf, bulk.ExportOptions{Program: v.Program.Rules, Dialect: d, CardsOnly: cards})
	if err != nil {
		return err
	}
	charset := "utf-8"
	if d.Encoding == csvio.EncodingWindows1252 {
		charset = "windows-1252"
	}
	name := v.Program.ID + "-balances-" + u.s.clock().In(v.zone()).Format("20060102")
	if cards {
		name += "-cards"
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset="+charset)
	h.Set("Content-Disposition", `attachment; filename="`+uiFileName(name)+`.csv"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	u.s.log.Info("export from the admin web UI", zap.String("program", v.Program.ID), zap.Int("rows", n),
		zap.Bool("cards_only", cards), zap.String("actor", "ui:"+v.User))
	_, _ = buf.WriteTo(w) // the browser went away; nothing to tell it
	return nil
}

// uiFileName keeps the characters safe in a Content-Disposition file name.
func uiFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
