package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func spBaseline(i int) state.Baseline {
	return state.Baseline{
		Type: tenant.SubjectServicePrincipal, ID: fmt.Sprintf("AAAAAAAA-0000-0000-0000-%012d", i),
		Name: fmt.Sprintf("app %d <script>", i), AppID: fmt.Sprintf("app-%d", i), Owner: "f8cdef31-a31e-4b4a-93e4-5f571e91255a", SPType: "Application",
		Credentials: []state.BaselineCredential{{KeyID: fmt.Sprintf("key-%d", i), Kind: tenant.CredentialKind("certificate"), Name: "CN=app"}},
		ReplyURLs:   []string{fmt.Sprintf("https://app%d.example/callback", i)},
	}
}

func userBaseline(i int) state.Baseline {
	return state.Baseline{
		Type: tenant.SubjectUser, ID: fmt.Sprintf("bbbbbbbb-0000-0000-0000-%012d", i), Name: fmt.Sprintf("user%d@contoso.example", i),
		DisabledPlans: []string{"sku/2f442157-a11c-46b9-ae5b-6e39ff4e5849"},
	}
}

// allBaselines streams the baselines of typ.
func allBaselines(t *testing.T, st *store.Tables, typ tenant.SubjectType) []state.Baseline {
	t.Helper()
	var out []state.Baseline
	if err := st.Baselines(t.Context(), typ, func(b state.Baseline) error { out = append(out, b); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

var byID = cmpopts.SortSlices(func(a, b state.Baseline) bool { return strings.ToLower(a.ID) < strings.ToLower(b.ID) })

// TestBaselinesBatches stores 250 rows of two types (two partitions, 150
// rows in one: two transactions), reads them back every way, replaces and
// deletes some.
func TestBaselinesBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	var sps, users, all []state.Baseline
	for i := 0; i < 150; i++ {
		sps = append(sps, spBaseline(i))
	}
	for i := 0; i < 100; i++ {
		users = append(users, userBaseline(i))
	}
	for i := 0; i < 150; i++ { // interleave the types
		all = append(all, sps[i])
		if i < 100 {
			all = append(all, users[i])
		}
	}
	if err := st.PutBaselines(ctx, all); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sps, allBaselines(t, st, tenant.SubjectServicePrincipal), byID); diff != "" {
		t.Errorf("service principals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(users, allBaselines(t, st, tenant.SubjectUser), byID); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if got := allBaselines(t, st, tenant.SubjectApplication); len(got) != 0 {
		t.Errorf("applications: %d, want none", len(got))
	}

	// By id: case-insensitive, keyed lower case, missing ids absent.
	got, err := st.BaselinesByID(ctx, tenant.SubjectServicePrincipal, []string{sps[3].ID, strings.ToLower(sps[149].ID), sps[3].ID, "missing", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]state.Baseline{strings.ToLower(sps[3].ID): sps[3], strings.ToLower(sps[149].ID): sps[149]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BaselinesByID (-want +got):\n%s", diff)
	}
	// Ids of another type are not found under this one.
	if got, err := st.BaselinesByID(ctx, tenant.SubjectUser, []string{sps[3].ID}); err != nil || len(got) != 0 {
		t.Errorf("BaselinesByID across types = %v, %v", got, err)
	}

	// Replace: the last of duplicates wins, ids match case-insensitively.
	changed := sps[5]
	changed.ID = strings.ToLower(changed.ID)
	changed.ReplyURLs = append(changed.ReplyURLs, "https://evil.example/#?x")
	first := changed
	first.Name = "overwritten in the same call"
	if err := st.PutBaselines(ctx, []state.Baseline{first, changed}); err != nil {
		t.Fatal(err)
	}
	got, err = st.BaselinesByID(ctx, tenant.SubjectServicePrincipal, []string{sps[5].ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(changed, got[strings.ToLower(sps[5].ID)]); diff != "" {
		t.Errorf("replaced (-want +got):\n%s", diff)
	}
	if n := len(allBaselines(t, st, tenant.SubjectServicePrincipal)); n != 150 {
		t.Errorf("after replacing: %d service principals, want 150", n)
	}

	// Delete 120 (two transactions) plus ids that were never stored.
	var del []string
	for i := 0; i < 120; i++ {
		del = append(del, sps[i].ID)
	}
	del = append(del, "never-stored", "also/missing#")
	if err := st.DeleteBaselines(ctx, tenant.SubjectServicePrincipal, del); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sps[120:], allBaselines(t, st, tenant.SubjectServicePrincipal), byID); diff != "" {
		t.Errorf("after delete (-want +got):\n%s", diff)
	}
	if err := st.DeleteBaselines(ctx, tenant.SubjectServicePrincipal, del); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	if n := len(allBaselines(t, st, tenant.SubjectUser)); n != 100 {
		t.Errorf("users after deleting service principals: %d, want 100", n)
	}
}

func TestBaselinesLarge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	urls := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("https://reply-%06d.example/%s", i, strings.Repeat("p", 80))
		}
		return out
	}
	tests := []struct {
		name      string
		in        state.Baseline
		wantURLs  int // reply URLs read back
		truncated bool
	}{
		{name: "one property", in: state.Baseline{Type: tenant.SubjectApplication, ID: "small", ReplyURLs: urls(10)}, wantURLs: 10},
		{name: "split over properties", in: state.Baseline{Type: tenant.SubjectApplication, ID: "many-reply-urls", ReplyURLs: urls(3000)}, wantURLs: 3000},
		{name: "over one row: trimmed", in: state.Baseline{Type: tenant.SubjectApplication, ID: "huge", ReplyURLs: urls(12000),
			Credentials: []state.BaselineCredential{{KeyID: "k1"}, {KeyID: "k2"}}}, truncated: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.PutBaselines(ctx, []state.Baseline{tc.in}); err != nil {
				t.Fatal(err)
			}
			got, err := st.BaselinesByID(ctx, tc.in.Type, []string{tc.in.ID})
			if err != nil {
				t.Fatal(err)
			}
			b := got[tc.in.ID]
			if !tc.truncated {
				if diff := cmp.Diff(tc.in, b); diff != "" {
					t.Fatalf("read back (-want +got):\n%s", diff)
				}
				return
			}
			// Credentials are kept whole; reply URLs are a prefix.
			if diff := cmp.Diff(tc.in.Credentials, b.Credentials); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
			n := len(b.ReplyURLs)
			if n == 0 || n >= len(tc.in.ReplyURLs) {
				t.Fatalf("kept %d of %d reply URLs, want a proper, non-empty prefix", n, len(tc.in.ReplyURLs))
			}
			if diff := cmp.Diff(tc.in.ReplyURLs[:n], b.ReplyURLs); diff != "" {
				t.Errorf("reply URLs are not a prefix (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaselinesHostileIDs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	var bs []state.Baseline
	var ids []string
	for _, k := range hostileKeys() {
		bs = append(bs, state.Baseline{Type: tenant.SubjectUser, ID: k, Name: k})
		ids = append(ids, k)
	}
	if err := st.PutBaselines(ctx, bs); err != nil {
		t.Fatal(err)
	}
	got := allBaselines(t, st, tenant.SubjectUser)
	if diff := cmp.Diff(bs, got, byID); diff != "" {
		t.Errorf("streamed (-want +got):\n%s", diff)
	}
	m, err := st.BaselinesByID(ctx, tenant.SubjectUser, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(ids) {
		t.Errorf("BaselinesByID found %d of %d", len(m), len(ids))
	}
	if err := st.DeleteBaselines(ctx, tenant.SubjectUser, ids); err != nil {
		t.Fatal(err)
	}
	if got := allBaselines(t, st, tenant.SubjectUser); len(got) != 0 {
		t.Errorf("%d left after delete", len(got))
	}
}

func TestBaselinesErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, nil, nil)
	for _, b := range []state.Baseline{{ID: "no-type"}, {Type: tenant.SubjectUser}} {
		if err := st.PutBaselines(ctx, []state.Baseline{b}); err == nil {
			t.Errorf("PutBaselines(%+v) succeeded", b)
		}
	}
	if err := st.PutBaselines(ctx, nil); err != nil {
		t.Errorf("PutBaselines(nil) = %v", err)
	}
	if err := st.PutBaselines(ctx, []state.Baseline{userBaseline(1), userBaseline(2)}); err != nil {
		t.Fatal(err)
	}
	// The callback's error stops the stream and comes back unchanged.
	stop := errors.New("stop here")
	calls := 0
	err := st.Baselines(ctx, tenant.SubjectUser, func(state.Baseline) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("Baselines with a failing callback = %v after %d calls, want the callback's error after 1", err, calls)
	}
}
