package detect

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// passwordSpray finds password sprays in the failed-sign-in aggregate
// (tenant.SignInFailures): many accounts failing from one address or
// network, or one account failing from many addresses, within an hour.
// The actor entered Microsoft's corporate tenant in 2024 through a
// password-sprayed legacy test account.
type passwordSpray struct{}

func newPasswordSpray() Detector { return passwordSpray{} }

func (passwordSpray) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "signin.password-spray",
		Title: "Password spray",
		Description: "Sign-ins failing with 50126 (bad user name or password) or 50053 (locked) for at least 10 distinct accounts from " +
			"one address, or from one /24 (IPv6: /48) network when no single address of it does, within one hour (sliding over " +
			"10-minute buckets), or for one account from at least 10 addresses; failures by legacy protocols are counted in the evidence. " +
			"A spray from an address or network is a medium finding about the tenant; each account of it that then signs in " +
			"successfully from the spraying address or network is a finding of its own about that user: critical when no enabled " +
			"Conditional Access policy requiring MFA applies to the account (posture.dormant-excluded-from-mfa's definition), high " +
			"when it is dormant or not MFA registered, medium otherwise. A spray against one account from many addresses is about " +
			"the user, raised the same way by a success from one of its addresses. One finding per source (address, network or " +
			"account) per UTC day of the spray's start (and per account broken into), so a spray that goes on across polls stays " +
			"one card. A user mistyping a password from one place is not a spray.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1110.003"},
		Sources:  []tenant.Source{tenant.SourceSignIns},
	}
}

// sprayEpisode is one spray from one source: the buckets of the source
// whose sliding window met the threshold, joined while they are less than
// a window apart.
type sprayEpisode struct {
	kind             tenant.FailureKind
	source           string
	members          map[string]bool
	upn              string // the account's UPN (kind account)
	failures         int
	dropped          int
	legacy           map[string]int
	first, last      time.Time
	buckets          int
	maxWindowMembers int
}

func (d passwordSpray) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	f := in.Snapshot.SignInFailures
	if f == nil {
		return nil, nil
	}
	type srcKey struct {
		kind tenant.FailureKind
		key  string
	}
	bySource := make(map[srcKey][]tenant.FailureTally)
	for _, t := range f.Tallies() { // ordered by kind, key and bucket
		if t.Bucket.Add(tenant.FailureBucketWidth).Before(in.Snapshot.Since) {
			continue
		}
		k := srcKey{t.Kind, t.Key}
		bySource[k] = append(bySource[k], t)
	}
	var episodes []*sprayEpisode
	for k, ts := range bySource {
		need := in.Config.SprayAccounts
		if k.kind == tenant.FailureByAccount {
			need = in.Config.SprayAddresses
		}
		episodes = append(episodes, sprayEpisodes(k.kind, k.key, ts, need, in.Config.SprayWindow)...)
	}
	// A network is reported only when no address of it sprayed that day.
	ipDays := make(map[string]bool)
	for _, e := range episodes {
		if e.kind == tenant.FailureByIP {
			ipDays[tenant.FailureNetwork(e.source)+" "+e.first.UTC().Format(time.DateOnly)] = true
		}
	}
	episodes = slices.DeleteFunc(episodes, func(e *sprayEpisode) bool {
		return e.kind == tenant.FailureByNet && ipDays[e.source+" "+e.first.UTC().Format(time.DateOnly)]
	})
	slices.SortFunc(episodes, func(a, b *sprayEpisode) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.source, b.source), a.first.Compare(b.first))
	})

	regs := newRegistrationIndex(in.Snapshot.Registrations)
	caKnown := mfaPostureKnown(in)
	org := in.Snapshot.Organization
	tenantID := cmp.Or(strings.TrimSpace(org.ID), "unknown-tenant")
	// Sprays from one source starting the same UTC day are one card.
	var merged []*sprayEpisode
	byKey := make(map[string]*sprayEpisode)
	for _, e := range episodes {
		k := string(e.kind) + " " + e.source + " " + e.first.UTC().Format(time.DateOnly)
		if m := byKey[k]; m != nil {
			m.merge(e)
			continue
		}
		byKey[k] = e
		merged = append(merged, e)
	}
	var out []tenant.Finding
	for _, e := range merged {
		day := e.first.UTC().Format(time.DateOnly)
		key := findingKey(d.Rule().ID, string(e.kind)+"="+e.source, day)
		members := sortedKeys(e.members)
		ev := map[string]any{
			"sourceKind":      string(e.kind),
			"source":          e.source,
			"failures":        e.failures,
			"firstFailure":    ts(e.first),
			"lastFailure":     ts(e.last),
			"windowMinutes":   int(in.Config.SprayWindow.Minutes()),
			"maxInOneWindow":  e.maxWindowMembers,
			"bucketsSpraying": e.buckets,
		}
		if e.kind == tenant.FailureByAccount {
			ev["addresses"], ev["addressCount"] = capStrings(members), len(members)
		} else {
			ev["accounts"], ev["accountCount"] = capStrings(members), len(members)
		}
		if e.dropped > 0 {
			ev["membersNotListed"] = e.dropped
		}
		if len(e.legacy) > 0 {
			var lp []string
			n := 0
			for _, c := range sortedKeys(e.legacy) {
				lp = append(lp, c+": "+strconv.Itoa(e.legacy[c]))
				n += e.legacy[c]
			}
			ev["legacyProtocols"], ev["legacyFailures"] = lp, n
		}

		sev := tenant.SeverityMedium
		var succ []map[string]string
		won := make(map[string]bool)
		var wins []sprayWin
		for _, s := range in.Snapshot.SignIns {
			if !s.Succeeded() || s.Time.Before(e.first) || s.Time.After(e.last.Add(in.Config.SprayWindow)) {
				continue
			}
			account := signInUser(in, s)
			ip := normIP(s.IP)
			var match bool
			switch e.kind {
			case tenant.FailureByIP:
				match = ip == e.source && (e.members[account] || e.members[lowerID(s.UPN)])
			case tenant.FailureByNet:
				match = tenant.FailureNetwork(ip) == e.source && (e.members[account] || e.members[lowerID(s.UPN)])
			case tenant.FailureByAccount:
				match = (account == e.source || lowerID(s.UPN) == e.source) && e.members[ip]
			}
			if !match {
				continue
			}
			m := signInRecord(s)
			m["userId"] = account
			putString(m, "userPrincipalName", s.UPN)
			u := in.User(account)
			if u == nil {
				u = in.index().usersByUPN[lowerID(s.UPN)]
			}
			s2 := tenant.SeverityMedium
			var why []string
			if u != nil {
				if caKnown && mfaGapOf(in, u.ID).Uncovered {
					s2 = tenant.SeverityCritical
					why = append(why, "no MFA policy applies")
				}
				if !u.LastSuccessfulSignIn.Before(e.first) {
					// signInActivity already shows a sign-in of the spray
					// or after it: dormancy before it is judged by the
					// earlier findings only.
					if len(priorFor(in, []string{"mfa.dormant-unregistered", "posture.dormant-excluded-from-mfa"}, lowerID(u.ID), time.Time{}, s.Time)) > 0 {
						why = append(why, "dormant (earlier finding)")
					}
				} else if dormantKnown(u, e.first, in.Config) {
					why = append(why, "dormant")
				}
				if unregisteredMember(u, regs) != nil {
					why = append(why, "not MFA registered")
				}
				if len(why) > 0 && s2 < tenant.SeverityHigh {
					s2 = tenant.SeverityHigh
				}
			}
			putString(m, "accountIs", strings.Join(why, ", "))
			sev = max(sev, s2)
			succ = append(succ, m)
			if e.kind != tenant.FailureByAccount && !won[account] {
				won[account] = true
				wins = append(wins, sprayWin{account: account, upn: s.UPN, user: u, sev: s2, at: s.Time, rec: m})
			}
		}
		if len(succ) > 0 {
			slices.SortStableFunc(succ, func(a, b map[string]string) int { return strings.Compare(a["time"], b["time"]) })
			ev["successes"] = succ[:min(len(succ), maxListed)]
			ev["successCount"] = len(succ)
		}
		if !caKnown {
			ev["notChecked"] = []string{string(tenant.SourceCAPolicies) + " / " + string(tenant.SourceCAGroupMembers) + ": whether a successful account is excluded from MFA"}
		}
		subject := tenant.Subject{Type: tenant.SubjectTenant, ID: tenantID, Name: cmp.Or(org.DisplayName, tenantID)}
		if e.kind == tenant.FailureByAccount {
			subject = subjectForUser(in, e.source, e.upn)
			if u := in.index().usersByUPN[e.source]; u != nil {
				subject = userSubject(u)
			}
			putAny(ev, "userPrincipalName", e.upn)
		}
		if e.kind != tenant.FailureByAccount {
			// A spray from an address or network is about the tenant and
			// stays medium; each account it broke into is a finding of its
			// own, about the user, at the success's severity: the card a
			// SOC acts on, and a later poll's success is not hidden by the
			// spray's card already sent.
			sev = tenant.SeverityMedium
			for _, w := range wins {
				wev := map[string]any{
					"sprayKey": key, "source": e.source, "sourceKind": string(e.kind),
					"firstFailure": ts(e.first), "lastFailure": ts(e.last),
					"successes": []map[string]string{w.rec}, "accountCount": len(members),
				}
				if v, ok := ev["legacyProtocols"]; ok {
					wev["legacyProtocols"] = v
				}
				wsubj := subjectForUser(in, w.account, w.upn)
				if w.user != nil {
					wsubj = userSubject(w.user)
				}
				out = append(out, tenant.Finding{Subject: wsubj, Evidence: wev, Severity: w.sev,
					Key: key + ":" + w.account, ObservedAt: w.at})
			}
		}
		out = append(out, tenant.Finding{Subject: subject, Evidence: ev, Severity: sev, Key: key, ObservedAt: e.first})
	}
	return out, nil
}

// sprayWin is an account a spray from an address or network broke into.
type sprayWin struct {
	account, upn string
	user         *tenant.User
	sev          tenant.Severity
	at           time.Time
	rec          map[string]string
}

// sprayEpisodes finds the sprays in one source's tallies (ordered by
// bucket): a bucket starts a spraying window when the distinct members of
// the buckets in [its start, its start + window) reach need; spraying
// windows less than a window apart are one episode.
func sprayEpisodes(kind tenant.FailureKind, source string, ts []tenant.FailureTally, need int, window time.Duration) []*sprayEpisode {
	var out []*sprayEpisode
	var cur *sprayEpisode
	var curEnd time.Time
	for i := range ts {
		end := ts[i].Bucket.Add(window)
		union := make(map[string]bool)
		j := i
		for ; j < len(ts) && ts[j].Bucket.Before(end); j++ {
			for _, m := range ts[j].Members {
				union[m] = true
			}
		}
		if len(union) < need {
			continue
		}
		if cur == nil || !ts[i].Bucket.Before(curEnd) {
			cur = &sprayEpisode{kind: kind, source: source, members: make(map[string]bool), legacy: make(map[string]int)}
			out = append(out, cur)
		}
		cur.maxWindowMembers = max(cur.maxWindowMembers, len(union))
		// Add the window's buckets not yet in the episode.
		for k := i; k < j; k++ {
			t := ts[k]
			if !t.Bucket.Before(curEnd) || cur.buckets == 0 {
				cur.add(t)
			}
		}
		if end.After(curEnd) {
			curEnd = end
		}
	}
	return out
}

func (e *sprayEpisode) add(t tenant.FailureTally) {
	e.buckets++
	e.failures += t.Count
	e.dropped += t.Dropped
	e.upn = cmp.Or(e.upn, t.UPN)
	for _, m := range t.Members {
		e.members[m] = true
	}
	for c, n := range t.Legacy {
		e.legacy[c] += n
	}
	if e.first.IsZero() || t.First.Before(e.first) {
		e.first = t.First
	}
	if t.Last.After(e.last) {
		e.last = t.Last
	}
}

// merge adds a later episode of the same source and day to e.
func (e *sprayEpisode) merge(o *sprayEpisode) {
	e.buckets += o.buckets
	e.failures += o.failures
	e.dropped += o.dropped
	e.upn = cmp.Or(e.upn, o.upn)
	e.maxWindowMembers = max(e.maxWindowMembers, o.maxWindowMembers)
	for m := range o.members {
		e.members[m] = true
	}
	for c, n := range o.legacy {
		e.legacy[c] += n
	}
	if o.first.Before(e.first) {
		e.first = o.first
	}
	if o.last.After(e.last) {
		e.last = o.last
	}
}
