package detect

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Lookups the detectors share: users and their registration rows, the
// service principals and applications audit records name, credential
// events.

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

// appObject is a service principal or application named by an audit record
// or found in the inventory, with what the run knows of the app it belongs
// to. An application and its service principal are one app to a defender:
// SPID, Owner and SPType describe the app's service principal whichever of
// the two the object is.
type appObject struct {
	Type  tenant.SubjectType
	ID    string // directory object id; "" when no data the run holds resolves it
	Name  string
	AppID string
	// SPID is the object id of the app's service principal: ID for a
	// service principal, its service principal's for an application (""
	// when unknown). Mail roles are granted to it.
	SPID   string
	Owner  string                   // the service principal's appOwnerOrganizationId
	SPType string                   // the service principal's servicePrincipalType
	SP     *tenant.ServicePrincipal // the object, or the application's service principal, when the snapshot holds it
	App    *tenant.Application      // the object, or the service principal's application, when the snapshot holds it
}

// resolved reports whether the object id is known.
func (o appObject) resolved() bool { return strings.TrimSpace(o.ID) != "" }

// subject is the finding subject for o. Its id is the object id and nothing
// else: when no data the run holds resolves the object, the id is empty
// (never an app id), the name is the record's display name or "app
// <app id>", and unresolvedEvidence says why.
func (o appObject) subject() tenant.Subject {
	name := cmp.Or(o.Name, o.ID)
	if strings.TrimSpace(name) == "" && o.AppID != "" {
		name = "app " + o.AppID
	}
	return tenant.Subject{Type: o.Type, ID: strings.TrimSpace(o.ID), Name: name}
}

// putIdentity sets appId on evidence and, when the object id is unknown,
// objectIdResolved=false: the subject then has no id, and appId (or the
// subject's name) is all that identifies it.
func (o appObject) putIdentity(ev map[string]any) {
	putAny(ev, "appId", strings.TrimSpace(o.AppID))
	if !o.resolved() {
		ev["objectIdResolved"] = false
	}
}

// related reports whether o and p are the same object or the application
// and service principal of the same app id.
func (o appObject) related(p appObject) bool {
	if o.ID != "" && lowerID(o.ID) == lowerID(p.ID) {
		return true
	}
	return o.AppID != "" && strings.EqualFold(o.AppID, p.AppID)
}

// objectOf describes the object a.
func objectOf(in *Input, a *appInfo) appObject {
	o := appObject{Type: a.Type, ID: a.ID, Name: a.Name, AppID: a.AppID}
	x := in.index()
	switch a.Type {
	case tenant.SubjectServicePrincipal:
		o.SPID, o.Owner, o.SPType, o.SP = a.ID, a.Owner, a.SPType, a.SP
		if app := x.apInfoByApp[lowerID(a.AppID)]; app != nil {
			o.App = app.App
		}
	case tenant.SubjectApplication:
		o.App = a.App
		if sp := x.spInfoByApp[lowerID(a.AppID)]; sp != nil {
			o.SPID, o.Owner, o.SPType, o.SP = sp.ID, sp.Owner, sp.SPType, sp.SP
		}
	}
	return o
}

func spObject(in *Input, sp *tenant.ServicePrincipal) appObject {
	if a := in.index().apps[lowerID(sp.ID)]; a != nil && a.SP == sp {
		return objectOf(in, a)
	}
	return objectOf(in, &appInfo{Type: tenant.SubjectServicePrincipal, ID: sp.ID, AppID: sp.AppID, Name: sp.DisplayName,
		Owner: sp.AppOwnerOrganizationID, SPType: sp.ServicePrincipalType, SP: sp})
}

func applicationObject(in *Input, a *tenant.Application) appObject {
	if x := in.index().apps[lowerID(a.ID)]; x != nil && x.App == a {
		return objectOf(in, x)
	}
	return objectOf(in, &appInfo{Type: tenant.SubjectApplication, ID: a.ID, AppID: a.AppID, Name: a.DisplayName, App: a})
}

// resolveAppObject describes the object a record names, through the data
// the run holds (full objects or AppRefs). The type is the record's; when it
// gives none, what the run knows of the id; failing both, the type the
// activity implies. The name is the record's, else the known object's.
func resolveAppObject(in *Input, r audit.AppObject) appObject {
	id := r.ID
	known := in.index().apps[lowerID(id)]
	typ := r.Implied
	switch {
	case r.Type != "":
		typ = r.Type
	case known != nil:
		typ = known.Type
	}
	o := appObject{Type: typ, ID: id}
	if known != nil && known.Type == typ {
		o = objectOf(in, known)
		o.ID = id
	}
	if r.DisplayName != "" {
		o.Name = r.DisplayName
	}
	return o
}

// clientOf resolves the service principal an app role grant grants a role
// to, as the record names it (audit.GrantClient: ServicePrincipal.ObjectID
// in some records, only ServicePrincipal.DisplayName and
// ServicePrincipal.AppId in others; graph.md, field notes). In that order:
// the object id as given; the app id, resolved to the service principal's
// object id through the data the run holds; and, when the record gives
// nothing but a display name, the one service principal of that name (an
// ambiguous or unknown name stays unresolved). matchedBy says which
// property found the object; ok is false when the record names no client
// at all.
func clientOf(in *Input, c audit.GrantClient) (o appObject, matchedBy string, ok bool) {
	objID, appID, name := c.ObjectID, c.AppID, c.DisplayName
	x := in.index()
	var known *appInfo
	switch {
	case objID != "":
		matchedBy = "objectId"
		if a := x.apps[lowerID(objID)]; a != nil && a.Type == tenant.SubjectServicePrincipal {
			known = a
		}
	case appID != "":
		matchedBy = "appId"
		known = x.spInfoByApp[lowerID(appID)]
	case name != "":
		matchedBy = "displayName"
		if cands := x.spsByName[nameKey(name)]; len(cands) == 1 {
			known = cands[0]
		}
	default:
		return appObject{}, "", false
	}
	o = appObject{Type: tenant.SubjectServicePrincipal, ID: objID, AppID: appID, Name: name}
	if known != nil {
		o = objectOf(in, known)
		o.AppID = cmp.Or(o.AppID, appID)
		o.Name = cmp.Or(o.Name, name)
	}
	return o, matchedBy, true
}

// References are the app objects audit events point to that a snapshot does
// not hold, by what the records give: object ids (targets of credential,
// reply-URL and grant events), app ids (grant clients named only by app id,
// applications whose service principal is missing) and display names
// (grant clients named by nothing else). See Unresolved.
type References struct {
	ObjectIDs []string // service principals or applications, lower case
	AppIDs    []string // lower case; their service principals are wanted
	Names     []string // service principal display names, as given
}

// Empty reports whether nothing is unresolved.
func (r References) Empty() bool { return len(r.ObjectIDs)+len(r.AppIDs)+len(r.Names) == 0 }

// Unresolved lists what the rules would need to name the objects of s's
// audit events and applications but s does not hold (as full objects or
// AppRefs). The deployed app's partial rounds hold only the objects that
// changed: it looks these up (stored baselines, one bulk read) and adds
// AppRefs before it runs the rules, so that they resolve every app id to
// the object id. It only reads s.
func Unresolved(s *tenant.Snapshot) References {
	in := &Input{Snapshot: s}
	x := in.index()
	var r References
	seen := make(map[string]bool)
	add := func(list *[]string, kind, v string) {
		k := kind + " " + strings.ToLower(strings.TrimSpace(v))
		if strings.TrimSpace(v) == "" || seen[k] {
			return
		}
		seen[k] = true
		*list = append(*list, strings.TrimSpace(v))
	}
	wantApp := func(appID string) {
		if appID != "" && x.spInfoByApp[lowerID(appID)] == nil {
			add(&r.AppIDs, "app", lowerID(appID))
		}
	}
	wantObject := func(id string) {
		if a := x.apps[lowerID(id)]; a == nil {
			add(&r.ObjectIDs, "id", lowerID(id))
		} else if a.Type == tenant.SubjectApplication {
			wantApp(a.AppID)
		}
	}
	var succeeded []tenant.AuditEvent
	for _, e := range s.Audits {
		if e.Succeeded() { // no rule reports a failed event
			succeeded = append(succeeded, e)
		}
	}
	// Only the events a rule reports: keys added by a credential event,
	// reply URLs added by an app update (every other app update would cost
	// look-ups for nothing), app role grants, consents and delegated
	// grants with mail scopes, app creations and federated identity
	// credentials added.
	for _, ev := range audit.Decode(succeeded) {
		switch ev := ev.(type) {
		case audit.CredentialChange:
			if len(ev.Added()) > 0 {
				wantObject(ev.Object.ID)
			}
		case audit.ReplyURLChange:
			if added, _ := ev.Added(); len(added) > 0 {
				wantObject(ev.Object.ID)
			}
		case audit.Consent: // app.consent-mail-scopes
			if len(mailScopes(ev.AddedScopes())) > 0 {
				wantObject(ev.Object.ID)
			}
		case audit.AppAdded: // app.new-app-with-credential-and-mail
			wantObject(ev.Object.ID)
			wantApp(ev.AppID)
		case audit.FederatedCredentialChange: // app.federated-credential-added
			if len(ev.Added()) > 0 {
				wantObject(ev.Object.ID)
			}
		case audit.DelegatedGrantAdded, audit.AppRoleGrant:
			var client audit.GrantClient
			switch ev := ev.(type) {
			case audit.DelegatedGrantAdded:
				if len(mailScopes(ev.AddedScopes())) == 0 {
					continue
				}
				client = ev.Client
			case audit.AppRoleGrant:
				client = ev.Client
			}
			o, by, ok := clientOf(in, client)
			switch {
			case !ok:
			case by == "objectId" && x.apps[lowerID(o.ID)] == nil:
				add(&r.ObjectIDs, "id", lowerID(o.ID))
			case by == "appId":
				wantApp(o.AppID)
			case by == "displayName" && len(x.spsByName[nameKey(o.Name)]) == 0:
				// An ambiguous name stays ambiguous whatever is looked up.
				add(&r.Names, "name", o.Name)
			}
		}
	}
	for i := range s.Applications {
		wantApp(s.Applications[i].AppID)
	}
	return r
}

// credentialEvent is one key added by a credential event.
type credentialEvent struct {
	Obj    appObject
	Key    audit.Key
	Record tenant.AuditEvent
}

// credentialEvents returns the keys added by the successful credential
// events in the window (audit.CredentialChanges: KeyDescription new items
// minus old items, by key identifier), with the object each names.
func credentialEvents(in *Input) []credentialEvent {
	var out []credentialEvent
	for _, c := range audit.CredentialChanges(in.audits()) {
		obj := resolveAppObject(in, c.Object)
		for _, k := range c.Added() {
			out = append(out, credentialEvent{Obj: obj, Key: k, Record: c.Record})
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
