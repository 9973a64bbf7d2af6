package ring

import "slices"

// buildModula lays out twemproxy's modula ring: each server with a
// positive weight holds as many consecutive slots as its weight, in the
// order given, and a key takes slot hash % total. One position here stands
// for a server's whole run of slots; ends[p] is where that run ends.
func (r *Ring) buildModula(servers []Server) {
	for i, s := range servers {
		if s.Weight == 0 {
			continue
		}
		r.total += uint64(s.Weight)
		r.owners = append(r.owners, i)
		r.ends = append(r.ends, r.total)
	}
}

// modulaPosition returns the run of slots holding slot h % total: the first
// run that ends after it.
func (r *Ring) modulaPosition(h uint32) int {
	slot := uint64(h) % r.total
	p, _ := slices.BinarySearch(r.ends, slot+1)
	return p
}

// buildRandom gives each server with a positive weight one position,
// whatever its weight, as twemproxy's random distribution does.
func (r *Ring) buildRandom(servers []Server) {
	for i, s := range servers {
		if s.Weight > 0 {
			r.owners = append(r.owners, i)
		}
	}
}
