package collect_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// baselines is a test double of the store's baseline reads.
type baselines map[string]state.Baseline

func (b baselines) BaselinesByID(_ context.Context, typ tenant.SubjectType, ids []string) (map[string]state.Baseline, error) {
	out := make(map[string]state.Baseline)
	for _, id := range ids {
		if v, ok := b[strings.ToLower(id)]; ok && v.Type == typ {
			out[strings.ToLower(id)] = v
		}
	}
	return out, nil
}

func (b baselines) Baselines(_ context.Context, typ tenant.SubjectType, fn func(state.Baseline) error) error {
	for _, v := range b {
		if v.Type == typ {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b baselines) put(r *collect.Round[tenant.ServicePrincipal]) {
	for _, p := range r.Put {
		b[p.ID] = p
	}
	for _, id := range r.Delete {
		delete(b, id)
	}
}

// spDelta serves items for a link; an "expired" link answers ErrDeltaExpired.
type spDelta struct {
	rounds map[string][]tenant.DeltaItem[tenant.ServicePrincipal]
	calls  []string
}

func (d *spDelta) fn(_ context.Context, link string, fn func(tenant.DeltaItem[tenant.ServicePrincipal]) error) (string, error) {
	d.calls = append(d.calls, link)
	if link == "expired" {
		return "", fmt.Errorf("graph: %w", tenant.ErrDeltaExpired)
	}
	for _, it := range d.rounds[link] {
		if err := fn(it); err != nil {
			return "", err
		}
	}
	return "link-after-" + link, nil
}

var roundNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func sp(id, name string, keys ...string) tenant.ServicePrincipal {
	s := tenant.ServicePrincipal{ID: id, DisplayName: name, AppID: "app-" + id, ServicePrincipalType: "Application", ReplyURLs: []string{"https://" + id + ".example/cb"}}
	for _, k := range keys {
		s.Credentials = append(s.Credentials, tenant.Credential{Kind: tenant.KeyCredential, KeyID: k, DisplayName: "CN=" + name})
	}
	return s
}

func item(s tenant.ServicePrincipal, present ...string) tenant.DeltaItem[tenant.ServicePrincipal] {
	return tenant.DeltaItem[tenant.ServicePrincipal]{Object: s, Present: present}
}

func TestServicePrincipalsRound(t *testing.T) {
	ctx := context.Background()
	store := baselines{}
	d := &spDelta{rounds: map[string][]tenant.DeltaItem[tenant.ServicePrincipal]{
		"": {item(sp("A", "Alpha", "k1")), item(sp("B", "Beta")), item(sp("C", "Gamma", "k9"))},
	}}

	// Install: everything becomes baseline, no changes.
	r, err := collect.ServicePrincipalsRound(ctx, d.fn, store, "", roundNow)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Install || !r.Full || len(r.Changes) != 0 || len(r.Objects) != 3 || len(r.Put) != 3 || r.Link != "link-after-" {
		t.Fatalf("install round = %+v", r)
	}
	store.put(r)

	// Incremental: A gets a backdated key and a reply URL, carried as a
	// partial item (id + keyCredentials + replyUrls only); B is deleted; D
	// is new with a key; C reappears unchanged.
	partial := tenant.ServicePrincipal{ID: "A", Credentials: []tenant.Credential{
		{Kind: tenant.KeyCredential, KeyID: "k1"}, {Kind: tenant.KeyCredential, KeyID: "K2", DisplayName: "CN=Alpha", Start: roundNow.AddDate(-1, 0, 0)},
	}, ReplyURLs: []string{"https://A.example/cb", "https://evil.example/[x](y)"}}
	d.rounds["link-after-"] = []tenant.DeltaItem[tenant.ServicePrincipal]{
		item(partial, "id", "keyCredentials", "replyUrls"),
		{Object: tenant.ServicePrincipal{ID: "B"}, Removed: true},
		item(sp("D", "Delta", "k4")),
		item(sp("C", "Gamma", "k9")),
	}
	r, err = collect.ServicePrincipalsRound(ctx, d.fn, store, "link-after-", roundNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []tenant.Change{
		{Kind: tenant.ChangeCredentialAdded, ObjectType: tenant.SubjectServicePrincipal, ObjectID: "a", Value: "k2", SeenAt: roundNow},
		{Kind: tenant.ChangeReplyURLAdded, ObjectType: tenant.SubjectServicePrincipal, ObjectID: "a", Value: "https://evil.example/[x](y)", SeenAt: roundNow},
		{Kind: tenant.ChangeCredentialAdded, ObjectType: tenant.SubjectServicePrincipal, ObjectID: "d", Value: "k4", SeenAt: roundNow},
	}
	if diff := cmp.Diff(want, r.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if r.Install || r.Full {
		t.Errorf("incremental round marked full: %+v", r)
	}
	if diff := cmp.Diff([]string{"b"}, r.Delete); diff != "" {
		t.Errorf("delete (-want +got):\n%s", diff)
	}
	if len(r.Objects) != 2 || r.Objects[0].ID != "A" || r.Objects[0].DisplayName != "Alpha" || r.Objects[0].AppID != "app-A" {
		t.Errorf("objects: the partial item was not filled from its baseline: %+v", r.Objects)
	}
	store.put(r)

	// The stored link expires: a full resync compares every object with
	// every baseline; the change made meanwhile (C's new password) is found,
	// and D, gone meanwhile, is deleted.
	c := sp("C", "Gamma", "k9")
	c.Credentials = append(c.Credentials, tenant.Credential{Kind: tenant.PasswordCredential, KeyID: "p1"})
	d.rounds[""] = []tenant.DeltaItem[tenant.ServicePrincipal]{item(partialFull("A", store)), item(c)}
	r, err = collect.ServicePrincipalsRound(ctx, d.fn, store, "expired", roundNow)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resynced || !r.Full || r.Install {
		t.Errorf("resync flags = %+v", r)
	}
	wantResync := []tenant.Change{{Kind: tenant.ChangeCredentialAdded, ObjectType: tenant.SubjectServicePrincipal, ObjectID: "c", Value: "p1", SeenAt: roundNow}}
	if diff := cmp.Diff(wantResync, r.Changes); diff != "" {
		t.Errorf("resync changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"d"}, r.Delete); diff != "" {
		t.Errorf("resync delete (-want +got):\n%s", diff)
	}
}

// partialFull rebuilds A as the resync's full round returns it.
func partialFull(id string, b baselines) tenant.ServicePrincipal {
	base := b[strings.ToLower(id)]
	s := tenant.ServicePrincipal{ID: id, DisplayName: base.Name, AppID: base.AppID, ServicePrincipalType: base.SPType, ReplyURLs: base.ReplyURLs}
	for _, c := range base.Credentials {
		s.Credentials = append(s.Credentials, tenant.Credential{Kind: c.Kind, KeyID: c.KeyID, DisplayName: c.Name})
	}
	return s
}

func TestUsersRoundPlanDisabled(t *testing.T) {
	ctx := context.Background()
	store := baselines{"u1": {Type: tenant.SubjectUser, ID: "u1", Name: "u1@x", DisabledPlans: []string{"sku/p0"}}}
	delta := func(_ context.Context, link string, fn func(tenant.DeltaItem[tenant.User]) error) (string, error) {
		// u1: licences changed (audit plan disabled); u2: only displayName changed.
		if err := fn(tenant.DeltaItem[tenant.User]{Object: tenant.User{ID: "U1", Licenses: []tenant.License{{SkuID: "SKU", DisabledPlans: []string{"P0", "AUDIT"}}}}, Present: []string{"id", "assignedLicenses"}}); err != nil {
			return "", err
		}
		return "next", fn(tenant.DeltaItem[tenant.User]{Object: tenant.User{ID: "u2", DisplayName: "x"}, Present: []string{"id", "displayName"}})
	}
	r, err := collect.UsersRound(ctx, delta, store, "stored", roundNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []tenant.Change{{Kind: tenant.ChangePlanDisabled, ObjectType: tenant.SubjectUser, ObjectID: "u1", Value: "sku/audit", SeenAt: roundNow}}
	if diff := cmp.Diff(want, r.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if r.Objects[0].UPN != "u1@x" {
		t.Errorf("UPN not filled from the baseline: %+v", r.Objects[0])
	}
}

func TestRoundErrors(t *testing.T) {
	boom := errors.New("boom")
	delta := func(context.Context, string, func(tenant.DeltaItem[tenant.User]) error) (string, error) {
		return "", boom
	}
	if _, err := collect.UsersRound(context.Background(), delta, baselines{}, "x", roundNow); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
