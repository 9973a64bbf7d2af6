package frontend

import "testing"

type fakeServed struct {
	inSet
	name string
}

func (f *fakeServed) RemoteAddr() string           { return f.name }
func (f *fakeServed) wake()                        {}
func (f *fakeServed) kill()                        {}
func (f *fakeServed) expired(int64, Limits) string { return "" }

// names lists the set's connections and checks each knows its place.
func names(t *testing.T, cs connSet) string {
	t.Helper()
	out := ""
	for i, c := range cs {
		if int(c.place().at) != i+1 {
			t.Errorf("%s is at %d but its place says %d", c.RemoteAddr(), i+1, c.place().at)
		}
		out += c.RemoteAddr()
	}
	return out
}

func TestConnSet(t *testing.T) {
	a, b, c, d := &fakeServed{name: "a"}, &fakeServed{name: "b"}, &fakeServed{name: "c"}, &fakeServed{name: "d"}
	var cs connSet
	cs.remove(a) // in no set: nothing happens
	cs.add(a)
	cs.add(b)
	cs.add(c)
	cs.remove(a)
	if got := names(t, cs); got != "cb" {
		t.Errorf("after removing a: %q; want cb (the last takes the removed one's place)", got)
	}
	cs.remove(a) // twice: nothing happens
	cs.replace(b, d)
	if got := names(t, cs); got != "cd" || b.at != 0 {
		t.Errorf("after replacing b with d: %q, b's place %d; want cd and 0", got, b.at)
	}
	cs.replace(a, b) // a is in no set: b is added
	cs.remove(b)
	cs.remove(d)
	cs.remove(c)
	if len(cs) != 0 || a.at != 0 || c.at != 0 || d.at != 0 {
		t.Errorf("after removing all: %d left", len(cs))
	}
}
