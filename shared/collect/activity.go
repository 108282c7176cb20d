package collect

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Graph serves signInActivity from its identity and access reports
// service: 10 requests per minute per app and tenant, each also one of
// the service's 5 per 10 seconds, in pages of at most 500 users. Reading
// it with every user would cost a 100,000-user tenant 200 requests, 20
// minutes at that limit; the rules need it for a few users only.
const (
	// activityIDsPerRequest is how many ids one `id in (…)` filter takes
	// (Graph's limit for the in operator).
	activityIDsPerRequest = 15
	// activityPageSize is the most users a page carries when
	// signInActivity is selected.
	activityPageSize = 500
)

// ActivityPlan is how a snapshot reads signInActivity, chosen from what is
// known once users, registrations and audits are read.
type ActivityPlan struct {
	Needed int // users whose signInActivity the rules read
	Users  int // users in the tenant
	ByID   int // requests reading the needed users by id (15 a request)
	All    int // requests reading every user's signInActivity (500 a page)
	// Chosen is "byId", "all", or "probe" when no user needs it (one
	// request still tells whether signInActivity can be read, for the
	// rules that list it as a source).
	Chosen string
}

// Requests is the plan's cost in requests.
func (p ActivityPlan) Requests() int {
	switch p.Chosen {
	case "byId":
		return p.ByID
	case "all":
		return p.All
	}
	return 1
}

// PlanSignInActivity chooses the read with the fewest requests for needed
// users out of a tenant of users: by id, ceil(needed/15) requests; every
// user, ceil(users/500). A tie goes to the read by id, which transfers
// less. (A $filter on signInActivity dates would page only the users who
// have a date, but cannot find those who never signed in, who are the
// dormant ones the rules look for.)
func PlanSignInActivity(needed, users int) ActivityPlan {
	p := ActivityPlan{Needed: needed, Users: users,
		ByID: ceilDiv(needed, activityIDsPerRequest), All: max(1, ceilDiv(users, activityPageSize))}
	switch {
	case needed == 0:
		p.Chosen = "probe"
	case p.ByID <= p.All || users == 0:
		p.Chosen = "byId"
	default:
		p.Chosen = "all"
	}
	return p
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// errEnough stops a read that has seen what it needed.
var errEnough = errors.New("collect: enough read")

// readSignInActivity reads signInActivity for the users activityNeeded
// names and sets their LastSuccessfulSignIn and SignInActivityRead; access
// denied marks tenant.SourceSignInActivity unavailable. It runs after the
// users, the registration rows, the audit events, the sign-ins, the
// Conditional Access policies and the members of their groups are read.
func (c *collector) readSignInActivity(ctx context.Context) error {
	s := c.snap
	caKnown := c.available(tenant.SourceCAPolicies) && c.available(tenant.SourceCAGroupMembers)
	need := activityNeeded(s, caKnown)
	plan := PlanSignInActivity(len(need), len(s.Users))
	c.o.Logger.Debug("signInActivity plan", "needed", plan.Needed, "users", plan.Users,
		"byId", plan.ByID, "all", plan.All, "chosen", plan.Chosen)
	last := make(map[string]tenant.SignInActivity, len(need))
	keep := func(a tenant.SignInActivity) error {
		if id := strings.ToLower(strings.TrimSpace(a.UserID)); need[id] {
			last[id] = a
		}
		return nil
	}
	var n int
	err := c.read(tenant.SourceSignInActivity, &n, func() error {
		switch plan.Chosen {
		case "byId":
			ids := make([]string, 0, len(need))
			for id := range need {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			return c.r.SignInActivityByID(ctx, ids, func(a tenant.SignInActivity) error { n++; return keep(a) })
		case "all":
			return c.r.SignInActivity(ctx, func(a tenant.SignInActivity) error { n++; return keep(a) })
		}
		// Nobody to read for: one page tells whether the source is
		// readable.
		if err := c.r.SignInActivity(ctx, func(tenant.SignInActivity) error { return errEnough }); !errors.Is(err, errEnough) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A user the read returned has had signInActivity read, whether it
	// holds a date or not (never signed in): SignInActivityRead says so.
	// Users the whole-tenant read returned beyond the needed ones are
	// left as the read by id would leave them, so that the snapshot does
	// not depend on which read was cheaper.
	for i := range s.Users {
		if a, ok := last[strings.ToLower(strings.TrimSpace(s.Users[i].ID))]; ok {
			s.Users[i].LastSuccessfulSignIn = a.LastSuccessfulSignIn
			s.Users[i].SignInActivityRead = true
		}
	}
	return nil
}

// activityNeeded returns the lower-cased ids of the users whose
// signInActivity a rule reads: the users whose registration row says MFA
// is not registered (mfa.dormant-unregistered, mfa.not-registered; rows
// are matched to users by id, else by user principal name), the users
// that security-info registration events in the window name, as target or
// initiator (mfa.dormant-registration), and, when caKnown (the
// Conditional Access policies and their groups' members were read), the
// enabled members no MFA policy applies to
// (posture.dormant-excluded-from-mfa: tenant.CAView.MFAExclusionCandidate)
// and the accounts of the failed-sign-in aggregate that then signed in
// successfully from where they failed (signin.password-spray: sprayWinners).
// It is a superset of what the rules judge, so that their findings are
// those of reading every user.
func activityNeeded(s *tenant.Snapshot, caKnown bool) map[string]bool {
	need := make(map[string]bool)
	add := func(id string) {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			need[id] = true
		}
	}
	byUPN := make(map[string]*tenant.User, len(s.Users))
	for i := range s.Users {
		if upn := strings.ToLower(strings.TrimSpace(s.Users[i].UPN)); upn != "" {
			byUPN[upn] = &s.Users[i]
		}
	}
	for _, r := range s.Registrations {
		if r.IsMfaRegistered {
			continue
		}
		add(r.UserID)
		if u := byUPN[strings.ToLower(strings.TrimSpace(r.UPN))]; u != nil {
			add(u.ID)
		}
	}
	for _, e := range s.Audits {
		if !registersSecurityInfo(e.Activity) {
			continue
		}
		add(e.Initiator.UserID)
		for _, t := range e.Targets {
			if strings.EqualFold(strings.TrimSpace(t.Type), "User") {
				add(t.ID)
			}
		}
	}
	if caKnown {
		ca := tenant.NewCAView(s.Policies, s.GroupMembers)
		for i := range s.Users {
			if ca.MFAExclusionCandidate(&s.Users[i]) {
				add(s.Users[i].ID)
			}
		}
	}
	for _, id := range sprayWinners(s, byUPN) {
		add(id)
	}
	return need
}

// sprayWinners returns the ids of the users with a successful sign-in in
// s.SignIns from an address, or a /24 (/48) network, they failed from in
// the failed-sign-in aggregate: the accounts signin.password-spray may find
// broken into (it matches a success to a spray from the same address or
// network, or to a spray against the account from the same address), and
// judges by their last sign-in. Time is not matched: a superset.
func sprayWinners(s *tenant.Snapshot, byUPN map[string]*tenant.User) []string {
	if s.SignInFailures == nil || s.SignInFailures.Len() == 0 {
		return nil
	}
	type pair struct {
		kind        tenant.FailureKind
		key, member string
	}
	failed := make(map[pair]bool)
	for _, t := range s.SignInFailures.Tallies() {
		for _, m := range t.Members {
			failed[pair{t.Kind, t.Key, m}] = true
		}
	}
	byID := make(map[string]*tenant.User, len(s.Users))
	for i := range s.Users {
		byID[strings.ToLower(strings.TrimSpace(s.Users[i].ID))] = &s.Users[i]
	}
	var out []string
	for _, si := range s.SignIns {
		if !si.Succeeded() {
			continue
		}
		a, err := netip.ParseAddr(strings.TrimSpace(si.IP))
		if err != nil {
			continue
		}
		ip := a.Unmap().WithZone("").String()
		net := tenant.FailureNetwork(ip)
		u := byID[strings.ToLower(strings.TrimSpace(si.UserID))]
		if u == nil {
			u = byUPN[strings.ToLower(strings.TrimSpace(si.UPN))]
		}
		if u == nil {
			continue
		}
		for _, acct := range []string{si.UserID, si.UPN, u.ID, u.UPN} {
			acct = strings.ToLower(strings.TrimSpace(acct))
			if acct != "" && (failed[pair{tenant.FailureByIP, ip, acct}] || failed[pair{tenant.FailureByNet, net, acct}] ||
				failed[pair{tenant.FailureByAccount, acct, ip}]) {
				out = append(out, u.ID)
				break
			}
		}
	}
	return out
}

// registersSecurityInfo reports whether an audit activity is one of the
// security-info events ("User registered security info", "User registered
// all required security info" and their siblings), whatever the case and
// spacing.
func registersSecurityInfo(activity string) bool {
	a := strings.ToLower(strings.Join(strings.Fields(activity), " "))
	return strings.Contains(a, "security info")
}
