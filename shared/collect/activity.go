package collect

import (
	"context"
	"errors"
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
// names and sets their LastSuccessfulSignIn; access denied marks
// tenant.SourceSignInActivity unavailable. It runs after the users, the
// registration rows and the audit events are read.
func (c *collector) readSignInActivity(ctx context.Context) error {
	s := c.snap
	need := activityNeeded(s)
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
	for i := range s.Users {
		if a, ok := last[strings.ToLower(strings.TrimSpace(s.Users[i].ID))]; ok {
			s.Users[i].LastSuccessfulSignIn = a.LastSuccessfulSignIn
		}
	}
	return nil
}

// activityNeeded returns the lower-cased ids of the users whose
// signInActivity a rule reads: the users whose registration row says MFA
// is not registered (mfa.dormant-unregistered, mfa.not-registered; rows
// are matched to users by id, else by user principal name), and the users
// that security-info registration events in the window name, as target or
// initiator (mfa.dormant-registration). It is a superset of what the rules
// judge, so that their findings are those of reading every user.
func activityNeeded(s *tenant.Snapshot) map[string]bool {
	need := make(map[string]bool)
	add := func(id string) {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			need[id] = true
		}
	}
	upns := make(map[string]bool)
	for _, r := range s.Registrations {
		if r.IsMfaRegistered {
			continue
		}
		add(r.UserID)
		if upn := strings.ToLower(strings.TrimSpace(r.UPN)); upn != "" {
			upns[upn] = true
		}
	}
	if len(upns) > 0 {
		for _, u := range s.Users {
			if upns[strings.ToLower(strings.TrimSpace(u.UPN))] {
				add(u.ID)
			}
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
	return need
}

// registersSecurityInfo reports whether an audit activity is one of the
// security-info events ("User registered security info", "User registered
// all required security info" and their siblings), whatever the case and
// spacing.
func registersSecurityInfo(activity string) bool {
	a := strings.ToLower(strings.Join(strings.Fields(activity), " "))
	return strings.Contains(a, "security info")
}
