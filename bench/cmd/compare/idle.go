package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/discoh/discoh/bench/proc"
	"github.com/discoh/discoh/bench/report"
)

// Idle-connection test settings.
const (
	idleDialers = 8                      // connections opened in parallel
	idleSettle  = time.Second            // wait before reading RSS, for the servers to go quiet
	idleTimeout = 10 * time.Second       // per dial and PING
	ping        = "*1\r\n$4\r\nPING\r\n" // multibulk: twemproxy reads no inline commands
	pong        = "+PONG\r\n"
)

// idleMemory measures, for each Redis target, its RSS before and while n
// clients are connected, each having sent one PING and then idling.
func idleMemory(ctx context.Context, targets map[string]*proc.Process, n int, log *slog.Logger) []report.IdleMemory {
	var out []report.IdleMemory
	for _, target := range report.Targets {
		p := targets[target]
		m, err := holdIdle(ctx, p, n)
		m.Target = fmt.Sprintf("%s (%s)", target, p.Name)
		if err != nil {
			m.Skipped = err.Error()
			log.Warn("idle connections", "target", target, "err", err)
		} else {
			log.Info("idle connections", "target", target, "rss_mb_before", m.Before>>20, "rss_mb_with", m.With>>20)
		}
		out = append(out, m)
	}
	return out
}

func holdIdle(ctx context.Context, p *proc.Process, n int) (report.IdleMemory, error) {
	m := report.IdleMemory{Conns: n}
	var err error
	if m.Before, err = proc.RSS(p.PID()); err != nil {
		return m, err
	}
	conns, err := openIdle(ctx, p.Addr, n)
	defer closeConns(conns)
	if err != nil {
		return m, err
	}
	time.Sleep(idleSettle)
	if m.With, err = proc.RSS(p.PID()); err != nil {
		return m, err
	}
	m.File, err = proc.FileRSS(p.PID())
	return m, err
}

// openIdle opens n connections to addr, each answering one PING.
func openIdle(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	errs := make([]error, idleDialers)
	var wg sync.WaitGroup
	for d := range idleDialers {
		wg.Go(func() {
			for i := d; i < n && errs[d] == nil; i += idleDialers {
				conns[i], errs[d] = dialPinged(ctx, addr)
			}
		})
	}
	wg.Wait()
	return conns, errors.Join(errs...)
}

func dialPinged(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: idleTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(idleTimeout))
	reply := make([]byte, len(pong))
	if _, err = io.WriteString(c, ping); err == nil {
		_, err = io.ReadFull(c, reply)
	}
	if err == nil && string(reply) != pong {
		err = fmt.Errorf("PING answered %q", reply)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func closeConns(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
