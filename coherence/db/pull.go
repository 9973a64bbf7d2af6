package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/discoh/discoh/coherence/source"
)

// Row is what one pull found.
type Row struct {
	Found      bool   // false when the query returned no row, or NULL as the value
	Value      []byte // the first column of the first row
	Version    int64  // the second column, when the query has one
	HasVersion bool   // whether Version was returned (and not NULL)
}

// Pull runs src's query with params on src's database, as one autocommit statement (no
// transaction, so it reads the latest committed row), and returns the first row. A query
// that returns other than one or two columns is an error.
func (d *Databases) Pull(ctx context.Context, src *source.Source, params []any) (Row, error) {
	db := d.byName[src.Database]
	if db == nil {
		return Row{}, fmt.Errorf("%w: %q", ErrUnknownDatabase, src.Database)
	}
	d.queries.Add(1)
	row, err := db.query(ctx, src.Query, params)
	switch {
	case err != nil:
		d.failures.Add(1)
	case !row.Found:
		d.notFound.Add(1)
	}
	return row, err
}

func (db *database) query(ctx context.Context, query string, params []any) (Row, error) {
	ctx, cancel := context.WithTimeout(ctx, db.timeout)
	defer cancel()
	rows, err := db.pool.QueryContext(ctx, query, params...)
	if err != nil {
		return Row{}, db.fail(err)
	}
	defer rows.Close()
	row, err := scanFirst(rows)
	if err != nil {
		return Row{}, db.fail(err)
	}
	return row, nil
}

func (db *database) fail(err error) error {
	return fmt.Errorf("%w: db %s: %w", ErrQuery, db.name, err)
}

// scanFirst reads the value and the optional version from the first row.
func scanFirst(rows *sql.Rows) (Row, error) {
	cols, err := rows.Columns()
	if err != nil {
		return Row{}, err
	}
	if len(cols) != 1 && len(cols) != 2 {
		return Row{}, fmt.Errorf("query returns %d columns; want the value and an optional version", len(cols))
	}
	if !rows.Next() {
		return Row{}, rows.Err()
	}
	var value sql.Null[[]byte]
	var version sql.NullInt64
	dest := []any{&value, &version}[:len(cols)]
	if err := rows.Scan(dest...); err != nil {
		return Row{}, err
	}
	return newRow(value, version), nil
}

func newRow(value sql.Null[[]byte], version sql.NullInt64) Row {
	if !value.Valid {
		return Row{}
	}
	if value.V == nil {
		value.V = []byte{}
	}
	return Row{Found: true, Value: value.V, Version: version.Int64, HasVersion: version.Valid}
}
