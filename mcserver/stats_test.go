package mcserver

import "testing"

// TestStatSums sums by hand-computable replies: integer counters add up in the order first
// listed, identity fields and non-integers are left out.
func TestStatSums(t *testing.T) {
	sums := statSums{index: map[string]int{}}
	sums.add([]byte("STAT pid 10\r\nSTAT version 1.6.18\r\nSTAT curr_items 3\r\nSTAT rusage_user 0.5\r\nSTAT bytes 100\r\nEND\r\n"))
	sums.add([]byte("STAT pid 11\r\nSTAT bytes 20\r\nSTAT evictions 2\r\nSTAT curr_items 4\r\nEND\r\n"))
	want := []struct {
		name  string
		value uint64
	}{{"curr_items", 7}, {"bytes", 120}, {"evictions", 2}}
	if len(sums.names) != len(want) || sums.servers != 2 {
		t.Fatalf("sums %v = %v over %d servers; want %v over 2", sums.names, sums.values, sums.servers, want)
	}
	for i, w := range want {
		if sums.names[i] != w.name || sums.values[i] != w.value {
			t.Errorf("sum %d = %s %d; want %s %d", i, sums.names[i], sums.values[i], w.name, w.value)
		}
	}
}

func TestAppendPrefixed(t *testing.T) {
	reply := "STAT items:1:number 5\r\nITEM k [1 b; 0 s]\r\nEND\r\n"
	want := "STAT m1:items:1:number 5\r\nITEM k [1 b; 0 s]\r\n"
	if got := string(appendPrefixed(nil, "m1", []byte(reply))); got != want {
		t.Errorf("appendPrefixed(m1, %q) = %q; want %q", reply, got, want)
	}
}
