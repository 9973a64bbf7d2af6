package ring

import (
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// ketamaPointsPerServer is the number of points an average server gets;
// each MD5 digest of a "name-N" string gives ketamaPointsPerHash of them.
const (
	ketamaPointsPerServer = 160
	ketamaPointsPerHash   = 4
)

type ketamaPoint struct {
	value  uint32
	server int
}

// buildKetama lays out twemproxy's ketama continuum: each server with a
// positive weight gets points in proportion to its share of the total
// weight, placed at the four little-endian words of md5("name-0"),
// md5("name-1"), ... Twemproxy formats "name-N" into an 86-byte buffer, so
// names longer than about 80 bytes place points it cannot reproduce.
func (r *Ring) buildKetama(servers []Server) {
	live, total := liveServers(servers)
	var points []ketamaPoint
	for i, s := range servers {
		if s.Weight == 0 {
			continue
		}
		n := ketamaPointCount(uint32(s.Weight), total, live)
		points = appendKetamaPoints(points, i, s.Name, n)
	}
	// Equal values keep server order: twemproxy's qsort on glibc is a
	// stable merge sort, so a tie goes to the server listed first.
	slices.SortStableFunc(points, func(a, b ketamaPoint) int {
		return cmp.Compare(a.value, b.value)
	})
	for _, p := range points {
		r.points = append(r.points, p.value)
		r.owners = append(r.owners, p.server)
	}
}

// liveServers counts the servers with a positive weight and sums their
// weights; checkWeights has made sure the sum fits in 32 bits.
func liveServers(servers []Server) (live int, total uint32) {
	for _, s := range servers {
		if s.Weight > 0 {
			live++
			total += uint32(s.Weight)
		}
	}
	return live, total
}

// ketamaPointCount repeats twemproxy's arithmetic step by step in float32,
// with its tiny float64 nudge, so rounding gives the same count:
// floor(weight/total * 160/4 * live + 1e-10) * 4. The explicit
// conversions keep the compiler from fusing operations.
func ketamaPointCount(weight, total uint32, live int) int {
	share := float32(weight) / float32(total)
	x := float32(share * ketamaPointsPerServer)
	x = float32(x / ketamaPointsPerHash)
	x = float32(x * float32(live))
	nudged := float32(float64(x) + 0.0000000001)
	return int(math.Floor(float64(nudged))) * ketamaPointsPerHash
}

func appendKetamaPoints(points []ketamaPoint, server int, name string, n int) []ketamaPoint {
	label := make([]byte, 0, len(name)+12)
	for i := range n / ketamaPointsPerHash {
		label = append(label[:0], name...)
		label = append(label, '-')
		label = strconv.AppendInt(label, int64(i), 10)
		digest := md5.Sum(label)
		for w := range ketamaPointsPerHash {
			value := binary.LittleEndian.Uint32(digest[4*w:])
			points = append(points, ketamaPoint{value: value, server: server})
		}
	}
	return points
}

// ketamaPosition returns the first point at or after h, wrapping past the
// largest point to the first.
func (r *Ring) ketamaPosition(h uint32) int {
	p, _ := slices.BinarySearch(r.points, h)
	if p == len(r.points) {
		return 0
	}
	return p
}
