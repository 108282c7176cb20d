package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// progressLine draws one status line on a terminal: per source, the number
// of items read so far. It prints only counts and source names, never
// tenant data, so it needs no escaping.
type progressLine struct {
	w     io.Writer
	order []tenant.Source
	count map[tenant.Source]int
	done  map[tenant.Source]bool
	last  time.Time
	start time.Time
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, count: map[tenant.Source]int{}, done: map[tenant.Source]bool{}, start: time.Now()}
}

// update is a collect.Progress; calls are serialised by the collector.
func (p *progressLine) update(src tenant.Source, n int, done bool) {
	if _, ok := p.count[src]; !ok {
		p.order = append(p.order, src)
	}
	p.count[src] = n
	p.done[src] = p.done[src] || done
	if !done && time.Since(p.last) < 150*time.Millisecond {
		return
	}
	p.last = time.Now()
	var b strings.Builder
	finished := 0
	fmt.Fprintf(&b, "\r\x1b[Kreading (%s)", time.Since(p.start).Round(time.Second))
	for _, s := range p.order {
		if p.done[s] {
			finished++
			continue
		}
		fmt.Fprintf(&b, " · %s %d", s, p.count[s])
	}
	fmt.Fprintf(&b, " · %d sources done", finished)
	io.WriteString(p.w, b.String())
}

func (p *progressLine) finish() {
	io.WriteString(p.w, "\r\x1b[K")
	parts := make([]string, 0, len(p.order))
	for _, s := range p.order {
		parts = append(parts, fmt.Sprintf("%s %d", s, p.count[s]))
	}
	fmt.Fprintf(p.w, "read in %s: %s\n", time.Since(p.start).Round(100*time.Millisecond), strings.Join(parts, ", "))
}
