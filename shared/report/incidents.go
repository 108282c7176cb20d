package report

import (
	"bytes"
	"cmp"
	"strconv"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Incidents in the reports: report.html's first section, the summary's
// first lines and one Detection Finding each in findings.ocsf.jsonl.

// maxTextIncidentSteps caps the timeline lines of one incident in the
// terminal summary.
const maxTextIncidentSteps = 12

// incidentView is one incident of report.html.
type incidentView struct {
	Anchor     string
	ID         string
	Severity   severityView
	Raised     bool
	Title      string
	First      timeView
	Last       timeView
	Techniques []mitreView
	Entities   []string
	Steps      []stepView
}

// stepView is one line of an incident's timeline.
type stepView struct {
	Time        timeView
	Severity    severityView
	Rule        string
	Title       string
	SubjectType string
	SubjectName string
	SubjectID   string
	Key         string
	Posture     bool
}

// incidentViews builds the incidents' views; a step's severity is its
// finding's (looked up by key).
func incidentViews(d *Document) []incidentView {
	if len(d.Incidents) == 0 {
		return nil
	}
	re := mitreID()
	sev := make(map[string]tenant.Severity, len(d.Findings))
	for _, f := range d.Findings {
		if _, dup := sev[f.Key]; !dup {
			sev[f.Key] = f.Severity
		}
	}
	out := make([]incidentView, 0, len(d.Incidents))
	for i, inc := range d.Incidents {
		v := incidentView{
			Anchor:     "incident-" + strconv.Itoa(i+1),
			ID:         display(inc.ID),
			Severity:   severityOf(inc.Severity),
			Raised:     inc.Raised,
			Title:      display(inc.Title),
			First:      timeView{Attr: timeAttr(inc.FirstSeen), Text: timeText(inc.FirstSeen)},
			Last:       timeView{Attr: timeAttr(inc.LastSeen), Text: timeText(inc.LastSeen)},
			Techniques: mitreViews(re, inc.Techniques),
		}
		for _, e := range inc.Entities {
			v.Entities = append(v.Entities, display(e))
		}
		for _, s := range inc.Timeline {
			v.Steps = append(v.Steps, stepView{
				Time:        timeView{Attr: timeAttr(s.Time), Text: timeText(s.Time)},
				Severity:    severityOf(sev[s.Key]),
				Rule:        display(s.Rule),
				Title:       display(s.Title),
				SubjectType: display(string(s.Subject.Type)),
				SubjectName: display(s.Subject.Name),
				SubjectID:   display(s.Subject.ID),
				Key:         display(s.Key),
				Posture:     s.Posture,
			})
		}
		out = append(out, v)
	}
	return out
}

// incidents writes the "Incidents" section, first on the page, when there
// are incidents.
func (w *htmlWriter) incidents(v *htmlView) {
	if len(v.Incidents) == 0 {
		return
	}
	n := len(v.Incidents)
	w.raw("<section id=\"incidents\">\n<h2>Incidents</h2>\n<p>")
	w.num(n)
	w.raw(" ", plural(n, "incident ties", "incidents tie"), " findings together: findings that share a user, an app, an address or the actor of a change within the correlation window. The findings themselves follow below.</p>")
	for _, inc := range v.Incidents {
		w.raw("\n<article class=\"finding ")
		w.attr(inc.Severity.Class)
		w.raw(`" id="`)
		w.attr(inc.Anchor)
		w.raw("\">\n<h3>")
		w.badge(inc.Severity)
		w.el(` <span class="s">`, inc.Title, "</span></h3>\n<dl class=\"facts\">\n")
		w.el("<dt>Incident</dt><dd><code>", inc.ID, "</code></dd>\n")
		w.raw("<dt>Seen</dt><dd>")
		if inc.First.Text != "" {
			w.time(inc.First)
			if inc.Last.Text != "" && inc.Last.Attr != inc.First.Attr {
				w.raw(" to ")
				w.time(inc.Last)
			}
		} else {
			w.raw(`<span class="muted">(not recorded)</span>`)
		}
		w.raw("</dd>\n<dt>ATT&amp;CK</dt><dd>")
		w.mitre(inc.Techniques)
		if inc.Raised {
			w.raw(`<br><span class="muted">severity raised one step: three or more techniques chain</span>`)
		}
		w.raw("</dd>\n<dt>Entities</dt><dd>")
		if len(inc.Entities) == 0 {
			w.raw(`<span class="muted">—</span>`)
		}
		for i, e := range inc.Entities {
			if i > 0 {
				w.raw(", ")
			}
			w.el("<code>", e, "</code>")
		}
		w.raw("</dd>\n</dl>\n<h4>Timeline</h4>\n<div class=\"scroll\"><table>",
			"\n<thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Severity</th><th scope=\"col\">Finding</th><th scope=\"col\">Subject</th></tr></thead>",
			"\n<tbody>")
		for _, s := range inc.Steps {
			w.raw("\n<tr><td>")
			if s.Time.Text != "" {
				w.time(s.Time)
			}
			if s.Posture {
				w.raw(`<span class="desc">state, seen at the scan</span>`)
			}
			w.raw("</td><td>")
			w.badge(s.Severity)
			w.el(`</td><td><span class="s">`, s.Title, "</span>")
			w.el(`<span class="desc"><code>`, s.Rule, "</code></span>")
			w.el(`<span class="desc"><code>`, s.Key, "</code></span>")
			w.el("</td><td>", s.SubjectType, ": ")
			if s.SubjectName != "" {
				w.el(`<bdi class="s">`, s.SubjectName, `</bdi>`)
			} else {
				w.raw(`<span class="muted">(no name)</span>`)
			}
			if s.SubjectID != "" {
				w.el("<br><code>", s.SubjectID, "</code>")
			}
			w.raw("</td></tr>")
		}
		w.raw("\n</tbody>\n</table></div>\n</article>")
	}
	w.raw("\n</section>\n")
}

// writeTextIncidents writes the summary's incident lines: each incident's
// severity, title and id, then its timeline (at most
// maxTextIncidentSteps lines).
func writeTextIncidents(b *bytes.Buffer, d *Document) {
	if len(d.Incidents) == 0 {
		return
	}
	sev := make(map[string]tenant.Severity, len(d.Findings))
	for _, f := range d.Findings {
		if _, dup := sev[f.Key]; !dup {
			sev[f.Key] = f.Severity
		}
	}
	b.WriteString("Incidents: " + strconv.Itoa(len(d.Incidents)) + " (findings one attack ties together)\n")
	for _, inc := range d.Incidents {
		raised := ""
		if inc.Raised {
			raised = ", raised: 3+ techniques"
		}
		b.WriteString("  " + strings.ToUpper(inc.Severity.String()) + "  " + truncate(terminal(inc.Title), 2*maxTextSubject) +
			"  [" + terminal(inc.ID) + ", " + strconv.Itoa(len(inc.Findings)) + " findings" + raised + "]\n")
		for i, s := range inc.Timeline {
			if i == maxTextIncidentSteps {
				b.WriteString("      … and " + strconv.Itoa(len(inc.Timeline)-i) + " more\n")
				break
			}
			when := "(state)         "
			if !s.Posture && !s.Time.IsZero() {
				when = s.Time.UTC().Format("2006-01-02 15:04")
			}
			name := cmp.Or(s.Subject.Name, s.Subject.ID)
			b.WriteString("      " + when + "  " + sev[s.Key].String() + "  " + terminal(s.Rule) + "  " + truncate(terminal(name), maxTextSubject) + "\n")
		}
	}
	b.WriteString("\n")
}

// ocsfIncidentUnmapped keeps an incident's own fields: its timeline, the
// entities that joined it and whether its severity was raised.
type ocsfIncidentUnmapped struct {
	Incident   bool            `json:"incident"`
	Raised     bool            `json:"raised"`
	Techniques []string        `json:"techniques"`
	Entities   []string        `json:"entities"`
	Findings   []string        `json:"findings"`
	Timeline   []incident.Step `json:"timeline"`
}

// ocsfRelatedEvent is an OCSF related_event: one finding of the incident,
// its uid (the finding's finding_info.uid, its key), the type of its line,
// its title and severity.
type ocsfRelatedEvent struct {
	UID        string `json:"uid"`
	TypeUID    int    `json:"type_uid"`
	TypeName   string `json:"type_name"`
	Title      string `json:"title,omitempty"`
	SeverityID int    `json:"severity_id"`
	Severity   string `json:"severity"`
}

// incidentEvent maps one incident to a Detection Finding: finding_info.uid
// the incident id, the analytic tenantwatch.incident, attacks its
// techniques, related_events the finding lines (their uid, the finding key,
// and their type), resources every subject of its findings, one evidence
// artifact listing its entities. Compared with an earlier scan, an
// incident none of whose findings is new is Update / In Progress.
func incidentEvent(d *Document, meta ocsfMetadata, inc incident.Incident, types map[string]int, sevs map[string]tenant.Severity) ocsfEvent {
	sevID, sevName := ocsfSeverity(inc.Severity)
	activity, status := ocsfActivityCreate, ocsfStatusNew
	if d.Changes != nil {
		activity, status = ocsfActivityUpdate, ocsfStatusInProgress
		for _, k := range inc.Findings {
			if types[k] != ocsfClassUID*100+ocsfActivityUpdate {
				activity, status = ocsfActivityCreate, ocsfStatusNew
				break
			}
		}
	}
	ev := ocsfEvent{
		ActivityID:     activity,
		ActivityName:   ocsfActivityNames[activity],
		CategoryUID:    ocsfCategoryUID,
		CategoryName:   "Findings",
		ClassUID:       ocsfClassUID,
		ClassName:      "Detection Finding",
		TypeUID:        ocsfClassUID*100 + activity,
		TypeName:       "Detection Finding: " + ocsfActivityNames[activity],
		SeverityID:     sevID,
		Severity:       sevName,
		StatusID:       status,
		Status:         ocsfStatusNames[status],
		Time:           epochMillis(d.GeneratedAt),
		TimezoneOffset: 0,
		Message:        "Incident: " + inc.Title,
		IsAlert:        true,
		FindingInfo: ocsfFindingInfo{
			UID:                inc.ID,
			Title:              inc.Title,
			Desc:               strconv.Itoa(len(inc.Findings)) + " findings that share users, apps, addresses or actors within the correlation window",
			Analytic:           ocsfAnalytic{UID: "tenantwatch.incident", Name: "Incident correlation", TypeID: 1, Type: "Rule"},
			Attacks:            ocsfAttacks(inc.Techniques),
			FirstSeenTime:      epochMillis(inc.FirstSeen),
			LastSeenTime:       epochMillis(inc.LastSeen),
			RelatedEventsCount: len(inc.Findings),
		},
		Evidences: []ocsfEvidence{{Name: "tenantwatch.incident", Data: map[string]any{"entities": nonNil(inc.Entities)}}},
		Metadata:  meta,
		Unmapped: ocsfIncidentUnmapped{Incident: true, Raised: inc.Raised, Techniques: nonNil(inc.Techniques),
			Entities: nonNil(inc.Entities), Findings: nonNil(inc.Findings), Timeline: inc.Timeline},
	}
	seen := make(map[string]bool)
	for _, s := range inc.Timeline {
		t := cmp.Or(types[s.Key], ocsfClassUID*100+ocsfActivityCreate)
		sid, sname := ocsfSeverity(sevs[s.Key])
		ev.FindingInfo.RelatedEvents = append(ev.FindingInfo.RelatedEvents, ocsfRelatedEvent{UID: s.Key, TypeUID: t,
			TypeName: "Detection Finding: " + ocsfActivityNames[t%100], Title: s.Title, SeverityID: sid, Severity: sname})
		r := ocsfResource{UID: s.Subject.ID, Name: s.Subject.Name, Type: ocsfResourceType(s.Subject.Type), RoleID: 1, Role: "Target"}
		if k := r.Type + "\x00" + r.UID + "\x00" + r.Name; !seen[k] {
			seen[k] = true
			ev.Resources = append(ev.Resources, r)
		}
	}
	if ev.Unmapped.(ocsfIncidentUnmapped).Timeline == nil {
		u := ev.Unmapped.(ocsfIncidentUnmapped)
		u.Timeline = []incident.Step{}
		ev.Unmapped = u
	}
	if ev.Resources == nil {
		ev.Resources = []ocsfResource{}
	}
	return ev
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
