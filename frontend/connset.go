package frontend

// connSet is the server's connections. Each keeps its own place in the slice, so adding,
// removing and replacing one allocate nothing per client and cost 16 bytes each, not a map
// entry's 45: with thousands of idle clients that is most of what one costs. Server.mu guards
// the set and every place.
type connSet []served

// inSet is where a connection is in its server's set: index+1, 0 when it is in none.
type inSet struct{ at int32 }

func (p *inSet) place() *inSet { return p }

func (cs *connSet) add(c served) {
	*cs = append(*cs, c)
	c.place().at = int32(len(*cs))
}

// remove takes c out of the set; nothing happens when it is not in it.
func (cs *connSet) remove(c served) {
	i := int(c.place().at) - 1
	if i < 0 {
		return
	}
	set := *cs
	last := len(set) - 1
	set[i] = set[last]
	set[i].place().at = int32(i + 1)
	set[last] = nil
	*cs = set[:last]
	c.place().at = 0
}

// replace puts c in old's place, or adds c when old is in none.
func (cs *connSet) replace(old, c served) {
	i := int(old.place().at) - 1
	if i < 0 {
		cs.add(c)
		return
	}
	(*cs)[i] = c
	c.place().at = int32(i + 1)
	old.place().at = 0
}
