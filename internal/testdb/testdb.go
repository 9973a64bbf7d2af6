// Package testdb gives tests tables of their own on the PostgreSQL and MariaDB servers of the
// test machine, dropped when the test ends.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"strings"
	"testing"
)

// The databases the tests use: PostgreSQL and MariaDB on loopback, with trust/no-password
// access to a database named test.
const (
	PostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	MySQLDSN    = "root@tcp(127.0.0.1:3306)/test"
)

// Open connects to dsn with the database/sql driver and fails the test if the server does
// not answer.
func Open(t testing.TB, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		t.Fatalf("%s at %s: %v", driver, dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Table creates a table with a fresh name from ddl, in which every "{t}" stands for that
// name, and drops it when the test ends. It returns the name.
func Table(t testing.TB, db *sql.DB, ddl string) string {
	t.Helper()
	name := "coh_" + strings.ToLower(rand.Text()[:10])
	if _, err := db.Exec(strings.ReplaceAll(ddl, "{t}", name)); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + name) })
	return name
}

// Exec runs a statement with every "{t}" replaced by table, failing the test on error.
func Exec(t testing.TB, db *sql.DB, table, stmt string, args ...any) {
	t.Helper()
	stmt = strings.ReplaceAll(stmt, "{t}", table)
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatalf("%s %v: %v", stmt, args, err)
	}
}
