package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// splitAddr checks a host:port address. The host may be empty (all
// interfaces); port 0 asks for any free port.
func splitAddr(addr string) (host string, port int, err error) {
	if strings.HasPrefix(addr, "/") {
		return "", 0, fmt.Errorf("%q: unix sockets are not supported (want host:port)", addr)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	port, err = strconv.Atoi(portText)
	if err != nil {
		return "", 0, fmt.Errorf("port %q is not a number", portText)
	}
	if port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %d is out of range", port)
	}
	return host, port, nil
}

// checkServers checks each server, and that no two share a name or an
// address (port 0 excepted: each embedded server gets its own port).
func (p *Pool) checkServers(ps *problems) {
	if len(p.Servers) == 0 {
		ps.add(p.field("servers"), "no servers")
		return
	}
	byName := map[string]int{}
	byAddr := map[string]int{}
	for i, s := range p.Servers {
		field := fmt.Sprintf("%s[%d]", p.field("servers"), i)
		port := p.checkServer(s, field, ps)
		if j, ok := byName[s.Name]; ok && s.Name != "" {
			ps.add(field, "name %q is also used by servers[%d]", s.Name, j)
		}
		if j, ok := byAddr[s.Addr]; ok && port != 0 {
			ps.add(field, "address %s is also used by servers[%d]", s.Addr, j)
		}
		if _, ok := byName[s.Name]; !ok {
			byName[s.Name] = i
		}
		if _, ok := byAddr[s.Addr]; !ok {
			byAddr[s.Addr] = i
		}
	}
}

// checkServer checks one server and returns its port (0 if unusable).
func (p *Pool) checkServer(s Server, field string, ps *problems) int {
	if s.Weight < 1 {
		ps.add(field, "weight %d must be at least 1", s.Weight)
	}
	host, port, err := splitAddr(s.Addr)
	switch {
	case err != nil:
		ps.addErr(field, err)
	case host == "":
		ps.add(field, "address %q has no host", s.Addr)
	case port == 0 && !p.Embedded:
		ps.add(field, "port 0 is only allowed in embedded pools")
	}
	return port
}

// listener is one address discoh listens on, with the field that set it.
type listener struct {
	field string
	host  string
	port  int
}

// checkListenClashes reports listeners that would take the same port:
// same host, or either one on all interfaces. Port 0 never clashes.
func (c *Config) checkListenClashes(ps *problems) {
	seen := []listener{}
	for _, l := range c.listeners(ps) {
		for _, earlier := range seen {
			if l.clashes(earlier) {
				ps.add(l.field, "port %d is also taken by %s", l.port, earlier.field)
				break
			}
		}
		seen = append(seen, l)
	}
}

// listeners returns the valid listen addresses of c, checking admin.listen
// on the way (pools check their own).
func (c *Config) listeners(ps *problems) []listener {
	var all []listener
	for _, p := range c.Pools {
		if p == nil {
			continue
		}
		if host, port, err := splitAddr(p.Listen); err == nil {
			all = append(all, listener{p.field("listen"), host, port})
		}
	}
	if c.Admin.Listen == "" {
		return all
	}
	host, port, err := splitAddr(c.Admin.Listen)
	if err != nil {
		ps.addErr(sectionAdmin+".listen", err)
		return all
	}
	return append(all, listener{sectionAdmin + ".listen", host, port})
}

func (l listener) clashes(other listener) bool {
	if l.port == 0 || l.port != other.port {
		return false
	}
	return l.host == other.host || isWildcard(l.host) || isWildcard(other.host)
}

func isWildcard(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}
