package detect

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Lookups the detectors share: users and their registration rows, service
// principals and applications named by audit targets, credential events.

// isNewAccount reports whether u was created NewAccountWithin or less before
// at. A zero creation time means unknown: very old accounts have a null
// createdDateTime, so they are not new.
func isNewAccount(u *tenant.User, at time.Time, cfg Config) bool {
	return !u.Created.IsZero() && at.Sub(u.Created) <= cfg.NewAccountWithin
}

// isDormant reports whether u has had no successful sign-in for more than
// DormantAfter before now (or never).
func isDormant(u *tenant.User, now time.Time, cfg Config) bool {
	return u.LastSuccessfulSignIn.IsZero() || u.LastSuccessfulSignIn.Before(now.Add(-cfg.DormantAfter))
}

// isMember reports whether the user is a member (not a guest): from the user
// object, else from the registration row.
func isMember(u *tenant.User, reg *tenant.Registration) bool {
	t := strings.TrimSpace(u.UserType)
	if t == "" && reg != nil {
		t = strings.TrimSpace(reg.UserType)
	}
	return strings.EqualFold(t, "Member")
}

// registrationIndex finds a user's registration row by user id, else by UPN.
type registrationIndex struct {
	byID, byUPN map[string]*tenant.Registration
}

func newRegistrationIndex(rs []tenant.Registration) registrationIndex {
	x := registrationIndex{byID: make(map[string]*tenant.Registration), byUPN: make(map[string]*tenant.Registration)}
	for i := range rs {
		r := &rs[i]
		if id := lowerID(r.UserID); id != "" {
			x.byID[id] = r
		}
		if upn := lowerID(r.UPN); upn != "" {
			x.byUPN[upn] = r
		}
	}
	return x
}

func (x registrationIndex) of(u *tenant.User) *tenant.Registration {
	if r := x.byID[lowerID(u.ID)]; r != nil {
		return r
	}
	if upn := lowerID(u.UPN); upn != "" {
		return x.byUPN[upn]
	}
	return nil
}

// unregisteredMember returns the registration row of u when u is an enabled
// member whose row says MFA is not registered; users without a row are not
// judged.
func unregisteredMember(u *tenant.User, regs registrationIndex) *tenant.Registration {
	if !u.AccountEnabled {
		return nil
	}
	reg := regs.of(u)
	if reg == nil || reg.IsMfaRegistered || !isMember(u, reg) {
		return nil
	}
	return reg
}

// isDormantUnregistered is the condition of mfa.dormant-unregistered.
func isDormantUnregistered(u *tenant.User, now time.Time, cfg Config) bool {
	return !isNewAccount(u, now, cfg) && isDormant(u, now, cfg)
}

// registrationEvent is a successful security-info registration in the window.
type registrationEvent struct {
	UserID   string
	UserName string
	Event    tenant.AuditEvent
}

// registrationEvents returns the successful "User registered security info"
// and "User registered all required security info" events in the window,
// with the user registered: the first target of type User, else the
// initiating user.
func registrationEvents(in *Input) []registrationEvent {
	var out []registrationEvent
	for _, e := range auditEvents(in, actRegisteredSecurityInfo, actRegisteredAllRequired) {
		r := registrationEvent{Event: e}
		if t, ok := firstTarget(e, "User"); ok && strings.TrimSpace(t.ID) != "" {
			r.UserID, r.UserName = strings.TrimSpace(t.ID), cmp.Or(t.UPN, t.DisplayName)
		} else if id := strings.TrimSpace(e.Initiator.UserID); id != "" {
			r.UserID, r.UserName = id, cmp.Or(e.Initiator.UPN, e.Initiator.DisplayName)
		} else {
			continue
		}
		out = append(out, r)
	}
	return out
}

// appObject is a service principal or application named by an audit target
// or found in the inventory.
type appObject struct {
	Type  tenant.SubjectType
	ID    string
	Name  string
	AppID string
	SP    *tenant.ServicePrincipal // the object, or the application's service principal
	App   *tenant.Application      // the object, or the service principal's application
}

func (o appObject) subject() tenant.Subject {
	return tenant.Subject{Type: o.Type, ID: o.ID, Name: cmp.Or(o.Name, o.ID)}
}

// related reports whether o and p are the same object or the application
// and service principal of the same app id.
func (o appObject) related(p appObject) bool {
	if o.ID != "" && lowerID(o.ID) == lowerID(p.ID) {
		return true
	}
	return o.AppID != "" && strings.EqualFold(o.AppID, p.AppID)
}

func spObject(in *Input, sp *tenant.ServicePrincipal) appObject {
	return appObject{
		Type: tenant.SubjectServicePrincipal, ID: sp.ID, Name: sp.DisplayName, AppID: sp.AppID,
		SP: sp, App: in.ApplicationByAppID(sp.AppID),
	}
}

func applicationObject(in *Input, a *tenant.Application) appObject {
	return appObject{
		Type: tenant.SubjectApplication, ID: a.ID, Name: a.DisplayName, AppID: a.AppID,
		SP: in.ServicePrincipalByAppID(a.AppID), App: a,
	}
}

// appTarget returns the first target of type ServicePrincipal or
// Application, else the first target with an id.
func appTarget(e tenant.AuditEvent) (tenant.Target, bool) {
	if t, ok := firstTarget(e, "ServicePrincipal", "Application"); ok && strings.TrimSpace(t.ID) != "" {
		return t, true
	}
	for _, t := range e.Targets {
		if strings.TrimSpace(t.ID) != "" && strings.TrimSpace(t.Type) == "" {
			return t, true
		}
	}
	return tenant.Target{}, false
}

// resolveAppObject describes the object a target names. The type comes from
// the target; when it is missing, from the inventory; failing both, it is
// fallback. The name is the target's, else the inventory's.
func resolveAppObject(in *Input, t tenant.Target, fallback tenant.SubjectType) appObject {
	id := strings.TrimSpace(t.ID)
	var o appObject
	sp, app := in.ServicePrincipal(id), in.Application(id)
	switch {
	case typeIs(t, "ServicePrincipal"):
		o = appObject{Type: tenant.SubjectServicePrincipal, ID: id}
		app = nil
	case typeIs(t, "Application"):
		o = appObject{Type: tenant.SubjectApplication, ID: id}
		sp = nil
	case sp != nil:
		o = appObject{Type: tenant.SubjectServicePrincipal, ID: id}
	case app != nil:
		o = appObject{Type: tenant.SubjectApplication, ID: id}
	default:
		o = appObject{Type: fallback, ID: id}
	}
	switch {
	case o.Type == tenant.SubjectServicePrincipal && sp != nil:
		o = spObject(in, sp)
		o.ID = id
	case o.Type == tenant.SubjectApplication && app != nil:
		o = applicationObject(in, app)
		o.ID = id
	}
	if n := strings.TrimSpace(t.DisplayName); n != "" {
		o.Name = n
	}
	return o
}

// credentialEvent is one key added by a credential event.
type credentialEvent struct {
	Obj   appObject
	Key   keyDescription
	Event tenant.AuditEvent
}

// credentialEvents returns the keys added by successful "Add service
// principal credentials" and "Update application – Certificates and
// secrets management" events in the window: KeyDescription new items minus
// old items, by key identifier.
func credentialEvents(in *Input) []credentialEvent {
	var out []credentialEvent
	for _, e := range auditEvents(in, actAddSPCredentials, actUpdateAppCredentials) {
		fallback := tenant.SubjectApplication
		if activityIs(e, actAddSPCredentials) {
			fallback = tenant.SubjectServicePrincipal
		}
		t, ok := appTarget(e)
		if !ok {
			continue
		}
		p, ok := findProp(t.Modified, "KeyDescription")
		if !ok {
			if p, ok = eventProp(e, "KeyDescription"); !ok {
				continue
			}
		}
		obj := resolveAppObject(in, t, fallback)
		for _, k := range newKeys(parseKeyDescriptions(p.Old), parseKeyDescriptions(p.New)) {
			out = append(out, credentialEvent{Obj: obj, Key: k, Event: e})
		}
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// spCredentials returns the credentials that count on a service principal.
// A managed identity's are platform-managed: Azure issues and rotates its
// certificate, and Entra ID refuses credentials added to it by anyone else,
// so they are neither a backdoor nor a sign of one.
func spCredentials(sp *tenant.ServicePrincipal) []tenant.Credential {
	if strings.EqualFold(strings.TrimSpace(sp.ServicePrincipalType), "ManagedIdentity") {
		return nil
	}
	return sp.Credentials
}
