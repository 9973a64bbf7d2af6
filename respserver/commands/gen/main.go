// Command gen writes the command table of package commands from what a real
// redis-server publishes in COMMAND. Without -addr it starts a throwaway
// redis-server on a free loopback port and stops it when done:
//
//	go run ./gen -o table_gen.go
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/discoh/discoh/respserver/commands/internal/redisproc"
)

func main() {
	var opts options
	flag.StringVar(&opts.addr, "addr", "", "address of a running redis-server to read COMMAND from; empty starts one")
	flag.StringVar(&opts.server, "redis-server", "redis-server", "redis-server binary to start when -addr is empty")
	flag.StringVar(&opts.out, "o", "table_gen.go", "file to write")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// options are the generator's flags.
type options struct {
	addr   string
	server string
	out    string
}

// run reads the command table from Redis and writes it as Go source.
func run(ctx context.Context, opts options) error {
	addr := opts.addr
	if addr == "" {
		srv, err := redisproc.Start(ctx, opts.server)
		if err != nil {
			return err
		}
		defer srv.Close()
		addr = srv.Addr
	}
	table, err := fetch(ctx, addr)
	if err != nil {
		return err
	}
	src, err := render(table)
	if err != nil {
		return err
	}
	return os.WriteFile(opts.out, src, 0o644)
}
