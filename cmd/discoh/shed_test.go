package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Event loops shed a client's session between its requests when it holds nothing the client
// set. These tests mix requests that set state, move the client to a goroutine and back, and
// pauses that let the session be shed, and check nothing a client can see changes.

// readReply reads one RESP2/RESP3 reply as a flat string rendering.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty line")
	}
	switch line[0] {
	case '+', '-', ':', '_', '#', ',':
		return line, nil
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "$nil", nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r, buf); err != nil {
			return "", err
		}
		return "$" + string(buf[:n]), nil
	case '*', '%', '~':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "*nil", nil
		}
		if line[0] == '%' {
			n *= 2
		}
		parts := []string{}
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return string(line[0]) + "[" + strings.Join(parts, ",") + "]", nil
	}
	return "", fmt.Errorf("bad line %q", line)
}

// concurrentClients runs client for n connections to addr at once and waits for them all.
func concurrentClients(t *testing.T, addr string, n int, client func(c int, nc net.Conn, r *bufio.Reader)) {
	var wg sync.WaitGroup
	for c := range n {
		wg.Go(func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			client(c, nc, bufio.NewReader(nc))
		})
	}
	wg.Wait()
}

// cmdOf encodes args as a RESP request.
func cmdOf(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// TestShedStress: 16 clients mix HELLO 2/3, CLIENT SETNAME, BLPOP (moves the client), MULTI/EXEC,
// pipelined SET/GET/MGET and pauses; CLIENT ID, the name and the protocol never change unasked.
func TestShedStress(t *testing.T) {
	st := startRedisStack(t, 2, "")
	concurrentClients(t, st.addr, 16, func(c int, nc net.Conn, r *bufio.Reader) {
		rng := rand.New(rand.NewPCG(uint64(c), 1))
		do := func(cmds ...[]string) []string {
			var b strings.Builder
			for _, a := range cmds {
				b.WriteString(cmdOf(a...))
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := nc.Write([]byte(b.String())); err != nil {
				t.Errorf("client %d write: %v", c, err)
				return nil
			}
			var out []string
			for range cmds {
				rep, err := readReply(r)
				if err != nil {
					t.Errorf("client %d read after %v: %v", c, cmds, err)
					return nil
				}
				out = append(out, rep)
			}
			return out
		}
		id := do([]string{"CLIENT", "ID"})[0]
		name := ""
		proto := 2
		for i := range 400 {
			if t.Failed() {
				return
			}
			k := fmt.Sprintf("k%d:%d", c, i%7)
			switch rng.IntN(10) {
			case 0:
				out := do([]string{"CLIENT", "ID"}, []string{"CLIENT", "GETNAME"})
				wantName := "$" + name
				if name == "" {
					wantName = "$nil"
					if proto == 3 {
						wantName = "_"
					}
				}
				if out[0] != id || out[1] != wantName {
					t.Errorf("client %d step %d: id %q name %q; want %q %q", c, i, out[0], out[1], id, wantName)
				}
			case 1:
				name = fmt.Sprintf("n%d", rng.IntN(3))
				if rng.IntN(2) == 0 {
					name = ""
				}
				do([]string{"CLIENT", "SETNAME", name})
			case 2:
				proto = 2 + rng.IntN(2)
				do([]string{"HELLO", strconv.Itoa(proto)})
			case 3:
				out := do([]string{"BLPOP", "nolist" + k, "0.01"})
				if out[0] != "*nil" && out[0] != "_" {
					t.Errorf("client %d: BLPOP %q", c, out[0])
				}
			case 4:
				out := do([]string{"MULTI"}, []string{"SET", k, "tx"}, []string{"EXEC"})
				if !strings.Contains(out[2], "+OK") {
					t.Errorf("client %d: EXEC %q", c, out)
				}
			case 5:
				v := strconv.Itoa(rng.IntN(1000))
				out := do([]string{"SET", k, v}, []string{"GET", k}, []string{"MGET", k, "x" + k, "y" + k})
				if out[1] != "$"+v || !strings.HasPrefix(out[2], "*[$"+v+",") {
					t.Errorf("client %d: SET/GET/MGET %q want %q", c, out, v)
				}
			default:
				out := do([]string{"PING"})
				if out[0] != "+PONG" {
					t.Errorf("client %d: PING %q", c, out)
				}
			}
			if rng.IntN(3) == 0 {
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
		}
	})
}

// TestShedRejoinAndCounts: clients move off their loops and back several times; their IDs stay,
// and INFO's client counts come back to where they were, with exactly the new clients counted.
func TestShedRejoinAndCounts(t *testing.T) {
	st := startRedisStack(t, 2, "") // no idle timeout: the INFO client must not be redialled
	info := st.client(t, 2)
	base := infoInt(t, info, "connected_clients")
	baseTotal := infoInt(t, info, "total_connections_received")
	concurrentClients(t, st.addr, 8, func(c int, nc net.Conn, r *bufio.Reader) {
		do := func(args ...string) string {
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			nc.Write([]byte(cmdOf(args...)))
			rep, err := readReply(r)
			if err != nil {
				t.Errorf("client %d %v: %v", c, args, err)
			}
			return rep
		}
		id := do("CLIENT", "ID")
		for round := range 3 {
			do("BLPOP", fmt.Sprintf("none%d", c), "0.01")
			for i := range 80 {
				k := fmt.Sprintf("r%d:%d", c, i)
				if got := do("SET", k, "v"); got != "+OK" {
					t.Errorf("SET %q", got)
				}
				if i%10 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			if got := do("CLIENT", "ID"); got != id {
				t.Errorf("client %d round %d: id %q want %q", c, round, got, id)
			}
		}
	})
	t.Logf("moved %d rejoined %d", infoInt(t, info, "clients_moved_off_loops"), infoInt(t, info, "clients_back_on_loops"))
	deadline := time.Now().Add(5 * time.Second)
	for infoInt(t, info, "connected_clients") != base {
		if time.Now().After(deadline) {
			t.Fatalf("connected_clients = %d; want %d", infoInt(t, info, "connected_clients"), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := infoInt(t, info, "total_connections_received"); n != baseTotal+8 {
		t.Errorf("total = %d want %d", n, baseTotal+8)
	}
}

// TestShedStressMemcache: memcached clients pipeline sets and multi-key gets, and send values over
// item_size_max (discarded as they arrive), with pauses.
func TestShedStressMemcache(t *testing.T) {
	st := startMemcacheStack(t, 2, "    item_size_max: 2kb")
	concurrentClients(t, st.addr, 12, func(c int, nc net.Conn, r *bufio.Reader) {
		rng := rand.New(rand.NewPCG(uint64(c), 2))
		line := func() string {
			s, err := r.ReadString('\n')
			if err != nil {
				t.Errorf("client %d: %v", c, err)
			}
			return s
		}
		for i := range 300 {
			if t.Failed() {
				return
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			k := fmt.Sprintf("m%d:%d", c, i%5)
			v := strconv.Itoa(i)
			switch rng.IntN(4) {
			case 0:
				big := strings.Repeat("x", 3000)
				fmt.Fprintf(nc, "set %s 0 0 %d\r\n%s\r\n", k, len(big), big)
				if got := line(); !strings.HasPrefix(got, "SERVER_ERROR") {
					t.Errorf("big set: %q", got)
				}
			default:
				fmt.Fprintf(nc, "set %s 0 0 %d\r\n%s\r\nget %s x%s y%s\r\n", k, len(v), v, k, k, k)
				if got := line(); got != "STORED\r\n" {
					t.Errorf("set: %q", got)
				}
				if got := line(); got != fmt.Sprintf("VALUE %s 0 %d\r\n", k, len(v)) {
					t.Errorf("get: %q", got)
				}
				line()
				if got := line(); got != "END\r\n" {
					t.Errorf("end: %q", got)
				}
			}
			if rng.IntN(3) == 0 {
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond)
			}
		}
	})
}

// do sends one request and returns its reply as readReply renders it ("" after an error, which
// is reported).
func (c *rawConn) do(args ...string) string {
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write([]byte(cmdOf(args...))); err != nil {
		c.t.Errorf("%v: %v", args, err)
		return ""
	}
	rep, err := readReply(c.r)
	if err != nil {
		c.t.Errorf("%v: %v", args, err)
	}
	return rep
}

// letShed gives the loop time to shed the client's session after its last reply.
func letShed() { time.Sleep(5 * time.Millisecond) }

// protoOf returns the proto field of a HELLO reply as readReply renders it (":2" or ":3").
func protoOf(t *testing.T, hello string) string {
	i := strings.Index(hello, "$proto,")
	if i < 0 || len(hello) < i+9 {
		t.Fatalf("HELLO replied %q", hello)
	}
	return hello[i+7 : i+9]
}

// TestKeptStateIsTheClientsOwn: the protocol and name a shed session keeps belong to its client
// alone, survive sheds, and are cleared when the client asks (RESET, SETNAME "", HELLO 2).
func TestKeptStateIsTheClientsOwn(t *testing.T) {
	st := startRedisStack(t, 2, "")
	a := dialRaw(t, st.addr)
	if h := a.do("HELLO", "3", "SETNAME", "alpha"); protoOf(t, h) != ":3" || h[0] != '%' {
		t.Fatalf("HELLO 3 SETNAME alpha: %q", h)
	}
	letShed()
	if got := a.do("CLIENT", "GETNAME"); got != "$alpha" {
		t.Errorf("name after a shed: %q", got)
	}
	letShed()
	if got := a.do("HGETALL", "nohash"); got != "%[]" {
		t.Errorf("HGETALL after a shed: %q; want a RESP3 map", got)
	}
	concurrentClients(t, st.addr, 8, func(i int, nc net.Conn, r *bufio.Reader) {
		b := &rawConn{t: t, nc: nc, r: r}
		for j := range 30 {
			if got := b.do("CLIENT", "GETNAME"); got != "$nil" {
				t.Errorf("client %d request %d: name %q; want none", i, j, got)
			}
			if got := b.do("HGETALL", "nohash"); got != "*[]" {
				t.Errorf("client %d request %d: HGETALL %q; want a RESP2 array", i, j, got)
			}
			letShed()
		}
	})
	if got := a.do("RESET"); got != "+RESET" { // moves the client to a goroutine
		t.Fatalf("RESET: %q", got)
	}
	for range 100 { // enough calm batches to go back to the loop
		if got := a.do("CLIENT", "GETNAME"); got != "$nil" {
			t.Fatalf("name after RESET: %q", got)
		}
	}
	letShed()
	if h := a.do("HELLO"); protoOf(t, h) != ":2" {
		t.Errorf("protocol after RESET, back on the loop: %q", h)
	}
	a.do("HELLO", "3", "SETNAME", "x")
	letShed()
	a.do("CLIENT", "SETNAME", "")
	letShed()
	if got := a.do("CLIENT", "GETNAME"); got != "_" {
		t.Errorf("name after SETNAME \"\": %q", got)
	}
	a.do("CLIENT", "SETNAME", "y")
	letShed()
	a.do("HELLO", "2")
	letShed()
	if got := a.do("CLIENT", "GETNAME"); got != "$y" {
		t.Errorf("name after HELLO 2: %q; want it kept", got)
	}
	if got := a.do("HGETALL", "nohash"); got != "*[]" {
		t.Errorf("HGETALL after HELLO 2: %q", got)
	}
	a.do("HELLO", "3")
	letShed()
	if got := a.do("BLPOP", "nolist", "0.01"); got != "_" {
		t.Errorf("BLPOP after HELLO 3 and a shed: %q; want a RESP3 null", got)
	}
}
