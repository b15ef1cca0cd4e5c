package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/bulk"
	"github.com/pointsync/pointsync/csvio"
)

// csvMediaTypes are the Content-Types an import body may have besides
// multipart/form-data: browsers on Windows label CSV files as Excel's.
var csvMediaTypes = []string{"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream"}

// uploadName makes a client's file name fit for messages: its base name,
// printable, at most 100 characters.
func uploadName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if name == "" || name == "." || name == "/" {
		return "upload.csv"
	}
	return clipText(name, 100)
}

// spoolUpload copies the import file of r (the body, or the multipart
// field "file") to a temporary file, at most server.max_upload bytes. The
// caller removes the file.
func (s *Server) spoolUpload(w http.ResponseWriter, r *http.Request) (f *os.File, name string, err error) {
	ct := r.Header.Get("Content-Type")
	mt, params, perr := mime.ParseMediaType(ct)
	if ct == "" || perr != nil {
		return nil, "", errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type",
			"send the CSV file as the body with Content-Type text/csv, or as the field \"file\" of a multipart/form-data form")
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
	var src io.Reader
	switch {
	case mt == "multipart/form-data":
		if params["boundary"] == "" {
			return nil, "", badRequest("Content-Type", "multipart/form-data without a boundary")
		}
		r.Body = body // the parts are read through the limit
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", badRequest("file", "the form cannot be read: %v", err)
		}
		for src == nil {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, "", badRequest("file", "the form has no field \"file\": send the CSV file in it")
			}
			if err != nil {
				return nil, "", uploadError(err, s.cfg.MaxUpload)
			}
			if part.FormName() == "file" {
				src, name = part, part.FileName()
			}
		}
	case slices.Contains(csvMediaTypes, mt):
		src = body
		if _, p, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			name = p["filename"]
		}
	default:
		return nil, "", errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type",
			"send the CSV file as text/csv or in a multipart/form-data form, not as %s", clipText(mt, 60))
	}
	f, err = os.CreateTemp("", "pointsync-upload-*.csv")
	if err != nil {
		return nil, "", fmt.Errorf("import: spool the upload: %w", err)
	}
	n, err := io.Copy(f, src)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", uploadError(err, s.cfg.MaxUpload)
	}
	if n == 0 {
		f.Close()
		os.Remove(f.Name())
		return nil, "", badRequest("file", "the file is empty: send a CSV file with a header line and rows")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", fmt.Errorf("import: rewind the upload: %w", err)
	}
	return f, uploadName(name), nil
}

// uploadError explains a failed upload read.
func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "file", "the upload is larger than %d bytes (server.max_upload)", limit)
	}
	return badRequest("file", "the upload could not be read: %v", err)
}

// importRejected is the body of a 422: the error, and the rows at fault.
type importRejected struct {
	Error *Error `json:"error"`
	bulk.ImportResult
}

// adminImport applies a CSV file of bulk adjustments (SPEC 3.6): checked
// whole first, applied in one transaction; bad rows stop it unless
// skip_invalid. Importing the same content again changes nothing.
func (s *Server) adminImport(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	q, err := checkQuery(r, allow("skip_invalid", "create_customers", "dry_run"))
	if err != nil {
		return err
	}
	o := bulk.ImportOptions{Program: p.Program, Actor: actor(r)}
	if o.SkipInvalid, err = q.flag("skip_invalid"); err != nil {
		return err
	}
	if o.CreateCustomers, err = q.flag("create_customers"); err != nil {
		return err
	}
	if o.DryRun, err = q.flag("dry_run"); err != nil {
		return err
	}
	if o.Dialect, o.Columns, err = s.conf.Import.Dialect(); err != nil {
		return err
	}
	f, name, err := s.spoolUpload(w, r)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	o.Name = name
	res, err := bulk.Import(r.Context(), s.ledger, f, o)
	var fe *csvio.FileError
	switch {
	case errors.Is(err, bulk.ErrRejected):
		s.log.Info("import refused", zap.String("program", p.ID), zap.String("file", name), zap.Int("rejected", res.Rejected), zap.String("actor", o.Actor))
		writeJSON(w, http.StatusUnprocessableEntity, importRejected{
			Error:        errorf(http.StatusUnprocessableEntity, CodeImportRejected, "file", "%s", err.Error()),
			ImportResult: res,
		})
		return nil
	case errors.As(err, &fe):
		return badRequest("file", "%s", fe.Error())
	case err != nil:
		return err
	}
	s.log.Info("import", zap.String("program", p.ID), zap.String("file", name), zap.Int("applied", res.Applied),
		zap.Int("replayed", res.Replayed), zap.Int("rejected", res.Rejected), zap.Bool("dry_run", res.DryRun), zap.String("actor", o.Actor))
	writeJSON(w, http.StatusOK, res)
	return nil
}

// adminExport sends every customer's balance of a program as the balance
// CSV, in the configured export dialect. The file is written whole before
// it is sent, so a failure is an error answer, not a cut file.
func (s *Server) adminExport(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	if _, err := checkQuery(r, allow()); err != nil {
		return err
	}
	d, err := s.conf.Export.Dialect()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "pointsync-export-*.csv")
	if err != nil {
		return fmt.Errorf("export: temporary file: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := bulk.Export(r.Context(), s.ledger, f, bulk.ExportOptions{Program: p.Program, Dialect: d})
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	charset := "utf-8"
	if d.Encoding == csvio.EncodingWindows1252 {
		charset = "windows-1252"
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset="+charset)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-balances-%s.csv"`, p.ID, s.clock().In(p.Location).Format("2006-01-02")))
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Rows", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		s.log.Warn("export: the client went away", zap.String("program", p.ID), zap.Error(err))
	}
	return nil
}
