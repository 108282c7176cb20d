package detect

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// index holds lookups shared by detectors, built once per run.
type index struct {
	usersByID   map[string]*tenant.User
	spsByID     map[string]*tenant.ServicePrincipal
	spsByAppID  map[string]*tenant.ServicePrincipal
	appsByID    map[string]*tenant.Application
	appsByAppID map[string]*tenant.Application
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
	}
	for i := range s.Users {
		x.usersByID[strings.ToLower(s.Users[i].ID)] = &s.Users[i]
	}
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		x.spsByID[strings.ToLower(sp.ID)] = sp
		x.spsByAppID[strings.ToLower(sp.AppID)] = sp
	}
	for i := range s.Applications {
		a := &s.Applications[i]
		x.appsByID[strings.ToLower(a.ID)] = a
		x.appsByAppID[strings.ToLower(a.AppID)] = a
	}
	in.idx = x
	return x
}

// User returns the user with object id id (case-insensitive), or nil.
func (in *Input) User(id string) *tenant.User { return in.index().usersByID[strings.ToLower(id)] }

// ServicePrincipal returns the service principal with object id id, or nil.
func (in *Input) ServicePrincipal(id string) *tenant.ServicePrincipal {
	return in.index().spsByID[strings.ToLower(id)]
}

// ServicePrincipalByAppID returns the service principal of appID, or nil.
func (in *Input) ServicePrincipalByAppID(appID string) *tenant.ServicePrincipal {
	return in.index().spsByAppID[strings.ToLower(appID)]
}

// Application returns the application with object id id, or nil.
func (in *Input) Application(id string) *tenant.Application {
	return in.index().appsByID[strings.ToLower(id)]
}

// ApplicationByAppID returns the application registration of appID, or nil.
func (in *Input) ApplicationByAppID(appID string) *tenant.Application {
	return in.index().appsByAppID[strings.ToLower(appID)]
}
