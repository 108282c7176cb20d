package detect

import (
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// index holds lookups shared by detectors, built once per run.
type index struct {
	usersByID   map[string]*tenant.User
	spsByID     map[string]*tenant.ServicePrincipal
	spsByAppID  map[string]*tenant.ServicePrincipal
	appsByID    map[string]*tenant.Application
	appsByAppID map[string]*tenant.Application
	changes     map[changeKey]tenant.Change
}

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
		usersByID:   make(map[string]*tenant.User, len(s.Users)),
		spsByID:     make(map[string]*tenant.ServicePrincipal, len(s.ServicePrincipals)),
		spsByAppID:  make(map[string]*tenant.ServicePrincipal, len(s.ServicePrincipals)),
		appsByID:    make(map[string]*tenant.Application, len(s.Applications)),
		appsByAppID: make(map[string]*tenant.Application, len(s.Applications)),
		changes:     make(map[changeKey]tenant.Change, len(s.Changes)),
	}
	for _, c := range s.Changes {
		x.changes[newChangeKey(c.Kind, c.ObjectID, c.Value)] = c
	}
	// Empty ids are not indexed: a lookup by "" finds nothing rather than
	// whichever malformed object came last.
	for i := range s.Users {
		if id := lowerID(s.Users[i].ID); id != "" {
			x.usersByID[id] = &s.Users[i]
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
	in.idx = x
	return x
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
