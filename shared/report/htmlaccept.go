package report

import "github.com/tenantwatch/tenantwatch/shared/accept"

// acceptedView is an accepted finding's mark on the page.
type acceptedView struct {
	Entry      int
	Reason     string
	AcceptedBy string
	Expires    string // YYYY-MM-DD
}

// acceptanceView is the "Accepted risks" section.
type acceptanceView struct {
	Accepted, Total int
	Entries         int // unexpired entries
	Expired         []expiredView
}

// expiredView is one expired entry of the accept file.
type expiredView struct {
	Entry      int
	Names      string // what the entry names: rule, subjectId, subjectName, key
	Reason     string
	AcceptedBy string
	Expires    string
	WouldMatch []string
}

func acceptedViewOf(m *accept.Mark) *acceptedView {
	if m == nil {
		return nil
	}
	return &acceptedView{Entry: m.Entry, Reason: display(m.Reason), AcceptedBy: display(m.AcceptedBy), Expires: m.Expires.String()}
}

func acceptanceViewOf(d *Document) *acceptanceView {
	a := d.Acceptance
	if a == nil {
		return nil
	}
	v := &acceptanceView{Accepted: a.Accepted(), Total: len(d.Findings), Entries: len(a.Applied)}
	for _, e := range a.Expired {
		names := ""
		for _, p := range []struct{ k, v string }{{"rule", e.Rule}, {"subjectId", e.SubjectID}, {"subjectName", e.SubjectName}, {"key", e.Key}} {
			if p.v != "" {
				if names != "" {
					names += ", "
				}
				names += p.k + " " + p.v
			}
		}
		ev := expiredView{Entry: e.Entry, Names: display(names), Reason: display(e.Reason), AcceptedBy: display(e.AcceptedBy), Expires: e.Expires.String()}
		for _, k := range e.WouldMatch {
			ev.WouldMatch = append(ev.WouldMatch, display(k))
		}
		v.Expired = append(v.Expired, ev)
	}
	return v
}

// accepted writes the "Accepted" fact of an accepted finding.
func (w *htmlWriter) accepted(a *acceptedView) {
	if a == nil {
		return
	}
	w.raw(`<dt>Accepted</dt><dd><span class="status-skipped">accepted risk</span> until `)
	w.el("<code>", a.Expires, "</code> by ")
	w.el(`<bdi class="s">`, a.AcceptedBy, `</bdi>`)
	w.raw(" (entry ")
	w.num(a.Entry)
	w.el(`): <span class="s">`, a.Reason, "</span></dd>\n")
}

// acceptance writes the "Accepted risks" section when an accept file was
// applied: the count and every expired entry with what it would have
// accepted.
func (w *htmlWriter) acceptance(v *htmlView) {
	a := v.Acceptance
	if a == nil {
		return
	}
	w.raw("<section id=\"acceptance\">\n<h2>Accepted risks</h2>\n<p>")
	w.num(a.Accepted)
	w.raw(" of ")
	w.num(a.Total)
	w.raw(" ", plural(a.Total, "finding is", "findings are"), " accepted by ")
	w.num(a.Entries)
	w.raw(" unexpired accept ", plural(a.Entries, "entry", "entries"),
		": still listed below and marked accepted, never alerted on; --fail-on and --fail-on-new ignore them.</p>")
	if len(a.Expired) == 0 {
		w.raw("\n<p class=\"muted\">No accept entry has expired.</p>\n</section>\n")
		return
	}
	w.raw("\n<div class=\"note warn\"><p>These accept entries have expired and no longer apply: the findings they named are reported as any other.</p></div>",
		"\n<div class=\"scroll\"><table>",
		"\n<thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Names</th><th scope=\"col\">Expired</th><th scope=\"col\">Accepted by</th><th scope=\"col\">Reason</th><th scope=\"col\">Would have accepted</th></tr></thead>",
		"\n<tbody>")
	for _, e := range a.Expired {
		w.raw("\n<tr><td class=\"num\">")
		w.num(e.Entry)
		w.el(`</td><td><span class="s">`, e.Names, "</span>")
		w.el("</td><td><code>", e.Expires, "</code>")
		w.el(`</td><td><bdi class="s">`, e.AcceptedBy, "</bdi>")
		w.el(`</td><td><span class="s">`, e.Reason, "</span></td><td>")
		if len(e.WouldMatch) == 0 {
			w.raw(`<span class="muted">nothing</span>`)
		} else {
			w.raw(`<ul class="plain">`)
			for _, k := range e.WouldMatch {
				w.el("<li><code>", k, "</code></li>")
			}
			w.raw("</ul>")
		}
		w.raw("</td></tr>")
	}
	w.raw("\n</tbody>\n</table></div>\n</section>\n")
}
