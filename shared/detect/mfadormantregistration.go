package detect

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// dormantRegistration finds MFA registrations on accounts that had not
// signed in successfully for a while before: the APT29 pattern of guessing
// a dormant account's password and enrolling the attacker's device.
type dormantRegistration struct{}

func newDormantRegistration() Detector { return dormantRegistration{} }

func (dormantRegistration) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "mfa.dormant-registration",
		Title: "MFA registered on a dormant account",
		Description: "Security info was registered for an account that is not new and had no successful sign-in " +
			"in the preceding new-account period. An attacker who guessed a dormant account's password may have enrolled their own MFA.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.005", "T1078.004"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceSignIns, tenant.SourceUsers},
	}
}

// successIndex holds successful sign-in times per user id and, for sign-ins
// without a user id, per UPN (both lower case), sorted.
type successIndex struct{ byID, byUPN map[string][]time.Time }

func newSuccessIndex(ss []tenant.SignIn) successIndex {
	x := successIndex{byID: make(map[string][]time.Time), byUPN: make(map[string][]time.Time)}
	for _, s := range ss {
		if !s.Succeeded() {
			continue
		}
		if id := lowerID(s.UserID); id != "" {
			x.byID[id] = append(x.byID[id], s.Time)
		} else if upn := lowerID(s.UPN); upn != "" {
			x.byUPN[upn] = append(x.byUPN[upn], s.Time)
		}
	}
	for _, m := range []map[string][]time.Time{x.byID, x.byUPN} {
		for _, times := range m {
			slices.SortFunc(times, time.Time.Compare)
		}
	}
	return x
}

// of returns u's successful sign-in times.
func (x successIndex) of(u *tenant.User) []time.Time {
	out := x.byID[lowerID(u.ID)]
	if upn := lowerID(u.UPN); upn != "" && len(x.byUPN[upn]) > 0 {
		out = append(slices.Clone(out), x.byUPN[upn]...)
		slices.SortFunc(out, time.Time.Compare)
	}
	return out
}

// anyIn reports whether a time of sorted ts lies in [from, to).
func anyIn(sorted []time.Time, from, to time.Time) bool {
	i, _ := slices.BinarySearchFunc(sorted, from, time.Time.Compare)
	return i < len(sorted) && sorted[i].Before(to)
}

// lastBefore returns the latest time of sorted ts before t.
func lastBefore(sorted []time.Time, t time.Time) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(sorted, t, time.Time.Compare)
	if i == 0 {
		return time.Time{}, false
	}
	return sorted[i-1], true
}

func (d dormantRegistration) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	look := in.Config.NewAccountWithin
	signIns := newSuccessIndex(in.Snapshot.SignIns)
	activity := in.Snapshot.Available(tenant.SourceSignInActivity)

	type hit struct {
		user  *tenant.User
		regs  []audit.SecurityInfoRegistration
		times []time.Time
	}
	hits := make(map[string]*hit)
	for _, r := range audit.SecurityInfoRegistrations(in.audits()) {
		u := in.User(r.UserID)
		if u == nil || isNewAccount(u, r.Record.Time, in.Config) {
			continue
		}
		k := lowerID(u.ID)
		h := hits[k]
		if h == nil {
			h = &hit{user: u, times: signIns.of(u)}
		}
		from := r.Record.Time.Add(-look)
		if anyIn(h.times, from, r.Record.Time) {
			continue
		}
		// signInActivity's last successful sign-in covers non-interactive
		// sign-ins, which the v1.0 sign-in log does not list.
		if activity && !u.LastSuccessfulSignIn.Before(from) && u.LastSuccessfulSignIn.Before(r.Record.Time) {
			continue
		}
		h.regs = append(h.regs, r)
		hits[k] = h
	}

	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		if len(h.regs) == 0 {
			continue
		}
		first := h.regs[0].Record.Time
		regs := make([]map[string]string, 0, len(h.regs))
		for _, r := range h.regs {
			regs = append(regs, eventRecord(r.Record))
		}
		days := int(look.Hours() / 24)
		ev := map[string]any{
			"registrations":          regs,
			"firstRegistration":      ts(first),
			"lookBackDays":           days,
			"noSuccessfulSignInFrom": ts(first.Add(-look)),
			"createdDateTime":        ts(h.user.Created),
		}
		if h.user.Created.IsZero() {
			ev["createdDateTime"] = "unknown (treated as old)"
		}
		putAny(ev, "userPrincipalName", h.user.UPN)
		putAny(ev, "ip", h.regs[0].Record.Initiator.IP)
		if last, ok := lastBefore(h.times, first); ok {
			ev["lastSuccessfulSignInBefore"] = ts(last)
		} else {
			ev["lastSuccessfulSignInBefore"] = "none in the sign-in data read"
		}
		if first.Add(-look).Before(in.Snapshot.Since) {
			ev["lookBackIncomplete"] = true
			ev["note"] = "the " + strconv.Itoa(days) + "-day look-back starts before the collected window (" +
				ts(in.Snapshot.Since) + "): sign-ins before then were not read"
		}
		out = append(out, tenant.Finding{
			Subject:    userSubject(h.user),
			Evidence:   ev,
			Key:        findingKey(d.Rule().ID, h.user.ID, first.UTC().Format(time.DateOnly)),
			ObservedAt: first,
		})
	}
	return out, nil
}
