package detect

import (
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// index holds lookups shared by detectors, built once per run.
type index struct {
	usersByID    map[string]*tenant.User
	usersByUPN   map[string]*tenant.User   // lower-case UPN
	usersByAlias map[string][]*tenant.User // lower-case local part of the UPN
	usersByName  map[string][]*tenant.User // normalised display name
	spsByID      map[string]*tenant.ServicePrincipal
	spsByAppID   map[string]*tenant.ServicePrincipal
	appsByID     map[string]*tenant.Application
	appsByAppID  map[string]*tenant.Application
	changes      map[changeKey]tenant.Change
	audits       []tenant.AuditEvent // see Input.audits

	// What the run knows of each app object, full or by reference
	// (Snapshot.AppRefs), for naming the objects audit records point to.
	apps        map[string]*appInfo   // lower-case object id → service principal or application
	spInfoByApp map[string]*appInfo   // lower-case app id → its service principal
	apInfoByApp map[string]*appInfo   // lower-case app id → its application
	spsByName   map[string][]*appInfo // normalised display name → service principals

	ca *tenant.CAView // Conditional Access, built on first use (Input.caView)
}

// appInfo is what the run knows of one service principal or application:
// the full object when the snapshot holds it, else the identity facts of an
// AppRef.
type appInfo struct {
	Type   tenant.SubjectType
	ID     string
	AppID  string
	Name   string
	Owner  string // appOwnerOrganizationId (service principals)
	SPType string // servicePrincipalType (service principals)
	SP     *tenant.ServicePrincipal
	App    *tenant.Application
}

// nameKey normalises a display name for lookups: trimmed, case-folded.
func nameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// changeKey finds a baseline change: kind, lower-case object id and value
// (key ids lower case; URLs as they are).
type changeKey struct {
	kind       tenant.ChangeKind
	obj, value string
}

func (in *Input) index() *index {
	if in.idx != nil {
		return in.idx
	}
	s := in.Snapshot
	x := &index{
		usersByID:    make(map[string]*tenant.User, len(s.Users)),
		usersByUPN:   make(map[string]*tenant.User, len(s.Users)),
		usersByAlias: make(map[string][]*tenant.User),
		usersByName:  make(map[string][]*tenant.User),
		spsByID:      make(map[string]*tenant.ServicePrincipal, len(s.ServicePrincipals)),
		spsByAppID:   make(map[string]*tenant.ServicePrincipal, len(s.ServicePrincipals)),
		appsByID:     make(map[string]*tenant.Application, len(s.Applications)),
		appsByAppID:  make(map[string]*tenant.Application, len(s.Applications)),
		changes:      make(map[changeKey]tenant.Change, len(s.Changes)),
	}
	for _, c := range s.Changes {
		x.changes[newChangeKey(c.Kind, c.ObjectID, c.Value)] = c
	}
	// Empty ids are not indexed: a lookup by "" finds nothing rather than
	// whichever malformed object came last.
	for i := range s.Users {
		u := &s.Users[i]
		if id := lowerID(u.ID); id != "" {
			x.usersByID[id] = u
		}
		if upn := lowerID(u.UPN); upn != "" {
			x.usersByUPN[upn] = u
			if alias, _, ok := strings.Cut(upn, "@"); ok && alias != "" {
				x.usersByAlias[alias] = append(x.usersByAlias[alias], u)
			}
		}
		if n := nameKey(u.DisplayName); n != "" {
			x.usersByName[n] = append(x.usersByName[n], u)
		}
	}
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		if id := lowerID(sp.ID); id != "" {
			x.spsByID[id] = sp
		}
		if id := lowerID(sp.AppID); id != "" {
			x.spsByAppID[id] = sp
		}
	}
	for i := range s.Applications {
		a := &s.Applications[i]
		if id := lowerID(a.ID); id != "" {
			x.appsByID[id] = a
		}
		if id := lowerID(a.AppID); id != "" {
			x.appsByAppID[id] = a
		}
	}
	x.indexApps(s)
	for _, e := range s.Audits {
		if e.Succeeded() && inWindow(in, e.Time) {
			x.audits = append(x.audits, e)
		}
	}
	slices.SortStableFunc(x.audits, func(a, b tenant.AuditEvent) int { return a.Time.Compare(b.Time) })
	in.idx = x
	return x
}

// audits returns the audit records the rules judge: the successful ones in
// the window, ordered by time (ties keep their input order). Rules read
// them through the typed events of shared/audit.
func (in *Input) audits() []tenant.AuditEvent { return in.index().audits }

// inWindow reports whether t is inside the snapshot's audit window
// (t >= Since).
func inWindow(in *Input, t time.Time) bool { return !t.Before(in.Snapshot.Since) }

// indexApps builds the app object lookups: full objects first, then the
// references for objects the snapshot does not hold.
func (x *index) indexApps(s *tenant.Snapshot) {
	x.apps = make(map[string]*appInfo, len(s.ServicePrincipals)+len(s.Applications)+len(s.AppRefs))
	x.spInfoByApp = make(map[string]*appInfo, len(s.ServicePrincipals)+len(s.AppRefs))
	x.apInfoByApp = make(map[string]*appInfo, len(s.Applications))
	x.spsByName = make(map[string][]*appInfo)
	add := func(a *appInfo) {
		id := lowerID(a.ID)
		if id == "" {
			return
		}
		if _, dup := x.apps[id]; dup {
			return // a full object, or the first reference, stands
		}
		x.apps[id] = a
		byApp := x.apInfoByApp
		if a.Type == tenant.SubjectServicePrincipal {
			byApp = x.spInfoByApp
			if n := nameKey(a.Name); n != "" {
				x.spsByName[n] = append(x.spsByName[n], a)
			}
		}
		if k := lowerID(a.AppID); k != "" {
			if _, dup := byApp[k]; !dup {
				byApp[k] = a
			}
		}
	}
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		add(&appInfo{Type: tenant.SubjectServicePrincipal, ID: strings.TrimSpace(sp.ID), AppID: strings.TrimSpace(sp.AppID),
			Name: sp.DisplayName, Owner: sp.AppOwnerOrganizationID, SPType: sp.ServicePrincipalType, SP: sp})
	}
	for i := range s.Applications {
		a := &s.Applications[i]
		add(&appInfo{Type: tenant.SubjectApplication, ID: strings.TrimSpace(a.ID), AppID: strings.TrimSpace(a.AppID), Name: a.DisplayName, App: a})
	}
	for _, r := range s.AppRefs {
		if r.Type != tenant.SubjectServicePrincipal && r.Type != tenant.SubjectApplication {
			continue
		}
		add(&appInfo{Type: r.Type, ID: strings.TrimSpace(r.ID), AppID: strings.TrimSpace(r.AppID), Name: r.DisplayName,
			Owner: r.AppOwnerOrganizationID, SPType: r.ServicePrincipalType})
	}
}

func newChangeKey(kind tenant.ChangeKind, obj, value string) changeKey {
	if kind == tenant.ChangeCredentialAdded {
		value = lowerID(value)
	}
	return changeKey{kind: kind, obj: lowerID(obj), value: value}
}

// Change returns the baseline change of kind on object obj with value, if
// the snapshot has one.
func (in *Input) Change(kind tenant.ChangeKind, obj, value string) (tenant.Change, bool) {
	c, ok := in.index().changes[newChangeKey(kind, obj, value)]
	return c, ok
}

// User returns the user with object id id (case-insensitive), or nil.
func (in *Input) User(id string) *tenant.User { return in.index().usersByID[lowerID(id)] }

// ServicePrincipal returns the service principal with object id id, or nil.
func (in *Input) ServicePrincipal(id string) *tenant.ServicePrincipal {
	return in.index().spsByID[lowerID(id)]
}

// ServicePrincipalByAppID returns the service principal of appID, or nil.
func (in *Input) ServicePrincipalByAppID(appID string) *tenant.ServicePrincipal {
	return in.index().spsByAppID[lowerID(appID)]
}

// Application returns the application with object id id, or nil.
func (in *Input) Application(id string) *tenant.Application {
	return in.index().appsByID[lowerID(id)]
}

// ApplicationByAppID returns the application registration of appID, or nil.
func (in *Input) ApplicationByAppID(appID string) *tenant.Application {
	return in.index().appsByAppID[lowerID(appID)]
}
