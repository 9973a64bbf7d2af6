package mcproto

import "testing"

func TestParseStat(t *testing.T) {
	tests := []struct {
		line        string
		name, value string
		ok          bool
	}{
		{"STAT curr_items 5\r\n", "curr_items", "5", true},
		{"STAT version 1.6.18", "version", "1.6.18", true},
		{"STAT items:1:number 3\r\n", "items:1:number", "3", true},
		{"STAT ssl_chain_cert (null)\r\n", "ssl_chain_cert", "(null)", true},
		{"STAT empty \r\n", "empty", "", true},
		{"STAT \r\n", "", "", false},
		{"END\r\n", "", "", false},
		{"ITEM k [1 b; 0 s]\r\n", "", "", false},
		{"ERROR\r\n", "", "", false},
	}
	for _, tc := range tests {
		name, value, ok := ParseStat([]byte(tc.line))
		if string(name) != tc.name || string(value) != tc.value || ok != tc.ok {
			t.Errorf("ParseStat(%q) = %q, %q, %v; want %q, %q, %v", tc.line, name, value, ok, tc.name, tc.value, tc.ok)
		}
	}
}

func TestIsStatsList(t *testing.T) {
	for reply, want := range map[string]bool{
		"STAT a 1\r\nEND\r\n":                 true,
		"END\r\n":                             true,
		"ITEM k [1 b; 0 s]\r\nEND\r\n":        true,
		"RESET\r\n":                           false,
		"OK\r\n":                              false,
		"ERROR\r\n":                           false,
		"CLIENT_ERROR bad command line\r\n":   false,
		"SERVER_ERROR out of memory, END\r\n": false,
		"STAT sizes_status enabled\r\n":       false,
	} {
		if got := IsStatsList([]byte(reply)); got != want {
			t.Errorf("IsStatsList(%q) = %v; want %v", reply, got, want)
		}
	}
}
