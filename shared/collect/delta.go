package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DeltaFunc runs one delta round of one object type: link "" starts a full
// round, otherwise the stored link resumes. It streams items to fn and
// returns the new delta link. An expired link is an error wrapping
// tenant.ErrDeltaExpired. *graph.Client's UsersDelta,
// ServicePrincipalsDelta and ApplicationsDelta have this shape.
type DeltaFunc[T any] func(ctx context.Context, link string, fn func(tenant.DeltaItem[T]) error) (string, error)

// BaselineReader reads stored baselines (satisfied by *store.Tables).
type BaselineReader interface {
	BaselinesByID(ctx context.Context, typ tenant.SubjectType, ids []string) (map[string]state.Baseline, error)
	Baselines(ctx context.Context, typ tenant.SubjectType, fn func(state.Baseline) error) error
}

// Round is what one delta round of one object type found. Nothing is
// written: the caller stores the findings it derives, then the baselines
// (Put, Delete) and finally the cursor (Link), so that a crash repeats the
// round instead of losing its changes.
type Round[T any] struct {
	Type tenant.SubjectType
	Link string // the new delta link
	// Full is true for a round that read every object: the first (Install)
	// or a resync after the stored link expired (Resynced).
	Full, Install, Resynced bool
	// Objects are the objects detection should look at: every object in an
	// install round, else those that are new or changed. Absent properties
	// of partial items are filled from the baseline.
	Objects []T
	Changes []tenant.Change  // differences from the baselines
	Put     []state.Baseline // baselines to store
	Delete  []string         // ids whose baselines to delete (removed objects)
	Items   int              // items the round read
}

// kind describes one watched object type.
type kind[T any] struct {
	typ      tenant.SubjectType
	id       func(*T) string
	baseline func(*T) state.Baseline
	// fill copies the baseline's values into the properties item lacks.
	fill func(item *tenant.DeltaItem[T], b state.Baseline)
	// diff lists the changes of properties item carried.
	diff func(item *tenant.DeltaItem[T], old, cur state.Baseline, now time.Time) []tenant.Change
}

// UsersRound runs a users delta round against the stored baselines.
func UsersRound(ctx context.Context, delta DeltaFunc[tenant.User], st BaselineReader, link string, now time.Time) (*Round[tenant.User], error) {
	return runRound(ctx, userKind, delta, st, link, now)
}

// ServicePrincipalsRound runs a service principal delta round.
func ServicePrincipalsRound(ctx context.Context, delta DeltaFunc[tenant.ServicePrincipal], st BaselineReader, link string, now time.Time) (*Round[tenant.ServicePrincipal], error) {
	return runRound(ctx, spKind, delta, st, link, now)
}

// ApplicationsRound runs an application delta round.
func ApplicationsRound(ctx context.Context, delta DeltaFunc[tenant.Application], st BaselineReader, link string, now time.Time) (*Round[tenant.Application], error) {
	return runRound(ctx, appKind, delta, st, link, now)
}

// batchSize is how many items are compared against their baselines at once.
const batchSize = 100

func runRound[T any](ctx context.Context, k kind[T], delta DeltaFunc[T], st BaselineReader, link string, now time.Time) (*Round[T], error) {
	r, err := round(ctx, k, delta, st, link, now, nil)
	if link != "" && errors.Is(err, tenant.ErrDeltaExpired) {
		// The stored link expired (7 days, or tenant maintenance): read
		// everything and compare it with all stored baselines, so that no
		// change made in the meantime is missed.
		all := make(map[string]state.Baseline)
		if err := st.Baselines(ctx, k.typ, func(b state.Baseline) error {
			all[strings.ToLower(b.ID)] = b
			return nil
		}); err != nil {
			return nil, fmt.Errorf("collect: %s baselines for resync: %w", k.typ, err)
		}
		r, err = round(ctx, k, delta, st, "", now, all)
		if r != nil {
			r.Resynced = true
		}
	}
	return r, err
}

// round runs one pass. all is nil for an incremental or install round, and
// holds every stored baseline for a resync.
func round[T any](ctx context.Context, k kind[T], delta DeltaFunc[T], st BaselineReader, link string, now time.Time, all map[string]state.Baseline) (*Round[T], error) {
	r := &Round[T]{Type: k.typ, Full: link == "", Install: link == "" && all == nil}
	var pending []tenant.DeltaItem[T]
	seen := make(map[string]bool)

	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		var known map[string]state.Baseline
		switch {
		case all != nil:
			known = all
		case !r.Install:
			ids := make([]string, 0, len(pending))
			for i := range pending {
				ids = append(ids, k.id(&pending[i].Object))
			}
			var err error
			if known, err = st.BaselinesByID(ctx, k.typ, ids); err != nil {
				return fmt.Errorf("collect: %s baselines: %w", k.typ, err)
			}
		}
		for i := range pending {
			it := &pending[i]
			id := strings.ToLower(k.id(&it.Object))
			old, had := known[id]
			if it.Removed {
				if had || r.Install {
					r.Delete = append(r.Delete, id)
				}
				continue
			}
			if had {
				k.fill(it, old)
			} else {
				it.Present = nil // a new object: what it carries is all it has
			}
			cur := k.baseline(&it.Object)
			switch {
			case r.Install:
				r.Objects = append(r.Objects, it.Object)
				r.Put = append(r.Put, cur)
			case !had:
				// New since the last round (or unseen by a resync's
				// baseline): every credential it has is new. Its reply URLs
				// came with it; the audit log's "Add application" covers
				// creation, so they are not reported as added.
				r.Changes = append(r.Changes, k.diff(it, state.Baseline{ReplyURLs: cur.ReplyURLs, DisabledPlans: cur.DisabledPlans}, cur, now)...)
				r.Objects = append(r.Objects, it.Object)
				r.Put = append(r.Put, cur)
			default:
				ch := k.diff(it, old, cur, now)
				r.Changes = append(r.Changes, ch...)
				if len(ch) > 0 || !sameBaseline(old, cur) {
					r.Objects = append(r.Objects, it.Object)
					r.Put = append(r.Put, cur)
				}
			}
		}
		pending = pending[:0]
		return nil
	}

	next, err := delta(ctx, link, func(it tenant.DeltaItem[T]) error {
		r.Items++
		id := strings.ToLower(strings.TrimSpace(k.id(&it.Object)))
		if id == "" {
			return nil
		}
		seen[id] = true
		pending = append(pending, it)
		if len(pending) >= batchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if all != nil {
		// A resync: stored baselines of objects the full round no longer
		// returned belong to deleted objects.
		for id := range all {
			if !seen[id] {
				r.Delete = append(r.Delete, id)
			}
		}
		slices.Sort(r.Delete)
	}
	r.Link = next
	return r, nil
}

func sameBaseline(a, b state.Baseline) bool {
	return a.Name == b.Name && a.AppID == b.AppID && a.Owner == b.Owner && a.SPType == b.SPType &&
		slices.Equal(a.Credentials, b.Credentials) && slices.Equal(a.ReplyURLs, b.ReplyURLs) &&
		slices.Equal(a.DisabledPlans, b.DisabledPlans)
}

func credentialBaseline(cs []tenant.Credential) []state.BaselineCredential {
	out := make([]state.BaselineCredential, 0, len(cs))
	for _, c := range cs {
		if c.KeyID == "" {
			continue
		}
		out = append(out, state.BaselineCredential{KeyID: strings.ToLower(c.KeyID), Kind: c.Kind, Name: c.DisplayName})
	}
	slices.SortFunc(out, func(a, b state.BaselineCredential) int { return strings.Compare(a.KeyID, b.KeyID) })
	return slices.CompactFunc(out, func(a, b state.BaselineCredential) bool { return a.KeyID == b.KeyID })
}

func sortedUnique(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// fillCredentials restores from the baseline the credentials of the kinds
// (keyCredentials, passwordCredentials) a partial item did not carry.
func fillCredentials(present func(string) bool, cs []tenant.Credential, b state.Baseline) []tenant.Credential {
	keep := func(k tenant.CredentialKind) bool {
		if k == tenant.PasswordCredential {
			return !present("passwordCredentials")
		}
		return !present("keyCredentials")
	}
	out := slices.Clone(cs)
	for _, c := range b.Credentials {
		if keep(c.Kind) {
			out = append(out, tenant.Credential{Kind: c.Kind, KeyID: c.KeyID, DisplayName: c.Name})
		}
	}
	return out
}

// credentialChanges lists key ids in cur but not in old, for the credential
// kinds the item carried.
func credentialChanges(has func(string) bool, typ tenant.SubjectType, id string, old, cur state.Baseline, now time.Time) []tenant.Change {
	had := make(map[string]bool, len(old.Credentials))
	for _, c := range old.Credentials {
		had[c.KeyID] = true
	}
	var out []tenant.Change
	for _, c := range cur.Credentials {
		prop := "keyCredentials"
		if c.Kind == tenant.PasswordCredential {
			prop = "passwordCredentials"
		}
		if !had[c.KeyID] && has(prop) {
			out = append(out, tenant.Change{Kind: tenant.ChangeCredentialAdded, ObjectType: typ, ObjectID: id, Value: c.KeyID, SeenAt: now})
		}
	}
	return out
}

func urlChanges(typ tenant.SubjectType, id string, old, cur []string, now time.Time) []tenant.Change {
	var out []tenant.Change
	for _, u := range cur {
		if _, found := slices.BinarySearch(old, u); !found {
			out = append(out, tenant.Change{Kind: tenant.ChangeReplyURLAdded, ObjectType: typ, ObjectID: id, Value: u, SeenAt: now})
		}
	}
	return out
}

var spKind = kind[tenant.ServicePrincipal]{
	typ: tenant.SubjectServicePrincipal,
	id:  func(sp *tenant.ServicePrincipal) string { return sp.ID },
	baseline: func(sp *tenant.ServicePrincipal) state.Baseline {
		return state.Baseline{
			Type: tenant.SubjectServicePrincipal, ID: strings.ToLower(sp.ID), Name: sp.DisplayName,
			AppID: sp.AppID, Owner: sp.AppOwnerOrganizationID, SPType: sp.ServicePrincipalType,
			Credentials: credentialBaseline(sp.Credentials), ReplyURLs: sortedUnique(sp.ReplyURLs),
		}
	},
	fill: func(it *tenant.DeltaItem[tenant.ServicePrincipal], b state.Baseline) {
		sp := &it.Object
		if !it.Has("displayName") {
			sp.DisplayName = b.Name
		}
		if !it.Has("appId") {
			sp.AppID = b.AppID
		}
		if !it.Has("appOwnerOrganizationId") {
			sp.AppOwnerOrganizationID = b.Owner
		}
		if !it.Has("servicePrincipalType") {
			sp.ServicePrincipalType = b.SPType
		}
		if !it.Has("replyUrls") {
			sp.ReplyURLs = slices.Clone(b.ReplyURLs)
		}
		sp.Credentials = fillCredentials(it.Has, sp.Credentials, b)
	},
	diff: func(it *tenant.DeltaItem[tenant.ServicePrincipal], old, cur state.Baseline, now time.Time) []tenant.Change {
		out := credentialChanges(it.Has, tenant.SubjectServicePrincipal, cur.ID, old, cur, now)
		if it.Has("replyUrls") {
			out = append(out, urlChanges(tenant.SubjectServicePrincipal, cur.ID, old.ReplyURLs, cur.ReplyURLs, now)...)
		}
		return out
	},
}

var appKind = kind[tenant.Application]{
	typ: tenant.SubjectApplication,
	id:  func(a *tenant.Application) string { return a.ID },
	baseline: func(a *tenant.Application) state.Baseline {
		return state.Baseline{
			Type: tenant.SubjectApplication, ID: strings.ToLower(a.ID), Name: a.DisplayName, AppID: a.AppID,
			Credentials: credentialBaseline(a.Credentials), ReplyURLs: sortedUnique(a.RedirectURIs),
		}
	},
	fill: func(it *tenant.DeltaItem[tenant.Application], b state.Baseline) {
		a := &it.Object
		if !it.Has("displayName") {
			a.DisplayName = b.Name
		}
		if !it.Has("appId") {
			a.AppID = b.AppID
		}
		if !redirectsPresent(it.Has) {
			a.RedirectURIs = slices.Clone(b.ReplyURLs)
		}
		a.Credentials = fillCredentials(it.Has, a.Credentials, b)
	},
	diff: func(it *tenant.DeltaItem[tenant.Application], old, cur state.Baseline, now time.Time) []tenant.Change {
		out := credentialChanges(it.Has, tenant.SubjectApplication, cur.ID, old, cur, now)
		if redirectsPresent(it.Has) {
			out = append(out, urlChanges(tenant.SubjectApplication, cur.ID, old.ReplyURLs, cur.ReplyURLs, now)...)
		}
		return out
	},
}

// redirectsPresent: an application's redirect URIs live in web, spa and
// publicClient.
func redirectsPresent(has func(string) bool) bool {
	return has("web") || has("spa") || has("publicClient")
}

var userKind = kind[tenant.User]{
	typ: tenant.SubjectUser,
	id:  func(u *tenant.User) string { return u.ID },
	baseline: func(u *tenant.User) state.Baseline {
		var plans []string
		for _, l := range u.Licenses {
			for _, p := range l.DisabledPlans {
				plans = append(plans, strings.ToLower(l.SkuID+"/"+p))
			}
		}
		return state.Baseline{Type: tenant.SubjectUser, ID: strings.ToLower(u.ID), Name: u.UPN, DisabledPlans: sortedUnique(plans)}
	},
	fill: func(it *tenant.DeltaItem[tenant.User], b state.Baseline) {
		u := &it.Object
		if !it.Has("userPrincipalName") {
			u.UPN = b.Name
		}
		if !it.Has("assignedLicenses") {
			// Only the disabled plans are known: enough for the rules the
			// users stream feeds.
			bySKU := make(map[string]int)
			for _, p := range b.DisabledPlans {
				sku, plan, _ := strings.Cut(p, "/")
				i, ok := bySKU[sku]
				if !ok {
					u.Licenses = append(u.Licenses, tenant.License{SkuID: sku})
					i = len(u.Licenses) - 1
					bySKU[sku] = i
				}
				u.Licenses[i].DisabledPlans = append(u.Licenses[i].DisabledPlans, plan)
			}
		}
	},
	diff: func(it *tenant.DeltaItem[tenant.User], old, cur state.Baseline, now time.Time) []tenant.Change {
		if !it.Has("assignedLicenses") {
			return nil
		}
		var out []tenant.Change
		for _, p := range cur.DisabledPlans {
			if _, found := slices.BinarySearch(old.DisabledPlans, p); !found {
				out = append(out, tenant.Change{Kind: tenant.ChangePlanDisabled, ObjectType: tenant.SubjectUser, ObjectID: cur.ID, Value: p, SeenAt: now})
			}
		}
		return out
	},
}
