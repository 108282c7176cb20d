package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// IncidentStore keeps the incidents the app has carded and reads the
// findings that correlation joins. *store.Tables satisfies it.
type IncidentStore interface {
	// OpenFindingsSince streams the recorded findings that are not resolved
	// and were last seen at or after since, at most max, and says whether
	// it stopped at max.
	OpenFindingsSince(ctx context.Context, since time.Time, max int, fn func(state.FindingRecord) error) (bool, error)
	// Incidents streams the stored incidents whose last card was queued at
	// or after since.
	Incidents(ctx context.Context, since time.Time, fn func(state.IncidentRecord) error) error
	// SaveIncident inserts (ETag "") or replaces (under its ETag) an
	// incident; losing a race is an error wrapping tenant.ErrConflict.
	SaveIncident(ctx context.Context, r state.IncidentRecord) (state.IncidentRecord, error)
}

// Correlation bounds of the deployed app.
const (
	// correlateWindow is how far back the findings that correlation joins
	// were last seen: incident.DefaultWindow, the join window.
	correlateWindow = incident.DefaultWindow
	// correlateMax bounds the findings one correlation reads.
	correlateMax = 5000
	// incidentKeep is how long after its last card a stored incident is
	// still matched: a finding joins through findings at most a window
	// apart, so two windows cover a chain whose last card is a window old.
	incidentKeep = 2 * correlateWindow
	// incidentAttempts bounds the retries of one incident card that lost
	// a race (its revision taken, its record changed).
	incidentAttempts = 4
)

// acceptedFinding is a finding an accept entry keeps from being recorded
// and carded; exact says the entry names it exactly (accept.Entry.Exact).
type acceptedFinding struct {
	f     tenant.Finding
	exact bool
}

// alertPlan is what a round's new findings put in the outbox: own cards
// (and the lower-severity digest) through notify.Outbox.Add, and one card
// per incident that gained a step.
type alertPlan struct {
	own       []tenant.Finding
	incidents []incidentCard
}

// incidentCard is one incident card to queue and the record to store
// once it is queued.
type incidentCard struct {
	note notify.IncidentNote
	rec  state.IncidentRecord
	// fresh are the keys among note.New that were recorded new: the
	// findings this card alerts (the others are accepted findings).
	fresh []string
}

// planAlerts decides, purely, how the new findings of a round are
// alerted. fresh are the findings recording found new; accepted the
// round's findings an accept entry keeps out of the record; window the
// recorded findings correlation joins them with; stored the incidents
// already carded. It correlates window, fresh and accepted together
// (incident.Correlate) and, for each incident that holds a fresh finding
// or an accepted one its record does not hold yet:
//
//   - matched to no stored incident (none shares a finding with it), it
//     is new: one card (revision 1) announcing those steps, the incident
//     recorded under its id;
//   - matched, it continues the stored incident that shares findings
//     with it (the earliest first seen when several do): a follow-up
//     card (the stored revision + 1) under the stored id, listing only
//     the new steps;
//   - its card is left out when its severity is below threshold (its
//     fresh findings are then alerted as before: the digest), and when
//     acceptance covers it: a new incident whose every finding is
//     accepted by an entry naming it exactly, a follow-up whose every new
//     step is. An accepted finding that a broad entry (a rule alone, a
//     name pattern) accepts never hides an incident step.
//
// Fresh findings an incident card announces get no card of their own;
// the rest do (plan.own), as before incidents.
func planAlerts(fresh []tenant.Finding, accepted []acceptedFinding, window []tenant.Finding, stored []state.IncidentRecord, threshold tenant.Severity, now time.Time) alertPlan {
	if len(fresh) == 0 && len(accepted) == 0 {
		return alertPlan{}
	}
	byKey := make(map[string]tenant.Finding, len(window)+len(fresh)+len(accepted))
	for _, f := range window {
		byKey[f.Key] = f
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, f := range fresh {
		byKey[f.Key], isFresh[f.Key] = f, true
	}
	exact := make(map[string]bool)
	isAccepted := make(map[string]bool)
	for _, a := range accepted {
		byKey[a.f.Key], isAccepted[a.f.Key] = a.f, true
		exact[a.f.Key] = a.exact
	}
	all := make([]tenant.Finding, 0, len(byKey))
	for _, f := range byKey {
		all = append(all, f)
	}
	incs := incident.Correlate(all, nil)

	// The stored incident of each member key (the earliest first seen
	// when a key is in several).
	stored = slices.Clone(stored)
	slices.SortFunc(stored, func(a, b state.IncidentRecord) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.ID, b.ID))
	})
	memberOf := make(map[string]int)
	for i, r := range stored {
		for _, k := range r.Members {
			if _, ok := memberOf[k]; !ok {
				memberOf[k] = i
			}
		}
	}

	var plan alertPlan
	covered := make(map[string]bool)
	for _, inc := range incs {
		match := -1
		for _, k := range inc.Findings {
			if i, ok := memberOf[k]; ok && (match < 0 || i < match) {
				match = i
			}
		}
		var rec state.IncidentRecord
		known := make(map[string]bool)
		if match >= 0 {
			rec = stored[match]
			for _, k := range rec.Members {
				known[k] = true
			}
		}
		var newKeys, freshKeys []string
		for _, k := range inc.Findings {
			// A fresh finding is a new step even when the record holds it
			// (resolved, then seen again): recording said it is new.
			if isFresh[k] || isAccepted[k] && !known[k] {
				newKeys = append(newKeys, k)
			}
			if isFresh[k] {
				freshKeys = append(freshKeys, k)
			}
		}
		if len(newKeys) == 0 || inc.Severity < threshold {
			continue
		}
		judged := newKeys
		if match < 0 {
			judged = inc.Findings
		}
		if allExact(judged, exact) {
			continue
		}
		sev := make(map[string]tenant.Severity, len(inc.Findings))
		for _, k := range inc.Findings {
			sev[k] = byKey[k].Severity
		}
		// A step an entry names exactly is not announced as new (its own
		// card is what the entry hides); it stays in the timeline.
		var announce []string
		for _, k := range newKeys {
			if !exact[k] {
				announce = append(announce, k)
			}
		}
		note := notify.IncidentNote{Incident: inc, Severities: sev, New: announce, Revision: 1}
		if match < 0 {
			rec = state.IncidentRecord{ID: inc.ID, FirstSeen: cmp.Or(inc.FirstSeen, now)}
		} else {
			note.Incident.ID = rec.ID
			note.Revision = rec.Revision + 1
		}
		rec.Revision = note.Revision
		rec.Members = mergeKeys(rec.Members, inc.Findings)
		rec.LastCard = now
		plan.incidents = append(plan.incidents, incidentCard{note: note, rec: rec, fresh: freshKeys})
		for _, k := range freshKeys {
			covered[k] = true
		}
	}
	for _, f := range fresh {
		if !covered[f.Key] {
			plan.own = append(plan.own, f)
		}
	}
	return plan
}

// allExact reports whether every key is accepted by an entry naming it
// exactly.
func allExact(keys []string, exact map[string]bool) bool {
	for _, k := range keys {
		if !exact[k] {
			return false
		}
	}
	return len(keys) > 0
}

// mergeKeys appends to have the keys of add it lacks, in order.
func mergeKeys(have, add []string) []string {
	seen := make(map[string]bool, len(have))
	out := slices.Clone(have)
	for _, k := range have {
		seen[k] = true
	}
	for _, k := range add {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// acceptedOf pairs the findings accepted in r with whether their entry
// names them exactly.
func (a *App) acceptedOf(fs []tenant.Finding, r *accept.Result) []acceptedFinding {
	if r == nil || a.o.Config.Accept == nil {
		return nil
	}
	var out []acceptedFinding
	for i, f := range fs {
		m := r.MarkOf(i)
		if m == nil {
			continue
		}
		ex := m.Entry >= 1 && m.Entry <= len(a.o.Config.Accept.Entries) && a.o.Config.Accept.Entries[m.Entry-1].Exact()
		out = append(out, acceptedFinding{f: f, exact: ex})
	}
	return out
}

// queueAlerts is the correlate → outbox end of a round, after its
// findings are recorded: it reads the findings recorded in the last
// correlateWindow (OpenFindingsSince: not resolved, at most correlateMax)
// and the incidents carded in the last incidentKeep, plans the cards
// (planAlerts) and queues them — own cards through notify.Outbox.Add,
// each incident card under its (incident, revision) outbox key, then its
// record. Without an IncidentStore every fresh finding gets its own card,
// as before incidents. When the reads fail, the fresh findings are queued
// as own cards (an alert is never lost to correlation) and the error is
// returned. sweep is the daily sweep's call: its digest lists the fresh
// findings, so only those at or above the alert severity get own cards.
func (a *App) queueAlerts(ctx context.Context, fresh []tenant.Finding, accepted []acceptedFinding, sweep bool) error {
	if len(fresh) == 0 && len(accepted) == 0 {
		return nil
	}
	queueOwn := a.queueOwn
	if sweep {
		queueOwn = func(ctx context.Context, fs []tenant.Finding) error {
			var urgent []tenant.Finding
			for _, f := range fs {
				if f.Severity >= a.o.Config.AlertSeverity {
					urgent = append(urgent, f)
				}
			}
			return a.queueOwn(ctx, urgent)
		}
	}
	if a.d.Incidents == nil {
		return queueOwn(ctx, fresh)
	}
	now := a.now()
	var window []tenant.Finding
	truncated, err := a.d.Incidents.OpenFindingsSince(ctx, now.Add(-correlateWindow), correlateMax, func(r state.FindingRecord) error {
		window = append(window, r.Finding)
		return nil
	})
	var stored []state.IncidentRecord
	if err == nil {
		err = a.d.Incidents.Incidents(ctx, now.Add(-incidentKeep), func(r state.IncidentRecord) error {
			stored = append(stored, r)
			return nil
		})
	}
	if err != nil {
		return errors.Join(fmt.Errorf("watch: correlate: %w", err), queueOwn(ctx, fresh))
	}
	a.log.Info("correlating", "recorded", len(window), "since", now.Add(-correlateWindow), "truncated", truncated,
		"fresh", len(fresh), "accepted", len(accepted), "incidents", len(stored))
	if truncated {
		a.log.Warn("correlation read only the first findings of its window", "max", correlateMax)
	}
	plan := planAlerts(fresh, accepted, window, stored, a.o.Config.AlertSeverity, now)
	var errs []error
	for _, c := range plan.incidents {
		queued, err := a.queueIncident(ctx, c)
		switch {
		case err == nil:
		case queued:
			// The card is queued; only its record is behind. The next
			// card of the incident finds this revision taken in the
			// outbox and takes the next one: nothing is posted twice.
			a.log.Warn("incident card queued but its record not stored", "incident", c.note.Incident.ID, "err", err)
		default:
			// Its fresh findings still get a card: their own.
			errs = append(errs, err)
			for _, k := range c.fresh {
				for _, f := range fresh {
					if f.Key == k {
						plan.own = append(plan.own, f)
					}
				}
			}
		}
	}
	return errors.Join(append(errs, queueOwn(ctx, plan.own))...)
}

// queueOwn queues fs as their own cards (and a digest for the lower
// severities).
func (a *App) queueOwn(ctx context.Context, fs []tenant.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	if _, err := a.outbox.Add(ctx, fs); err != nil {
		return fmt.Errorf("watch: queue alerts: %w", err)
	}
	for _, f := range fs {
		a.log.Info("new finding", "rule", f.Rule, "severity", f.Severity.String(), "subject_id", f.Subject.ID, "key", f.Key)
	}
	return nil
}

// queueIncident queues one incident card under its (incident, revision)
// outbox key, then stores the incident's record. A key the outbox holds
// already with the same findings is this card queued before (a retry):
// it is not queued again. One holding other findings is a revision a
// concurrent round took: the card takes the next. A record that changed
// meanwhile is read again and merged (members joined, the higher
// revision kept). queued says whether the card is in the outbox, also
// when storing the record failed.
func (a *App) queueIncident(ctx context.Context, c incidentCard) (queued bool, err error) {
	for attempt := 0; attempt < incidentAttempts; attempt++ {
		_, err := a.outbox.AddIncident(ctx, c.note)
		if err != nil {
			if !errors.Is(err, tenant.ErrConflict) {
				return false, fmt.Errorf("watch: queue incident %s: %w", c.note.Incident.ID, err)
			}
			same, ferr := a.queuedBefore(ctx, notify.IncidentItemID(c.note.Incident.ID, c.note.Revision), c.note.New)
			if ferr != nil {
				return false, fmt.Errorf("watch: queue incident %s: %w", c.note.Incident.ID, ferr)
			}
			if !same {
				c.note.Revision++
				c.rec.Revision = c.note.Revision
				continue
			}
			a.log.Info("incident card queued before; not queued again", "incident", c.note.Incident.ID, "revision", c.note.Revision)
		} else {
			a.log.Info("incident card queued", "incident", c.note.Incident.ID, "revision", c.note.Revision,
				"new", len(c.note.New), "findings", len(c.note.Incident.Findings), "severity", c.note.Incident.Severity.String())
		}
		return true, a.saveIncident(ctx, c.rec)
	}
	return false, fmt.Errorf("watch: queue incident %s: revision still taken after %d attempts: %w", c.note.Incident.ID, incidentAttempts, tenant.ErrConflict)
}

// queuedBefore reports whether the outbox item id carries exactly keys.
func (a *App) queuedBefore(ctx context.Context, id string, keys []string) (bool, error) {
	same := false
	err := a.d.Outbox.Outbox(ctx, func(it state.OutboxItem) error {
		if it.ID == id {
			same = slices.Equal(it.FindingKeys, keys)
			return errStopList
		}
		return nil
	})
	if errors.Is(err, errStopList) {
		err = nil
	}
	return same, err
}

var errStopList = errors.New("watch: stop listing")

// saveIncident stores rec; when another round changed the record
// meanwhile, it merges with what is stored (members joined, the higher
// revision and the later card kept) and tries again.
func (a *App) saveIncident(ctx context.Context, rec state.IncidentRecord) error {
	for attempt := 0; attempt < incidentAttempts; attempt++ {
		_, err := a.d.Incidents.SaveIncident(ctx, rec)
		if err == nil {
			return nil
		}
		if !errors.Is(err, tenant.ErrConflict) {
			return fmt.Errorf("watch: store incident %s: %w", rec.ID, err)
		}
		var cur *state.IncidentRecord
		if err := a.d.Incidents.Incidents(ctx, time.Time{}, func(r state.IncidentRecord) error {
			if r.ID == rec.ID {
				cur = &r
				return errStopList
			}
			return nil
		}); err != nil && !errors.Is(err, errStopList) {
			return fmt.Errorf("watch: store incident %s: %w", rec.ID, err)
		}
		if cur == nil {
			rec.ETag = ""
			continue
		}
		rec.Members = mergeKeys(cur.Members, rec.Members)
		rec.Revision = max(rec.Revision, cur.Revision)
		if cur.LastCard.After(rec.LastCard) {
			rec.LastCard = cur.LastCard
		}
		if !cur.FirstSeen.IsZero() && cur.FirstSeen.Before(rec.FirstSeen) {
			rec.FirstSeen = cur.FirstSeen
		}
		rec.ETag = cur.ETag
	}
	return fmt.Errorf("watch: store incident %s: gave up after %d attempts: %w", rec.ID, incidentAttempts, tenant.ErrConflict)
}
