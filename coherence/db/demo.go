package db

import (
	"context"
	"database/sql"
)

// DefaultSQLiteDSN is the embedded database of a sqlite Config with no DSN: a file in the
// working directory, with a busy timeout so that concurrent pulls wait for a writer instead
// of failing, and WAL so that they do not block it.
const DefaultSQLiteDSN = "file:discoh.sqlite?_pragma=busy_timeout(5000)&_pragma=journal_mode(wal)"

// DemoQuery is the query of a source over the demo table, for a pattern such as "user:{id}".
const DemoQuery = "SELECT body, version FROM users WHERE id = ?"

// demoUsers are the rows the demo table starts with.
var demoUsers = []struct {
	id   int
	body string
}{
	{1, `{"id":1,"name":"Ada Lovelace"}`},
	{2, `{"id":2,"name":"Alan Turing"}`},
	{3, `{"id":3,"name":"Grace Hopper"}`},
}

// createDemo creates and fills the users table when the database does not have one yet. A
// table that exists is left as it is, so rows deleted by hand stay deleted.
func createDemo(ctx context.Context, pool *sql.DB) error {
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'`).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `CREATE TABLE users (id INTEGER PRIMARY KEY, body BLOB NOT NULL, version INTEGER NOT NULL DEFAULT 1)`)
	for _, u := range demoUsers {
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO users (id, body) VALUES (?, ?)`, u.id, u.body)
		}
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}
