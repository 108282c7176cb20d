package incident

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Defaults of Options.
const (
	DefaultWindow    = 7 * 24 * time.Hour
	DefaultMaxFanout = 20
	// maxTitleSteps caps the titles a chain's name lists.
	maxTitleSteps = 4
	// maxDepth bounds the evidence walk (evidence is nested a level or two).
	maxDepth = 4
)

// Options tune Correlate; the zero value means the defaults.
type Options struct {
	// Window is the longest time between two event findings that join.
	Window time.Duration
	// MaxFanout: an entity on more event findings than this does not join.
	MaxFanout int
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Window <= 0 {
		out.Window = DefaultWindow
	}
	if out.MaxFanout <= 0 {
		out.MaxFanout = DefaultMaxFanout
	}
	return out
}

// Incident is one attack: the findings that share entities within the
// window. It is the "incidents" element of findings.json.
type Incident struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Severity tenant.Severity `json:"severity"`
	// Raised is true when the severity was raised one step because three or
	// more techniques chain.
	Raised     bool      `json:"raised"`
	Techniques []string  `json:"techniques"`
	FirstSeen  time.Time `json:"firstSeen"`
	LastSeen   time.Time `json:"lastSeen"`
	Timeline   []Step    `json:"timeline"`
	Entities   []string  `json:"entities"`
	Findings   []string  `json:"findings"` // the keys of its findings, in timeline order
}

// Step is one finding of an incident's timeline.
type Step struct {
	Time    time.Time      `json:"time"`
	Key     string         `json:"key"`
	Rule    string         `json:"rule"`
	Title   string         `json:"title"`
	Subject tenant.Subject `json:"subject"`
	// Posture is true for a state attached to the incident through its
	// subject; its time is when the state was observed.
	Posture bool `json:"posture"`
}

// postureRules are the rules whose findings describe a state, not an event:
// they attach to an incident through their subject and never join one by
// themselves. Every other rule is an event rule. policy.registration-
// unrestricted is about the tenant, which is never an entity: it is listed
// so that the table says so. exo.org-audit-disabled is an event rule: its
// subject is the tenant too, but the cmdlet's actor and address join it to
// the attack (the Management Activity API's "not enabled for auditing"
// answer carries neither and joins nothing). The posture.* rules are states
// by name: a dormant account excluded from MFA (a user subject: it attaches
// to the attack on that account, and with the account's other states makes
// no incident), and two about the tenant (unrestricted device-code flow,
// user consent allowed), listed like policy.registration-unrestricted.
var postureRules = map[string]bool{
	"mfa.not-registered":                true,
	"mfa.dormant-unregistered":          true,
	"policy.registration-unrestricted":  true,
	"posture.device-code-unrestricted":  true,
	"posture.dormant-excluded-from-mfa": true,
	"posture.user-consent-allowed":      true,
	"sp.mail-access":                    true,
	"sp.first-party-credential":         true,
	"sp.credential-name-mimicry":        true,
}

// IsPosture reports whether rule's findings are posture (a state) rather
// than events.
func IsPosture(rule string) bool { return postureRules[rule] }

// PostureRules lists the posture rules, sorted.
func PostureRules() []string {
	out := make([]string, 0, len(postureRules))
	for r := range postureRules {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Evidence keys that carry entities, at any depth of the evidence.
var (
	idKeys  = map[string]bool{"actorId": true}
	appKeys = map[string]bool{"appId": true, "appIds": true, "actorAppId": true}
	upnKeys = map[string]bool{"userPrincipalName": true, "memberUserPrincipalName": true, "actor": true}
	ipKeys  = map[string]bool{"ip": true, "actorIp": true, "clientIp": true}
)

// node is one finding (findings with the same key are one node).
type node struct {
	f        tenant.Finding
	posture  bool
	entities []string // sorted, unique
	subject  []string // the subject's own entities (for posture attachment)
}

// Correlate returns the incidents of findings, most severe first (then by
// first seen, then id). It does not modify findings; the result does not
// depend on their order. Findings without a key are left out.
func Correlate(findings []tenant.Finding, opts *Options) []Incident {
	o := opts.withDefaults()
	nodes := buildNodes(findings)
	if len(nodes) == 0 {
		return nil
	}
	// Fan-out of each entity over event findings.
	fan := make(map[string]int)
	for _, n := range nodes {
		if !n.posture {
			for _, e := range n.entities {
				fan[e]++
			}
		}
	}
	joins := func(e string) bool { return fan[e] <= o.MaxFanout }

	parent := make([]int, len(nodes))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// The smaller index (earlier node) is always the root: nodes are sorted
	// by time, so a root is its group's anchor.
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if rb < ra {
			ra, rb = rb, ra
		}
		parent[rb] = ra
	}

	// Event joins: per entity, consecutive event findings within the window.
	byEntity := make(map[string][]int)
	for i, n := range nodes {
		if n.posture {
			continue
		}
		for _, e := range n.entities {
			if joins(e) {
				byEntity[e] = append(byEntity[e], i)
			}
		}
	}
	for _, idx := range byEntity { // idx ascending: nodes are in time order
		for k := 1; k < len(idx); k++ {
			a, b := nodes[idx[k-1]], nodes[idx[k]]
			if b.f.ObservedAt.Sub(a.f.ObservedAt) <= o.Window {
				union(idx[k-1], idx[k])
			}
		}
	}

	// Posture attachment: the group (by its root, the earliest) that holds
	// the subject's entities through an event finding.
	group := make([]int, len(nodes))
	for i, n := range nodes {
		if !n.posture {
			group[i] = find(i)
		} else {
			group[i] = -1
		}
	}
	for i, n := range nodes {
		if !n.posture {
			continue
		}
		best := -1
		for _, e := range n.subject {
			if !joins(e) {
				continue
			}
			for _, j := range byEntity[e] {
				if r := group[j]; best < 0 || r < best {
					best = r
				}
			}
		}
		group[i] = best
	}

	members := make(map[int][]int)
	for i, g := range group {
		if g >= 0 {
			members[g] = append(members[g], i)
		}
	}
	var out []Incident
	for root, ms := range members {
		if len(ms) < 2 {
			continue
		}
		out = append(out, build(nodes, root, ms, joins))
	}
	slices.SortFunc(out, func(a, b Incident) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// buildNodes dedupes findings by key and sorts them: event findings by
// time then key, and every field compared so that the order is total.
func buildNodes(findings []tenant.Finding) []*node {
	byKey := make(map[string]*node)
	for _, f := range findings {
		if f.Key == "" {
			continue
		}
		n := &node{f: f, posture: IsPosture(f.Rule)}
		n.subject = subjectEntities(f)
		// A copy: uniq sorts and compacts in place, and a shared array
		// would leave an empty entity behind (a user's UPN is both its
		// name and its evidence userPrincipalName).
		n.entities = slices.Clone(n.subject)
		if !n.posture {
			n.entities = append(slices.Clone(n.subject), evidenceEntities(f.Evidence)...)
		}
		if old, ok := byKey[f.Key]; ok {
			// The same key twice: one node, with every entity of both and
			// the fields of the lesser, so that order does not matter.
			keep := old
			if lessFinding(f, old.f) {
				keep = n
			}
			keep.entities = append(slices.Clone(old.entities), n.entities...)
			keep.subject = append(slices.Clone(old.subject), n.subject...)
			keep.posture = old.posture && n.posture
			n = keep
		}
		byKey[f.Key] = n
	}
	nodes := make([]*node, 0, len(byKey))
	for _, n := range byKey {
		n.entities = uniq(n.entities)
		n.subject = uniq(n.subject)
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b *node) int {
		return cmp.Or(a.f.ObservedAt.Compare(b.f.ObservedAt), cmp.Compare(a.f.Key, b.f.Key))
	})
	return nodes
}

// lessFinding orders two findings with the same key on their other fields.
func lessFinding(a, b tenant.Finding) bool {
	return cmp.Or(
		a.ObservedAt.Compare(b.ObservedAt),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Severity, b.Severity),
		cmp.Compare(a.Title, b.Title),
		cmp.Compare(a.Subject.Type, b.Subject.Type),
		cmp.Compare(a.Subject.ID, b.Subject.ID),
		cmp.Compare(a.Subject.Name, b.Subject.Name),
		cmp.Compare(strings.Join(a.MITRE, ","), strings.Join(b.MITRE, ",")),
		cmp.Compare(fmt.Sprint(a.Evidence), fmt.Sprint(b.Evidence)),
	) < 0
}

func uniq(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// subjectEntities are the entities of a finding's subject: its object id
// (never for a tenant or organization), its app id (evidence "appId" of a
// service principal or application) and its UPN (a user's evidence
// "userPrincipalName").
func subjectEntities(f tenant.Finding) []string {
	var out []string
	switch f.Subject.Type {
	case tenant.SubjectUser, tenant.SubjectServicePrincipal, tenant.SubjectApplication, tenant.SubjectGroup:
	default:
		return nil
	}
	if id := norm(f.Subject.ID); id != "" {
		out = append(out, "id:"+id)
	}
	switch f.Subject.Type {
	case tenant.SubjectServicePrincipal, tenant.SubjectApplication:
		if s, ok := f.Evidence["appId"].(string); ok && norm(s) != "" {
			out = append(out, "app:"+norm(s))
		}
	case tenant.SubjectUser:
		if s, ok := f.Evidence["userPrincipalName"].(string); ok && strings.Contains(s, "@") {
			out = append(out, "upn:"+norm(s))
		}
		if strings.Contains(f.Subject.Name, "@") {
			out = append(out, "upn:"+norm(f.Subject.Name))
		}
	}
	return out
}

// evidenceEntities walks evidence (maps and lists, maxDepth deep) for the
// keys that carry entities. The evidence is read through its JSON form, as
// findings.json holds it, so that findings straight from the detectors
// (typed maps and slices) and findings read back from a file give the same
// entities.
func evidenceEntities(ev map[string]any) []string {
	var out []string
	add := func(key, s string) {
		switch {
		case idKeys[key]:
			if id := norm(s); id != "" {
				out = append(out, "id:"+id)
			}
		case appKeys[key]:
			if id := norm(s); id != "" {
				out = append(out, "app:"+id)
			}
		case upnKeys[key]:
			if strings.Contains(s, "@") {
				out = append(out, "upn:"+norm(s))
			}
		case ipKeys[key]:
			if ip, ok := parseIP(s); ok {
				out = append(out, "ip:"+ip)
			}
		}
	}
	var walk func(v any, key string, depth int)
	walk = func(v any, key string, depth int) {
		if depth > maxDepth {
			return
		}
		switch v := v.(type) {
		case string:
			add(key, v)
		case []any:
			for _, x := range v {
				walk(x, key, depth+1)
			}
		case map[string]any:
			for k, x := range v {
				walk(x, k, depth+1)
			}
		}
	}
	walk(asJSON(ev), "", 0)
	return out
}

// asJSON is v decoded from its JSON encoding (nil when it cannot be
// encoded: such a finding cannot be written to findings.json either).
func asJSON(v map[string]any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// norm lower-cases and trims an identifier.
func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// parseIP parses an address, with or without a port, in its canonical form.
func parseIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String(), true
	}
	return "", false
}

// build makes the incident of the nodes ms (ascending, so time-ordered;
// root the anchor).
func build(nodes []*node, root int, ms []int, joins func(string) bool) Incident {
	slices.SortFunc(ms, func(a, b int) int {
		na, nb := nodes[a], nodes[b]
		return cmp.Or(na.f.ObservedAt.Compare(nb.f.ObservedAt), cmp.Compare(na.f.Key, nb.f.Key))
	})
	sum := sha256.Sum256([]byte(nodes[root].f.Key))
	inc := Incident{ID: "inc-" + hex.EncodeToString(sum[:8])}
	techs := make(map[string]bool)
	entities := make(map[string]bool)
	var titles []string
	seenTitle := make(map[string]bool)
	var first, last time.Time
	for _, i := range ms {
		n := nodes[i]
		f := n.f
		title := cmp.Or(f.Title, f.Rule)
		inc.Timeline = append(inc.Timeline, Step{Time: f.ObservedAt.UTC(), Key: f.Key, Rule: f.Rule, Title: title, Subject: f.Subject, Posture: n.posture})
		inc.Findings = append(inc.Findings, f.Key)
		if f.Severity.Valid() && f.Severity > inc.Severity {
			inc.Severity = f.Severity
		}
		if len(f.MITRE) == 0 {
			techs[f.Rule] = true
		}
		for _, t := range f.MITRE {
			techs[strings.TrimSpace(t)] = true
		}
		for _, e := range n.entities {
			if joins(e) {
				entities[e] = true
			}
		}
		if n.posture {
			continue
		}
		if !seenTitle[title] {
			seenTitle[title] = true
			titles = append(titles, title)
		}
		if first.IsZero() || f.ObservedAt.Before(first) {
			first = f.ObservedAt
		}
		if f.ObservedAt.After(last) {
			last = f.ObservedAt
		}
	}
	if !inc.Severity.Valid() {
		inc.Severity = tenant.SeverityInfo
	}
	inc.Techniques = sortedKeys(techs)
	if len(inc.Techniques) >= 3 && inc.Severity < tenant.SeverityCritical {
		inc.Severity++
		inc.Raised = true
	}
	inc.Entities = sortedKeys(entities)
	inc.FirstSeen, inc.LastSeen = first.UTC(), last.UTC()
	inc.Title = chainTitle(titles)
	return inc
}

// chainTitle names a chain: "A → B → C", at most maxTitleSteps titles and
// then how many more.
func chainTitle(titles []string) string {
	if len(titles) <= maxTitleSteps {
		return strings.Join(titles, " → ")
	}
	return fmt.Sprintf("%s → … (+%d more)", strings.Join(titles[:maxTitleSteps], " → "), len(titles)-maxTitleSteps)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
