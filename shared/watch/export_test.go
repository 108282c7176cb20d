package watch

import (
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// AcceptedFinding and PlanAlerts expose planAlerts to the package's tests.
type AcceptedFinding struct {
	F     tenant.Finding
	Exact bool
}

// PlannedIncident is one incident card of a plan.
type PlannedIncident struct {
	ID       string
	Revision int
	New      []string
	Members  []string
}

func PlanAlerts(fresh []tenant.Finding, accepted []AcceptedFinding, window []tenant.Finding, stored []state.IncidentRecord, threshold tenant.Severity, now time.Time) (own []string, incidents []PlannedIncident) {
	var acc []acceptedFinding
	for _, a := range accepted {
		acc = append(acc, acceptedFinding{f: a.F, exact: a.Exact})
	}
	p := planAlerts(fresh, acc, window, stored, threshold, now)
	for _, f := range p.own {
		own = append(own, f.Key)
	}
	for _, c := range p.incidents {
		incidents = append(incidents, PlannedIncident{ID: c.note.Incident.ID, Revision: c.note.Revision, New: c.note.New, Members: c.rec.Members})
	}
	return own, incidents
}
