// Command discoh is a Redis and memcached proxy with consistent hashing and a coherence
// directory. Usage: discoh [-version] [-cpuprofile FILE] [-config FILE | FILE].
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/discoh/discoh/config"
	"github.com/discoh/discoh/proxy"
)

// defaultConfig is the file read when the command line names none.
const defaultConfig = "config.yaml"

// options are discoh's command line.
type options struct {
	config     string
	version    bool
	cpuProfile string
}

func main() {
	opts, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // parseArgs printed it
	}
	if opts.version {
		fmt.Println("discoh", proxy.Version)
		return
	}
	cfg, err := config.Load(opts.config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "discoh:", err)
		os.Exit(2)
	}
	log := newLogger(cfg.Log)
	log.Debug("processors", "gomaxprocs", setProcs())
	if opts.cpuProfile != "" {
		stopProfile, err := startCPUProfile(opts.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "discoh:", err)
			os.Exit(2)
		}
		defer stopProfile()
	}
	ctx, stop := notifyShutdown(log)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("discoh stopped", "err", err)
		os.Exit(1)
	}
}

// parseArgs reads the command line: flags, then at most one argument, the config file, which
// may be given that way or with -config but not both. Errors and usage are printed to out; -h
// returns flag.ErrHelp after printing the usage.
func parseArgs(args []string, out io.Writer) (options, error) {
	var opts options
	fs := flag.NewFlagSet("discoh", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&opts.config, "config", defaultConfig, "the configuration file (or give it as the one argument)")
	fs.BoolVar(&opts.version, "version", false, "print the version and exit")
	fs.StringVar(&opts.cpuProfile, "cpuprofile", "", "write a CPU profile to this file until discoh stops")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: discoh [flags] [config.yaml]\n\n"+
			"Serves the pools of the config file (default %s). SIGINT or SIGTERM stops it after\n"+
			"in-flight requests are answered (at most %s); a second signal stops it at once.\n\nFlags:\n",
			defaultConfig, drainTimeout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if err := configArg(fs, &opts); err != nil {
		fmt.Fprintln(out, "discoh:", err)
		fs.Usage()
		return opts, err
	}
	return opts, nil
}

// configArg takes the config file from the one argument, if there is one.
func configArg(fs *flag.FlagSet, opts *options) error {
	switch fs.NArg() {
	case 0:
		return nil
	case 1:
		if flagSet(fs, "config") {
			return fmt.Errorf("config file given twice: -config %s and %s", opts.config, fs.Arg(0))
		}
		opts.config = fs.Arg(0)
		return nil
	}
	return fmt.Errorf("want at most one argument, the config file (flags go before it); got %q", fs.Args())
}

// flagSet reports whether the command line set the flag called name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// notifyShutdown returns a context that ends at the first SIGINT or SIGTERM. That signal is then
// unregistered, so a second one gets the default action: discoh exits at once, without waiting
// for clients to drain.
func notifyShutdown(log *slog.Logger) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, func() {
		stop()
		log.Info("signal received; a second one exits at once", "drain_timeout", drainTimeout)
	})
	return ctx, stop
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func newLogger(c config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
