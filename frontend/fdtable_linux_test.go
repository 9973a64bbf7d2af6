package frontend

import "testing"

func TestFDTable(t *testing.T) {
	var tab fdTable
	a, b := &loopConn{}, &loopConn{}
	if tab.get(5) != nil || tab.get(-1) != nil || tab.get(1<<30) != nil {
		t.Fatal("an empty table finds a client")
	}
	if err := tab.set(5, a); err != nil {
		t.Fatal(err)
	}
	if err := tab.set(3000, b); err != nil {
		t.Fatal(err)
	}
	if tab.get(5) != a || tab.get(3000) != b || tab.get(6) != nil || tab.get(2999) != nil {
		t.Error("set descriptors not found, or unset ones found")
	}
	tab.set(5, nil)
	if tab.get(5) != nil || tab.get(3000) != b {
		t.Error("forgetting 5 left it, or forgot 3000")
	}
	if err := tab.set(fdChunks<<fdChunkBits, a); err == nil {
		t.Error("a descriptor beyond the table was taken")
	}
	if err := tab.set(1<<19, nil); err != nil || tab.chunks[(1<<19)>>fdChunkBits].Load() != nil {
		t.Error("forgetting a descriptor in no chunk made one")
	}
}
