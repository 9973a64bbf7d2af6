package db

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/discoh/discoh/coherence/source"
	"github.com/discoh/discoh/internal/testdb"
)

// backend is one kind of database the suite runs against.
type backend struct {
	name   string
	driver string
	dsn    func(t *testing.T) string
	ddl    string
	where  string // the WHERE clause on id, with the driver's placeholder
	sleep  string // a condition that sleeps a second; "" when the database has none
}

var backends = []backend{
	{
		name: "postgres", driver: "postgres",
		dsn:   func(*testing.T) string { return testdb.PostgresDSN },
		ddl:   "CREATE TABLE {t} (id int PRIMARY KEY, body bytea, version bigint)",
		where: "id = $1", sleep: "pg_sleep(1) IS NOT NULL",
	},
	{
		name: "mariadb", driver: "mysql",
		dsn:   func(*testing.T) string { return testdb.MySQLDSN },
		ddl:   "CREATE TABLE {t} (id int PRIMARY KEY, body blob, version bigint)",
		where: "id = ?", sleep: "SLEEP(1) = 0",
	},
	{
		name: "sqlite", driver: "sqlite",
		dsn:   func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "t.db") },
		ddl:   "CREATE TABLE {t} (id INTEGER PRIMARY KEY, body BLOB, version INTEGER)",
		where: "id = ?",
	},
}

// fixture is a table of rows on one backend, and Databases that name it "main".
type fixture struct {
	backend
	table string
	dbs   *Databases
}

func (b backend) setUp(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	dsn := b.dsn(t)
	admin := testdb.Open(t, drivers[b.driver], dsn)
	f := &fixture{backend: b, table: testdb.Table(t, admin, b.ddl)}
	testdb.Exec(t, admin, f.table, "INSERT INTO {t} (id, body, version) VALUES (1, 'hello', 7), (2, '', 8), (3, NULL, 9)")
	testdb.Exec(t, admin, f.table, "INSERT INTO {t} (id, body, version) VALUES (4, "+binaryLiteral(b.driver)+", NULL)")
	dbs, err := Open(t.Context(), []Config{{Name: "main", Driver: b.driver, DSN: dsn, Timeout: timeout}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { dbs.Close() })
	f.dbs = dbs
	return f
}

// binaryLiteral is the bytes 00 ff 0d 0a in each SQL dialect.
func binaryLiteral(driver string) string {
	if driver == "postgres" {
		return `'\x00ff0d0a'::bytea`
	}
	return "X'00ff0d0a'"
}

func (f *fixture) source(query string) *source.Source {
	return &source.Source{Pattern: "k:{id}", Database: "main", Query: strings.ReplaceAll(query, "{t}", f.table)}
}

func TestPull(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.setUp(t, 0)
			withVersion := f.source("SELECT body, version FROM {t} WHERE " + b.where)
			valueOnly := f.source("SELECT body FROM {t} WHERE " + b.where)
			tests := []struct {
				name string
				src  *source.Source
				id   string
				want Row
			}{
				{"value and version", withVersion, "1", Row{Found: true, Value: []byte("hello"), Version: 7, HasVersion: true}},
				{"empty value", withVersion, "2", Row{Found: true, Value: []byte{}, Version: 8, HasVersion: true}},
				{"null value", withVersion, "3", Row{}},
				{"binary value, null version", withVersion, "4", Row{Found: true, Value: []byte("\x00\xff\r\n")}},
				{"no row", withVersion, "99", Row{}},
				{"value only", valueOnly, "1", Row{Found: true, Value: []byte("hello")}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := f.dbs.Pull(t.Context(), tt.src, []any{tt.id})
					if err != nil {
						t.Fatalf("Pull: %v", err)
					}
					if !equalRows(got, tt.want) {
						t.Errorf("got %+v; want %+v", got, tt.want)
					}
				})
			}
			want := Stats{Queries: int64(len(tests)), NotFound: 2}
			if got := f.dbs.Stats(); got != want {
				t.Errorf("Stats = %+v; want %+v", got, want)
			}
		})
	}
}

func equalRows(a, b Row) bool {
	return a.Found == b.Found && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil) &&
		a.Version == b.Version && a.HasVersion == b.HasVersion
}

func TestPullErrors(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := b.setUp(t, 200*time.Millisecond)
			tests := []struct {
				name  string
				query string
			}{
				{"three columns", "SELECT body, version, id FROM {t} WHERE " + b.where},
				{"no such table", "SELECT body FROM {t}_missing WHERE " + b.where},
				{"syntax", "SELEKT body FROM {t} WHERE " + b.where},
			}
			if b.sleep != "" {
				tests = append(tests, struct{ name, query string }{"timeout", "SELECT body FROM {t} WHERE " + b.where + " AND " + b.sleep})
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					start := time.Now()
					row, err := f.dbs.Pull(t.Context(), f.source(tt.query), []any{"1"})
					if !errors.Is(err, ErrQuery) || row.Found {
						t.Fatalf("got %+v, %v; want ErrQuery and no row", row, err)
					}
					if took := time.Since(start); took > 900*time.Millisecond {
						t.Errorf("took %v; want the 200ms timeout to cut it short", took)
					}
				})
			}
			if got := f.dbs.Stats().Failures; got != int64(len(tests)) {
				t.Errorf("Failures = %d; want %d", got, len(tests))
			}
		})
	}
}

func TestPullUnknownDatabase(t *testing.T) {
	dbs, err := Open(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dbs.Pull(t.Context(), &source.Source{Database: "nope", Query: "SELECT 1"}, nil)
	if !errors.Is(err, ErrUnknownDatabase) {
		t.Errorf("got %v; want ErrUnknownDatabase", err)
	}
}

// TestPullSeesLatestCommit: with one pooled connection reused, a pull still reads the row
// committed after the previous pull, so pulls hold no transaction (snapshot) open.
func TestPullSeesLatestCommit(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			admin := testdb.Open(t, drivers[b.driver], dsn)
			table := testdb.Table(t, admin, b.ddl)
			testdb.Exec(t, admin, table, "INSERT INTO {t} (id, body) VALUES (1, 'old')")
			dbs, err := Open(t.Context(), []Config{{Name: "main", Driver: b.driver, DSN: dsn, MaxConns: 1}})
			if err != nil {
				t.Fatal(err)
			}
			defer dbs.Close()
			src := &source.Source{Database: "main", Query: "SELECT body FROM " + table + " WHERE " + b.where}
			for _, want := range []string{"old", "new"} {
				row, err := dbs.Pull(t.Context(), src, []any{"1"})
				if err != nil || string(row.Value) != want {
					t.Fatalf("got %q, %v; want %q", row.Value, err, want)
				}
				testdb.Exec(t, admin, table, "UPDATE {t} SET body = 'new' WHERE id = 1")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"ok postgres", Config{Name: "m", Driver: "postgres", DSN: "x"}, nil},
		{"ok sqlite default", Config{Name: "m", Driver: "sqlite", Demo: true}, nil},
		{"everything wrong", Config{Driver: "oracle", MaxConns: -1, Timeout: -1, Demo: true},
			[]string{".name: empty", ".driver: \"oracle\"", ".dsn: empty", ".max_conns", ".timeout", ".demo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (tt.want != nil) || err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v; want errors %q", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOpenRejectsDuplicateNames(t *testing.T) {
	cfg := Config{Name: "m", Driver: "sqlite", DSN: "file::memory:"}
	if _, err := Open(t.Context(), []Config{cfg, cfg}); !errors.Is(err, ErrInvalid) {
		t.Errorf("got %v; want ErrInvalid", err)
	}
}

func TestDemo(t *testing.T) {
	dsn := "file:" + filepath.Join(t.TempDir(), "demo.db")
	src := &source.Source{Pattern: "user:{id}", Database: "demo", Query: DemoQuery}
	open := func() *Databases {
		dbs, err := Open(t.Context(), []Config{{Name: "demo", Driver: "sqlite", DSN: dsn, Demo: true}})
		if err != nil {
			t.Fatal(err)
		}
		return dbs
	}
	dbs := open()
	row, err := dbs.Pull(t.Context(), src, []any{"1"})
	if err != nil || !row.Found || !strings.Contains(string(row.Value), "Ada") || row.Version != 1 {
		t.Fatalf("first start: got %+v, %v; want Ada's row at version 1", row, err)
	}
	deleteDemoRow(t, dbs, "1")
	dbs.Close()
	dbs = open() // a second start keeps the table as it is
	defer dbs.Close()
	if row, err := dbs.Pull(t.Context(), src, []any{"1"}); err != nil || row.Found {
		t.Errorf("second start: got %+v, %v; want the deleted row to stay deleted", row, err)
	}
}

func deleteDemoRow(t *testing.T, dbs *Databases, id string) {
	t.Helper()
	if _, err := dbs.byName["demo"].pool.ExecContext(context.Background(), "DELETE FROM users WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
}

func TestPing(t *testing.T) {
	dbs, err := Open(t.Context(), []Config{
		{Name: "pg", Driver: "postgres", DSN: testdb.PostgresDSN},
		{Name: "down", Driver: "postgres", DSN: "postgres://postgres@127.0.0.1:1/test?connect_timeout=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dbs.Close()
	err = dbs.Ping(t.Context())
	if err == nil || !strings.Contains(err.Error(), "db down") || strings.Contains(err.Error(), "db pg") {
		t.Errorf("Ping = %v; want an error naming only the down database", err)
	}
	if !dbs.Has("pg") || dbs.Has("nope") {
		t.Errorf("Has(pg), Has(nope) = %v, %v; want true, false", dbs.Has("pg"), dbs.Has("nope"))
	}
}
