package proxy

import (
	"github.com/discoh/discoh/coherence"
)

// WriteCoherenceStats hands each counter of st to put, named as INFO and stats name it.
func WriteCoherenceStats(st coherence.Stats, put func(name string, v int64)) {
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"coherence_invalidations", st.Invalidations}, {"coherence_invalidate_errors", st.InvalidateErrors},
		{"coherence_pulls", st.Pulls}, {"coherence_pull_errors", st.PullErrors},
		{"coherence_pulls_shared", st.PullsShared}, {"coherence_rows_not_found", st.RowsNotFound},
		{"coherence_installs", st.Installs}, {"coherence_installs_stale", st.InstallsStale},
		{"coherence_fills_stored", st.FillsStored}, {"coherence_fills_refused", st.FillsRefused},
		{"coherence_guard_missing", st.GuardMissing}, {"coherence_guard_errors", st.GuardErrors},
		{"coherence_read_hits", st.ReadHits}, {"coherence_read_misses", st.ReadMisses},
		{"coherence_waits_served", st.WaitsServed}, {"coherence_revalidations", st.Revalidations},
	} {
		put(c.name, c.v)
	}
}

// BoolInt is 1 for true, as INFO and stats report flags.
func BoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
