package tdstest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The catalog (table tds_columns, in main for tables and in temp for
// #temp tables) keeps the SQL Server type of every column tdstest
// created: SQLite keeps only an affinity. Result metadata is read from
// it through the origin of each result column.

// catCol is one column in the catalog.
type catCol struct {
	table   string // lower case
	col     string // lower case
	name    string // as declared
	ord     int
	typ     sqlType
	notNull bool
}

func schemaFor(temp bool) string {
	if temp {
		return "temp"
	}
	return "main"
}

// dbConn is what the catalog needs of a session's SQLite connection.
type dbConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func ensureTempCatalog(ctx context.Context, c dbConn) error {
	_, err := c.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+catalogTable+` (tbl TEXT NOT NULL, col TEXT NOT NULL,
		ord INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, not_null INTEGER NOT NULL, PRIMARY KEY (tbl, col)) WITHOUT ROWID`)
	return err
}

func catalogAdd(ctx context.Context, c dbConn, temp bool, table string, cols []colDef, firstOrd int) error {
	if temp {
		if err := ensureTempCatalog(ctx, c); err != nil {
			return err
		}
	}
	q := `INSERT OR REPLACE INTO ` + schemaFor(temp) + `.` + catalogTable + ` (tbl, col, ord, name, type, not_null) VALUES (?, ?, ?, ?, ?, ?)`
	for k, col := range cols {
		if _, err := c.ExecContext(ctx, q, strings.ToLower(table), strings.ToLower(col.name), firstOrd+k, col.name, col.typ.String(), col.notNull); err != nil {
			return fmt.Errorf("record column %s.%s in the catalog: %w", table, col.name, err)
		}
	}
	return nil
}

// catalogColumns returns the columns of table in the catalog of schema,
// in declaration order; none if the table is not there.
func catalogColumns(ctx context.Context, c dbConn, schema, table string) ([]catCol, error) {
	if schema == "temp" {
		if err := ensureTempCatalog(ctx, c); err != nil {
			return nil, err
		}
	}
	rows, err := c.QueryContext(ctx, `SELECT col, name, ord, type, not_null FROM `+schema+`.`+catalogTable+` WHERE tbl = ? ORDER BY ord`, strings.ToLower(table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []catCol
	for rows.Next() {
		cc := catCol{table: strings.ToLower(table)}
		var typ string
		if err := rows.Scan(&cc.col, &cc.name, &cc.ord, &typ, &cc.notNull); err != nil {
			return nil, err
		}
		t, err := cachedType(typ)
		if err != nil {
			return nil, fmt.Errorf("catalog type %q of %s.%s: %w", typ, table, cc.name, err)
		}
		cc.typ = t
		cols = append(cols, cc)
	}
	return cols, rows.Err()
}

func catalogDrop(ctx context.Context, c dbConn, temp bool, table string) error {
	if temp {
		if err := ensureTempCatalog(ctx, c); err != nil {
			return err
		}
	}
	_, err := c.ExecContext(ctx, `DELETE FROM `+schemaFor(temp)+`.`+catalogTable+` WHERE tbl = ?`, strings.ToLower(table))
	return err
}

func catalogDropColumn(ctx context.Context, c dbConn, temp bool, table, col string) error {
	_, err := c.ExecContext(ctx, `DELETE FROM `+schemaFor(temp)+`.`+catalogTable+` WHERE tbl = ? AND col = ?`, strings.ToLower(table), strings.ToLower(col))
	return err
}

// Trigger names, by table.
func triggerNames(table string) []string {
	t := strings.ToLower(table)
	return []string{"tds_rv_ins:" + t, "tds_rv_upd:" + t, "tds_norm_ins:" + t, "tds_norm_upd:" + t}
}

func dropTriggers(ctx context.Context, c dbConn, temp bool, table string) error {
	for _, name := range triggerNames(table) {
		if _, err := c.ExecContext(ctx, `DROP TRIGGER IF EXISTS `+schemaFor(temp)+`.`+quotedIdent(name).text); err != nil {
			return err
		}
	}
	return nil
}

// rebuildTriggers (re)creates the triggers that emulate what SQLite
// lacks for table: the rowversion column, set from the database-wide
// counter on every insert and update, and the normalization of date,
// time and decimal columns to their storage form and precision, so
// that comparisons and ORDER BY are exact whatever form a value came in.
func rebuildTriggers(ctx context.Context, c dbConn, temp bool, table string) error {
	if err := dropTriggers(ctx, c, temp, table); err != nil {
		return err
	}
	cols, err := catalogColumns(ctx, c, schemaFor(temp), table)
	if err != nil {
		return err
	}
	names := triggerNames(table)
	create := "CREATE TRIGGER "
	if temp {
		create = "CREATE TEMP TRIGGER "
	}
	tbl := quotedIdent(table).text
	var norm []catCol
	for _, col := range cols {
		switch {
		case col.typ.rowversion:
			rv := quotedIdent(col.name).text
			body := ` BEGIN UPDATE ` + rowversionTable + ` SET value = value + 1 WHERE id = 1; UPDATE ` + tbl + ` SET ` + rv +
				` = ` + fnCast + `((SELECT value FROM ` + rowversionTable + ` WHERE id = 1), 'BINARY(8)') WHERE rowid = NEW.rowid; END`
			if _, err := c.ExecContext(ctx, create+quotedIdent(names[0]).text+` AFTER INSERT ON `+tbl+` FOR EACH ROW`+body); err != nil {
				return fmt.Errorf("create the rowversion trigger of %s: %w", table, err)
			}
			if _, err := c.ExecContext(ctx, create+quotedIdent(names[1]).text+` AFTER UPDATE ON `+tbl+` FOR EACH ROW WHEN NEW.`+rv+` IS OLD.`+rv+body); err != nil {
				return fmt.Errorf("create the rowversion trigger of %s: %w", table, err)
			}
		case col.typ.isDateTime(), col.typ.kind == kDecimal, col.typ.kind == kMoney:
			norm = append(norm, col)
		}
	}
	if len(norm) == 0 {
		return nil
	}
	var set, differs, of []string
	for _, col := range norm {
		q := quotedIdent(col.name).text
		cast := fnCast + `(` + q + `, '` + col.typ.String() + `')`
		set = append(set, q+` = `+cast)
		differs = append(differs, q+` IS NOT `+cast)
		of = append(of, q)
	}
	body := ` BEGIN UPDATE ` + tbl + ` SET ` + strings.Join(set, ", ") + ` WHERE rowid = NEW.rowid AND (` + strings.Join(differs, " OR ") + `); END`
	if _, err := c.ExecContext(ctx, create+quotedIdent(names[2]).text+` AFTER INSERT ON `+tbl+` FOR EACH ROW`+body); err != nil {
		return fmt.Errorf("create the normalization trigger of %s: %w", table, err)
	}
	if _, err := c.ExecContext(ctx, create+quotedIdent(names[3]).text+` AFTER UPDATE OF `+strings.Join(of, ", ")+` ON `+tbl+` FOR EACH ROW`+body); err != nil {
		return fmt.Errorf("create the normalization trigger of %s: %w", table, err)
	}
	return nil
}

// execCreateTable creates a parsed table: the SQLite table, its inline
// indexes, its catalog rows, its triggers and its IDENTITY seed.
func execCreateTable(ctx context.Context, c dbConn, def tableDef) error {
	if def.ifNotExists {
		existing, err := catalogColumns(ctx, c, schemaFor(def.temp), def.name)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return nil
		}
	}
	if _, err := c.ExecContext(ctx, def.sqliteCreateTable()); err != nil {
		return err
	}
	for _, idx := range def.indexes {
		q := "CREATE "
		if idx.unique {
			q += "UNIQUE "
		}
		q += "INDEX " + schemaFor(def.temp) + "." + quotedIdent(indexName(def.name, idx.name)).text + " ON " + quotedIdent(def.name).text + " " + render(idx.cols)
		if _, err := c.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := catalogAdd(ctx, c, def.temp, def.name, def.cols, 1); err != nil {
		return err
	}
	for _, col := range def.cols {
		if col.identity && col.seed != 1 {
			if _, err := c.ExecContext(ctx, `INSERT INTO `+schemaFor(def.temp)+`.sqlite_sequence (name, seq) VALUES (?, ?)`, def.name, col.seed-1); err != nil {
				return fmt.Errorf("set the IDENTITY seed of %s: %w", def.name, err)
			}
		}
	}
	return rebuildTriggers(ctx, c, def.temp, def.name)
}

// execAlterTable adds or drops columns.
func execAlterTable(ctx context.Context, c dbConn, table string, acts []alterAction) error {
	temp := strings.HasPrefix(table, "#")
	cols, err := catalogColumns(ctx, c, schemaFor(temp), table)
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return errorf(errInvalidObject, "Invalid object name '%s'.", table)
	}
	if err := dropTriggers(ctx, c, temp, table); err != nil {
		return err
	}
	next := cols[len(cols)-1].ord + 1
	tbl := quotedIdent(table).text
	var rowversion string
	for _, a := range acts {
		if a.add != nil {
			col := *a.add
			if col.typ.rowversion {
				for _, cc := range cols {
					if cc.typ.rowversion {
						return errorf(2738, "A table can only have one timestamp column. Because table '%s' already has one, the column '%s' cannot be added.", table, col.name)
					}
				}
				rowversion = col.name
			}
			if _, err := c.ExecContext(ctx, `ALTER TABLE `+tbl+` ADD COLUMN `+quotedIdent(col.name).text+` `+render(col.sqlite)); err != nil {
				return err
			}
			if err := catalogAdd(ctx, c, temp, table, []colDef{col}, next); err != nil {
				return err
			}
			next++
			continue
		}
		if _, err := c.ExecContext(ctx, `ALTER TABLE `+tbl+` DROP COLUMN `+quotedIdent(a.drop).text); err != nil {
			return err
		}
		if err := catalogDropColumn(ctx, c, temp, table, a.drop); err != nil {
			return err
		}
	}
	if err := rebuildTriggers(ctx, c, temp, table); err != nil {
		return err
	}
	if rowversion != "" {
		// give the existing rows their rowversion, as SQL Server does
		q := quotedIdent(rowversion).text
		if _, err := c.ExecContext(ctx, `UPDATE `+tbl+` SET `+q+` = `+q); err != nil {
			return err
		}
	}
	return nil
}

// execDropTable drops tables and their catalog rows.
func execDropTable(ctx context.Context, c dbConn, ifExists bool, names []string) error {
	for _, name := range names {
		temp := strings.HasPrefix(name, "#")
		q := "DROP TABLE "
		if ifExists {
			q += "IF EXISTS "
		}
		if _, err := c.ExecContext(ctx, q+schemaFor(temp)+"."+quotedIdent(name).text); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				return &sqlError{number: 3701, class: 11, msg: fmt.Sprintf("Cannot drop the table '%s', because it does not exist or you do not have permission.", name), cause: err}
			}
			return err
		}
		if err := catalogDrop(ctx, c, temp, name); err != nil {
			return err
		}
	}
	return nil
}
