package server

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/bulk"
	"github.com/pointsync/pointsync/ledger"
)

// upload sends body as is with contentType and the admin token.
func (ts *testServer) upload(path, contentType string, body []byte) response {
	ts.t.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// multipartFile is a form with the field "file" holding content.
func multipartFile(t *testing.T, field, filename, content string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("comment", "ignored"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(fw, content); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.Bytes()
}

// importAnswer is the JSON answer of an import, accepted or refused.
type importAnswer struct {
	Error *Error `json:"error"`
	bulk.ImportResult
}

const oneBadRow = "customer;points;note\nweb:1;10;first\nweb:2;ten;second\nweb:3;30;third\n"

func TestAdminImport(t *testing.T) {
	ts := newTestServer(t)
	for _, c := range []string{"web:1", "web:2", "web:3"} {
		ts.credit("loyalty", c, 100)
	}
	earned := func() (out [3]int64) {
		for i, c := range []string{"web:1", "web:2", "web:3"} {
			out[i] = ts.balanceOf("loyalty", c).Earned
		}
		return out
	}
	path := apiPath("programs", "loyalty", "import")

	// One bad row among three: nothing applied.
	r := ts.upload(path, "text/csv", []byte(oneBadRow))
	var a importAnswer
	r.JSON(t, &a)
	if r.Status != http.StatusUnprocessableEntity || a.Error == nil || a.Error.Code != CodeImportRejected || a.Rejected != 1 ||
		len(a.Errors) != 1 || a.Errors[0].Line != 3 || a.Errors[0].Column != "points" || a.Applied != 0 {
		t.Fatalf("one bad row: %d %s", r.Status, r.Body)
	}
	if got := earned(); got != [3]int64{100, 100, 100} {
		t.Fatalf("a refused import changed balances: %v", got)
	}

	// A dry run with skip_invalid says what would happen and saves nothing.
	r = ts.upload(path+"?skip_invalid=1&dry_run=1", "text/csv", []byte(oneBadRow))
	a = importAnswer{}
	r.JSON(t, &a)
	if r.Status != 200 || a.Applied != 2 || !a.DryRun || a.Rejected != 1 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	if got := earned(); got != [3]int64{100, 100, 100} {
		t.Fatalf("a dry run changed balances: %v", got)
	}

	// skip_invalid: two applied, the bad row named by its line.
	r = ts.upload(path+"?skip_invalid=true", "text/csv; charset=utf-8", []byte(oneBadRow))
	a = importAnswer{}
	r.JSON(t, &a)
	if r.Status != 200 || a.Applied != 2 || a.Rejected != 1 || len(a.Errors) != 1 || a.Errors[0].Line != 3 || a.Errors[0].Reason == "" || a.Error != nil {
		t.Fatalf("skip_invalid: %d %s", r.Status, r.Body)
	}
	if got := earned(); got != [3]int64{110, 100, 130} {
		t.Fatalf("after skip_invalid: %v, want [110 100 130]", got)
	}
	// The same content again, as a form upload under another name: replayed.
	ct, body := multipartFile(t, "file", `C:\exports\again.csv`, oneBadRow)
	r = ts.upload(path+"?skip_invalid=1", ct, body)
	a = importAnswer{}
	r.JSON(t, &a)
	if r.Status != 200 || a.Applied != 0 || a.Replayed != 2 {
		t.Fatalf("same content again: %d %s", r.Status, r.Body)
	}
	if got := earned(); got != [3]int64{110, 100, 130} {
		t.Fatalf("a replayed import changed balances: %v", got)
	}
	ms := ts.movementsOf("loyalty", "web:3")
	if ms[0].Source != ledger.SourceImport || ms[0].Actor != "api:office" || ms[0].Note != "third" {
		t.Fatalf("imported movement: %+v", ms[0])
	}

	// Unknown customers are rows the ledger refuses, unless created.
	r = ts.upload(path, "text/csv", []byte("customer;points\nweb:50;5\n"))
	a = importAnswer{}
	r.JSON(t, &a)
	if r.Status != http.StatusUnprocessableEntity || a.Rejected != 1 || a.Errors[0].Column != "customer" {
		t.Fatalf("unknown customer: %d %s", r.Status, r.Body)
	}
	r = ts.upload(path+"?create_customers=1", "text/csv", []byte("customer;points\nweb:50;5\n"))
	if r.Status != 200 || ts.balanceOf("loyalty", "web:50").Earned != 5 {
		t.Fatalf("create_customers: %d %s", r.Status, r.Body)
	}

	tests := []struct {
		name, path, ct string
		body           string
		status         int
		code, field    string
	}{
		{"bad header", path, "text/csv", "who;what\nweb:1;5\n", 400, CodeBadRequest, "file"},
		{"empty", path, "text/csv", "", 400, CodeBadRequest, "file"},
		{"JSON", path, "application/json", `{"rows": []}`, 415, CodeUnsupportedMedia, "Content-Type"},
		{"no content type", path, "", oneBadRow, 415, CodeUnsupportedMedia, "Content-Type"},
		{"unknown flag", path + "?skip=1", "text/csv", oneBadRow, 400, CodeBadRequest, "skip"},
		{"flag value", path + "?dry_run=perhaps", "text/csv", oneBadRow, 400, CodeBadRequest, "dry_run"},
		{"unknown program", apiPath("programs", "nope", "import"), "text/csv", oneBadRow, 404, CodeUnknownProgram, "program"},
		{"form without file", path, "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--xyz--\r\n", 400, CodeBadRequest, "file"},
		{"form without boundary", path, "multipart/form-data", "x", 400, CodeBadRequest, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.upload(tt.path, tt.ct, []byte(tt.body))
			var e errorBody
			r.JSON(t, &e)
			if r.Status != tt.status || e.Error == nil || e.Error.Code != tt.code || e.Error.Field != tt.field {
				t.Fatalf("got %d %s, want %d %s field %s", r.Status, r.Body, tt.status, tt.code, tt.field)
			}
		})
	}
	if got := earned(); got != [3]int64{110, 100, 130} {
		t.Fatalf("refused uploads changed balances: %v", got)
	}
}

func TestAdminImportTooLarge(t *testing.T) {
	ts := newTestServer(t, withYAML(func(s string) string {
		return strings.Replace(s, "server:\n", "server:\n  max_upload: 1024\n", 1)
	}))
	ts.credit("loyalty", "web:1", 10)
	big := "customer;points;note\n" + strings.Repeat("web:1;1;"+strings.Repeat("x", 40)+"\n", 40)
	small := "customer;points;note\nweb:1;1;fits\n"
	ct, form := multipartFile(t, "file", "big.csv", big)
	for _, tt := range []struct {
		name, ct string
		body     []byte
		status   int
	}{
		{"body", "text/csv", []byte(big), 413},
		{"form", ct, form, 413},
		{"small", "text/csv", []byte(small), 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.upload(apiPath("programs", "loyalty", "import"), tt.ct, tt.body)
			if r.Status != tt.status || (tt.status == 413 && r.ErrorCode() != CodeTooLarge) {
				t.Fatalf("got %d %s, want %d", r.Status, r.Body, tt.status)
			}
		})
	}
	if b := ts.balanceOf("loyalty", "web:1"); b.Earned != 11 {
		t.Fatalf("earned %d, want 11: only the small file applies", b.Earned)
	}
}

func TestAdminExport(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 120)
	ts.credit("loyalty", "card:0420001234", 30)
	if err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error { return tx.Link("web:1", "email:ann@example.com") }); err != nil {
		t.Fatal(err)
	}
	ts.credit("e4-redemption-limits", "web:9", 5)
	r := ts.do("GET", apiPath("programs", "loyalty", "export"), tokAdmin, nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="loyalty-balances-2026-03-10.csv"` {
		t.Errorf("content disposition %q", cd)
	}
	want := "customer;identifiers;earned;provisional;spent;expired;expiring\r\n" +
		"email:ann@example.com;email:ann@example.com web:1;120;0;0;0;\r\n" +
		"card:0420001234;card:0420001234;30;0;0;0;\r\n"
	if got := strings.ReplaceAll(string(r.Body), "\r\n", "\n"); got != strings.ReplaceAll(want, "\r\n", "\n") {
		t.Fatalf("export:\n%s\nwant:\n%s", r.Body, want)
	}
	for _, tt := range []struct {
		path   string
		status int
		code   string
	}{
		{apiPath("programs", "nope", "export"), 404, CodeUnknownProgram},
		{apiPath("programs", "loyalty", "export") + "?format=xlsx", 400, CodeBadRequest},
	} {
		if r := ts.do("GET", tt.path, tokAdmin, nil); r.Status != tt.status || r.ErrorCode() != tt.code {
			t.Errorf("GET %s: %d %s", tt.path, r.Status, r.Body)
		}
	}
}
