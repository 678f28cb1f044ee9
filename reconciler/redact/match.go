package redact

import (
	"math/bits"
	"slices"
	"strings"
	"time"
)

// A matcher finds every occurrence of a fixed set of patterns, each at least anchorLen bytes long,
// in one pass over the text. The first anchorLen bytes of a pattern are its anchor. The pass keeps
// the last anchorLen bytes of text in a word and looks it up in a small Bloom filter (two bits of a
// bit set that stays in the CPU cache); only on a hit does it consult the map from anchor to the
// patterns that start with it. The cost is a few nanoseconds a byte whatever the number of
// patterns, where strings.Replacer walks a trie at most positions once the patterns start with
// most letters; see BenchmarkRedact.
//
// Unlike strings.Replacer, it finds overlapping occurrences too and masks their union, so two
// secrets that overlap (or a value and one of its forms) leave nothing of either in the text.
type matcher struct {
	bits     []uint64
	shift    uint // 64 - log2(len(bits)*64)
	byAnchor map[uint64][]string
	// validUntil is when the next issued value expires, zero if none does: the matcher is rebuilt then.
	validUntil time.Time
}

const (
	anchorLen  = MinLen
	anchorMask = 1<<(8*anchorLen) - 1
)

// newMatcher builds a matcher for patterns, which may repeat.
func newMatcher(patterns []string, validUntil time.Time) *matcher {
	m := &matcher{byAnchor: map[uint64][]string{}, validUntil: validUntil}
	if len(patterns) == 0 {
		return m
	}
	// 64 bits a pattern and two probes: about one position in a thousand consults the map.
	n := max(64*len(patterns), 1<<16)
	logBits := bits.Len(uint(n - 1))
	m.bits = make([]uint64, 1<<logBits/64)
	m.shift = uint(64 - logBits)
	seen := make(map[string]struct{}, len(patterns))
	for _, p := range patterns {
		if _, ok := seen[p]; ok {
			continue
		}
		seen[p] = struct{}{}
		a := anchor(p)
		m.byAnchor[a] = append(m.byAnchor[a], p)
		h1, h2 := m.hash(a)
		m.bits[h1/64] |= 1 << (h1 % 64)
		m.bits[h2/64] |= 1 << (h2 % 64)
	}
	for _, ps := range m.byAnchor {
		// Longest first: at one position the longest match covers every shorter one.
		slices.SortFunc(ps, func(a, b string) int { return len(b) - len(a) })
	}
	return m
}

func anchor(p string) uint64 {
	var a uint64
	for i := range anchorLen {
		a = a<<8 | uint64(p[i])
	}
	return a
}

// hash returns two bit positions for an anchor.
func (m *matcher) hash(a uint64) (uint64, uint64) {
	return (a * 0x9e3779b97f4a7c15) >> m.shift, (a * 0xc2b2ae3d27d4eb4f) >> m.shift
}

// valid reports whether no issued value expired since the matcher was built.
func (m *matcher) valid() bool {
	return m.validUntil.IsZero() || time.Now().Before(m.validUntil)
}

// redactString masks every occurrence in text.
func (m *matcher) redactString(text string) string {
	out, _ := m.redact(text)
	return out
}

// redact masks every occurrence in text and reports whether there was one.
func (m *matcher) redact(text string) (string, bool) {
	if len(m.byAnchor) == 0 || len(text) < anchorLen {
		return text, false
	}
	var (
		b          strings.Builder
		done       int     // text[:done] is written to b or masked
		start, end = -1, 0 // the stretch being masked, when start >= 0
	)
	var w uint64
	for i := range anchorLen - 1 {
		w = w<<8 | uint64(text[i])
	}
	for i := anchorLen - 1; i < len(text); i++ {
		w = (w<<8 | uint64(text[i])) & anchorMask
		h1, h2 := m.hash(w)
		if m.bits[h1/64]&(1<<(h1%64)) == 0 || m.bits[h2/64]&(1<<(h2%64)) == 0 {
			continue
		}
		at := i + 1 - anchorLen
		for _, p := range m.byAnchor[w] {
			if !strings.HasPrefix(text[at:], p) {
				continue
			}
			switch {
			case start >= 0 && at < end: // overlaps the stretch: extend it
				end = max(end, at+len(p))
			default:
				if start >= 0 {
					b.WriteString(text[done:start])
					b.WriteString(Mask)
					done = end
				} else {
					b.Grow(len(text))
				}
				start, end = at, at+len(p)
			}
			break
		}
	}
	if start < 0 {
		return text, false
	}
	b.WriteString(text[done:start])
	b.WriteString(Mask)
	b.WriteString(text[end:])
	return b.String(), true
}
