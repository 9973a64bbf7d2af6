// Command discoh is a Redis and memcached proxy with consistent hashing and a coherence
// directory. Usage: discoh [-config config.yaml] [-version].
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/proxy"
)

func main() {
	path := flag.String("config", "config.yaml", "the configuration file")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println("discoh", proxy.Version)
		return
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "discoh:", err)
		os.Exit(2)
	}
	log := newLogger(cfg.Log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("discoh stopped", "err", err)
		os.Exit(1)
	}
}

func newLogger(c config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
