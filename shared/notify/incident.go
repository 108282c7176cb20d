package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Incident card limits.
const (
	maxIncidentSteps    = 30 // timeline steps on one card, at most
	maxIncidentEntities = 20
	maxEntityRunes      = 120
	maxIncidentIDRunes  = 40
	maxChainRunes       = 500 // an incident heading: up to four titles and "(+N more)"
)

// IncidentNote is what an incident card says: the incident as correlated
// now, the severity of each of its findings, which of them the card
// announces, and the incident's card count.
type IncidentNote struct {
	Incident incident.Incident
	// Severities are the severities of the incident's findings, by key;
	// a step without one shows none.
	Severities map[string]tenant.Severity
	// New are the keys of the steps this card announces: on a new
	// incident's card they are marked "new" (empty: none marked); a
	// follow-up lists only them.
	New []string
	// Revision counts the incident's cards, this one included: 1 is the
	// incident's first card, 2 its first follow-up.
	Revision int
	// ReportURL overrides CardOptions.ReportURL; the same rules apply.
	ReportURL string
}

// IncidentCard renders a new incident as a Teams message: its severity and
// chain title, its id, severity (and whether it was raised), techniques,
// first and last seen, the tenant, then its timeline — one line per finding
// (time, severity, title, subject name and type; "new" on the steps
// n.New names) followed by a line with its rule id and object id — for as
// many steps as fit (at most 30, the new ones first, then "and N more
// steps"), and its entities. TextRuns only, every string cleaned as in FindingCard. It
// returns ErrCardTooLarge only if even the card without steps and entities
// does not fit.
func IncidentCard(n IncidentNote, opts *CardOptions) ([]byte, error) {
	return incidentMessage(n, opts, false)
}

// FollowUpCard renders a later step of an incident whose first card was
// posted before (Teams Workflows webhooks cannot edit a posted card): a
// short card that names the incident (its id and chain title), says which
// update it is, and lists only the steps n.New names, as IncidentCard
// lists steps, then one line on the incident so far. It is not a fresh
// alarm: its heading says "Incident update".
func FollowUpCard(n IncidentNote, opts *CardOptions) ([]byte, error) {
	return incidentMessage(n, opts, true)
}

func incidentMessage(n IncidentNote, opts *CardOptions, followUp bool) ([]byte, error) {
	o := opts.withDefaults()
	reportURL := n.ReportURL
	if reportURL == "" {
		reportURL = o.ReportURL
	}
	isNew := make(map[string]bool, len(n.New))
	for _, k := range n.New {
		isNew[k] = true
	}
	steps := n.Incident.Timeline
	if followUp {
		steps = nil
		for _, s := range n.Incident.Timeline {
			if isNew[s.Key] {
				steps = append(steps, s)
			}
		}
	}
	total := len(steps)
	// When not every step fits, the new ones are kept first (a card must
	// show what it announces), then the earliest others; the chosen steps
	// are shown in time order.
	order := make([]int, 0, len(steps))
	for i, st := range steps {
		if isNew[st.Key] {
			order = append(order, i)
		}
	}
	for i, st := range steps {
		if !isNew[st.Key] {
			order = append(order, i)
		}
	}
	order = order[:min(len(order), maxIncidentSteps)]
	chosen := func(ns int) []incident.Step {
		idx := slices.Clone(order[:ns])
		slices.Sort(idx)
		out := make([]incident.Step, len(idx))
		for j, i := range idx {
			out[j] = steps[i]
		}
		return out
	}
	build := func(ns, ne int) ([]byte, error) {
		return encode(incidentBody(n, &o, followUp, isNew, chosen(ns), total, ne), reportURL)
	}
	// Entities that clean to nothing are left out (no empty item).
	var ents []string
	for _, e := range n.Incident.Entities {
		if c := limit(e, maxEntityRunes); c != "" {
			ents = append(ents, c)
		}
	}
	n.Incident.Entities = ents
	// With the entities listed, else without them; then the most steps
	// that fit.
	return fitCard([]int{min(len(ents), maxIncidentEntities), 0}, len(order), build)
}

func incidentBody(n IncidentNote, o *CardOptions, followUp bool, isNew map[string]bool, steps []incident.Step, total, nentities int) []element {
	inc := n.Incident
	chain := inc.Title
	if strings.TrimSpace(chain) == "" {
		chain = "(untitled chain)"
	}
	var head element
	if followUp {
		head = heading("Incident update: "+chain, maxChainRunes)
	} else {
		head = heading(severityLabel(inc.Severity)+" incident: "+chain, maxChainRunes)
		head.Inlines[0].Color = severityColor(inc.Severity)
	}
	body := []element{head, field("incident", "Incident", inc.ID, maxIncidentIDRunes)}
	sev := severityLabel(inc.Severity)
	if inc.Raised {
		sev += " (raised one step: three or more techniques chain)"
	}
	body = append(body, field("", "Severity", sev, 100))
	if followUp {
		body = append(body, field("", "Update", strconv.Itoa(max(n.Revision-1, 1))+" (the incident's first card was posted before; this one adds to it)", 200))
	} else {
		if ids := mitreText(inc.Techniques); ids != "" {
			body = append(body, field("", "Techniques", ids, 200))
		}
		if !inc.FirstSeen.IsZero() {
			body = append(body, field("", "First seen", timeText(inc.FirstSeen), 40))
		}
		if !inc.LastSeen.IsZero() {
			body = append(body, field("", "Last seen", timeText(inc.LastSeen), 40))
		}
	}
	if o.TenantName != "" {
		body = append(body, field("", "Tenant", o.TenantName, maxTenantRunes))
	}

	label := fmt.Sprintf("Timeline (%d steps)", total)
	if total == 1 {
		label = "Timeline (1 step)"
	}
	if followUp {
		label = fmt.Sprintf("New steps (%d)", total)
	}
	hdr := bold(label, 40)
	hdr.Spacing = "Medium"
	body = append(body, hdr)
	for i, s := range steps {
		body = append(body, stepLines(s, n.Severities, !followUp && isNew[s.Key], i+1)...)
	}
	if rest := total - len(steps); rest > 0 {
		body = append(body, richText(run(fmt.Sprintf("and %d more steps — see the report", rest), 60)))
	}

	if followUp {
		body = append(body, subtle(fmt.Sprintf("The incident now holds %d findings, seen %s to %s.",
			len(inc.Findings), timeText(inc.FirstSeen), timeText(inc.LastSeen))))
		return body
	}
	if nentities > 0 {
		h := bold(fmt.Sprintf("Entities (%d)", len(inc.Entities)), 40)
		h.Spacing = "Medium"
		body = append(body, h)
		text := strings.Join(inc.Entities[:nentities], ", ") // cleaned and bounded by incidentMessage
		if rest := len(inc.Entities) - nentities; rest > 0 {
			text += fmt.Sprintf(" … +%d more", rest)
		}
		line := richText(run(text, 4000))
		line.ID = "entities"
		body = append(body, line)
	}
	return body
}

// stepLines are a timeline step's two paragraphs: "time Severity title —
// name (type)" (id step-i), then "Rule: rule · Object ID: id" (id
// stepref-i).
func stepLines(s incident.Step, sevs map[string]tenant.Severity, isNew bool, i int) []element {
	when := textRun{Type: "TextRun", Text: timeText(s.Time) + " ", IsSubtle: true, Size: "Small"}
	runs := []textRun{when}
	if isNew {
		runs = append(runs, textRun{Type: "TextRun", Text: "new ", Weight: "Bolder"})
	}
	if sev, ok := sevs[s.Key]; ok {
		runs = append(runs, textRun{Type: "TextRun", Text: severityLabel(sev) + " ", Weight: "Bolder", Color: severityColor(sev)})
	}
	t := s.Title
	if strings.TrimSpace(t) == "" {
		t = s.Rule
	}
	title := run(t, digestTitleRunes)
	title.Text += " — "
	name := run(s.Subject.Name, digestNameRunes)
	if name.Text == "" {
		name.Text = "(no name)"
	}
	runs = append(runs, title, name)
	kind := string(s.Subject.Type)
	if s.Posture {
		kind += ", a standing state"
	}
	if typ := run(kind, 60); typ.Text != "" {
		typ.Text = " (" + typ.Text + ")"
		typ.IsSubtle = true
		runs = append(runs, typ)
	}
	line := richText(runs...)
	line.ID, line.Spacing = "step-"+strconv.Itoa(i), "Small"

	rl := textRun{Type: "TextRun", Text: "Rule: ", IsSubtle: true, Size: "Small"}
	rule := run(s.Rule, maxIDRunes)
	rule.Size = "Small"
	ol := textRun{Type: "TextRun", Text: " · Object ID: ", IsSubtle: true, Size: "Small"}
	oid := run(s.Subject.ID, maxIDRunes)
	if oid.Text == "" {
		oid.Text = "—"
	}
	oid.Size = "Small"
	ref := richText(rl, rule, ol, oid)
	ref.ID, ref.Spacing = "stepref-"+strconv.Itoa(i), "None"
	return []element{line, ref}
}
