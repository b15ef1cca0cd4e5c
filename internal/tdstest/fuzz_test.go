package tdstest

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The decoders read bytes from the network and the translator reads
// whatever SQL a test sends: none may panic, whatever the input.

func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		"SELECT TOP (5) a FROM dbo.t WITH (NOLOCK) WHERE b = N'x' ORDER BY a OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY",
		"SET NOCOUNT ON; BEGIN TRAN; INSERT INTO t (a) OUTPUT INSERTED.id VALUES (@p1); COMMIT",
		"CREATE TABLE #t (id INT IDENTITY(1,1) PRIMARY KEY, n NVARCHAR(10) DEFAULT N'x' COLLATE Latin1_General_CS_AS, rv ROWVERSION, CONSTRAINT c CHECK (id > 0), INDEX ix (n))",
		"ALTER TABLE t ADD c DECIMAL(10,2) NULL, d DATETIME2 DEFAULT GETDATE()",
		"ALTER TABLE t DROP COLUMN c, d",
		"DROP TABLE IF EXISTS a, #b",
		"CREATE UNIQUE NONCLUSTERED INDEX ix ON t (a) INCLUDE (b) WHERE a > 0 WITH (ONLINE = ON)",
		"DROP INDEX ix ON t",
		"SELECT CAST(x AS DECIMAL(10,2)), CONVERT(nvarchar(max), y, 120), DATEADD(dd, -1, @d), x = 1, 0xABC, @@TRANCOUNT, [a]]b] FROM erp..t",
		"WITH c AS (SELECT TOP 1 a FROM t) SELECT * FROM c /* nested /* comment */ */ -- end",
		"WAITFOR DELAY '00:00:01'; PRINT N'x'; USE erp",
		"SELECT 'unterminated",
		"SELECT ((((",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		stmts, err := splitBatch(sql)
		if err != nil {
			var se *sqlError
			if !errors.As(err, &se) {
				t.Fatalf("splitBatch error %T is not a SQL Server error: %v", err, err)
			}
			return
		}
		e := &env{database: "erp", params: map[string]sqlType{"p1": typeInt}}
		for _, st := range stmts {
			x := &xlat{env: e, params: map[string]bool{}}
			toks, err := x.normalize(st.toks)
			if err != nil {
				continue
			}
			switch st.kind {
			case skCreateTable:
				if def, err := x.parseCreateTable(toks); err == nil {
					_ = def.sqliteCreateTable()
				}
			case skAlterTable:
				_, _, _ = x.parseAlterTable(toks)
			case skDropTable:
				_, _, _ = parseDropTable(toks)
			case skSQL:
				_, _, _ = translateIndex(toks)
				_, _ = translate(st.toks, e)
			case skUnsupported:
				_ = unsupportedError(st)
			}
		}
	})
}

func FuzzReadMessage(f *testing.F) {
	f.Add(packets(pktSQLBatch, stResetConn, []byte("hello"), 512))
	f.Add(packets(pktRPC, 0, bytes.Repeat([]byte{1}, 2000), 512))
	f.Add(append(packets(pktRPC, stIgnore, []byte("x"), 512), packets(pktAttention, 0, nil, 512)...))
	f.Add([]byte{0x16, 0x03, 0x01, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			m, err := readMessage(r)
			if err != nil {
				return
			}
			if len(m.data) > maxMessage {
				t.Fatalf("message of %d bytes passed the limit", len(m.data))
			}
		}
	})
}

func FuzzParsePrelogin(f *testing.F) {
	f.Add(preloginBytes(encryptOff))
	f.Add(preloginReply())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parsePrelogin(data)
	})
}

func FuzzParseLogin7(f *testing.F) {
	f.Add(login7Bytes("sa", "Loopback-1", "erp", 4096, nil))
	f.Add(login7Bytes("utente", "pässword", "", 32767, []byte{featFedAuth, 2, 0, 0, 0, 1, 2, featTerminator}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseLogin7(data)
	})
}

func FuzzParseRPC(f *testing.F) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	f.Add(executeSQLBytes("SELECT @p1", "@p1 int", paramBytes("@p1", 0, []byte{tyIntN, 4, 4, 1, 0, 0, 0})))
	f.Add(executeSQLBytes("SELECT @d", "@d datetime2", paramBytes("@d", 0, cat([]byte{tyDateTime2N, 7, 8}, dt2(ts)))))
	f.Add(rpcBytes(0, "sp_executesql", paramBytes("", 0, cat([]byte{tyNVarChar, 0xff, 0xff}, collationLatin1, le64(2), le32(2), []byte{'a', 0}, le32(0)))))
	f.Add(rpcBytes(procExecuteSQL, "", paramBytes("@m", 1, cat([]byte{tyMoneyN, 8, 8}, le32(0), le32(1))), paramBytes("@x", 0, cat([]byte{tyDecimalN, 17, 38, 4, 17, 0}, le64(1), le64(2)))))
	f.Add(rpcBytes(procExecuteSQL, "", paramBytes("@t", 0, cat([]byte{tyNText}, le32(10), collationLatin1, []byte{16}, make([]byte, 24), le32(2), []byte{'z', 0}))))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpc, _, err := parseRPC(data)
		if err != nil {
			return
		}
		for _, p := range rpc.params {
			switch p.value.(type) {
			case nil, int64, float64, string, []byte:
			default:
				t.Fatalf("parameter %s decoded to %T, which SQLite cannot bind", p.name, p.value)
			}
			_ = p.typ.String()
		}
	})
}

func FuzzParseBatchAndTM(f *testing.F) {
	f.Add(cat(allHeadersBytes(0), appendUCS2(nil, "SELECT 1")))
	f.Add(cat(allHeadersBytes(7), le16(tmCommit), []byte{0, 1, 2, 0}))
	f.Add(cat(allHeadersBytes(0), le16(tmBegin), []byte{0, 1, 'x', 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = parseSQLBatch(data)
		_, _, _ = parseTMRequest(data)
	})
}

func FuzzValues(f *testing.F) {
	for _, s := range []string{"2024-01-15T10:00:05.1234567+01:00", "20240115 7:08", "12345.6789", "-0.01", "decimal(10, 2)", "nvarchar(max)", "FF19966F-868B-11D0-B42D-00C04FC964FF", "00:00:05.5", "15.01.2024 10:30", "2024-01-15 10"} {
		f.Add(s)
	}
	types := []string{"INT", "TINYINT", "BIT", "DECIMAL(38,10)", "MONEY", "SMALLMONEY", "REAL", "DATETIME2(3)", "DATETIME", "SMALLDATETIME", "DATE", "TIME(7)", "DATETIMEOFFSET(0)", "NVARCHAR(5)", "VARCHAR(MAX)", "BINARY(3)", "UNIQUEIDENTIFIER"}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = parseTimeText(s)
		_, _ = parseDelay(s)
		for _, style := range []int64{103, 112, 120, 126} {
			_, _ = convertStyled(s, "VARCHAR(30)", style)
			_, _ = convertStyled(s, "DATETIME2(3)", style)
		}
		if typ, err := parseType(s); err == nil {
			if back, err := parseType(typ.String()); err != nil || back != typ {
				t.Fatalf("type %q renders as %q, which reads back as %v, %v", s, typ.String(), back, err)
			}
			_ = typ.appendTypeInfo(nil)
		}
		for _, name := range types {
			typ, err := parseType(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []any{s, []byte(s), int64(len(s)) - 3, float64(len(s)) / 7} {
				stored, err := castValue(v, name)
				if err != nil {
					continue
				}
				if _, err := typ.appendValue(nil, stored); err != nil {
					t.Fatalf("CAST(%#v AS %s) = %#v, which the wire encoder refuses: %v", v, name, stored, err)
				}
			}
		}
	})
}
