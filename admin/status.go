package admin

import (
	"html/template"
	"net/http"
	"time"
)

// The status page: what a person checks first, server-rendered, with no asset to fetch.
var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>discoh status</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
.up{background:#dfd}.down{background:#fdd}.warn{color:#a00}
</style></head><body>
<h1>discoh {{.Version}}</h1>
<p>up {{.Uptime}} · started {{.Started}} · {{if .Ready}}ready{{else}}<span class="warn">not ready: {{range .Reasons}}{{.}}; {{end}}</span>{{end}}</p>
{{range .Pools}}
<h2>pool {{.Name}} <small>({{.Protocol}} on {{.Listen}}{{if .Coherent}}, coherent{{end}})</small></h2>
<p>clients: {{.Clients}} connected, {{.Accepted}} accepted since start</p>
<table><tr><th>server</th><th>address</th><th>health</th><th>connected</th><th>requests</th><th>failures</th><th>downs</th><th>replay queue</th></tr>
{{range .Servers}}<tr class="{{if .Up}}up{{else}}down{{end}}"><td>{{.Name}}</td><td>{{.Addr}}</td><td>{{.Health}}</td><td>{{.Connected}}</td><td>{{.Requests}}</td><td>{{.Failures}}</td><td>{{.Downs}}</td><td>{{.ReplayQueue}}</td></tr>
{{end}}</table>
{{if .Counters}}<table><tr><th>counter</th><th>value</th></tr>
{{range .Counters}}<tr><td title="{{.Help}}">{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>{{end}}
{{end}}
</body></html>
`))

type statusView struct {
	Version, Uptime, Started string
	Ready                    bool
	Reasons                  []string
	Pools                    []poolView
}

type poolView struct {
	Name, Protocol, Listen string
	Coherent               bool
	Clients, Accepted      int64
	Servers                []serverView
	Counters               []Counter
}

type serverView struct {
	Name, Addr, Health                     string
	Up, Connected                          bool
	Requests, Failures, Downs, ReplayQueue int64
}

// status serves the status page.
func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	reasons := s.unready()
	v := statusView{Version: s.version, Uptime: time.Since(s.started).Round(time.Second).String(),
		Started: s.started.Format(time.RFC3339), Ready: len(reasons) == 0, Reasons: reasons}
	for _, p := range s.pools {
		pv := poolView{Name: p.Name, Protocol: p.Protocol, Listen: p.Listen, Coherent: p.Dir != nil}
		pv.Clients, pv.Accepted = p.Front.Counts()
		if p.Counters != nil {
			pv.Counters = p.Counters()
		}
		for _, sv := range p.Servers.Servers {
			health, _, downs := sv.Health()
			pv.Servers = append(pv.Servers, serverView{Name: sv.Name, Addr: sv.Addr, Health: health, Up: sv.Up(),
				Connected: sv.Connected(), Requests: sv.Requests.Load(), Failures: sv.Failures.Load(), Downs: downs,
				ReplayQueue: int64(sv.ReplayQueue())})
		}
		v.Pools = append(v.Pools, pv)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, v); err != nil {
		s.log.Warn("admin: status page", "err", err)
	}
}
