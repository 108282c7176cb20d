package permission_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestCatalogue: each permission, with the sources it gates and the
// subscriptions Graph checks it for (Microsoft's permission tables; see
// the catalogue's comment).
func TestCatalogue(t *testing.T) {
	type entry struct {
		res     string
		name    string
		sources []tenant.Source
		subs    []string
	}
	want := []entry{
		{"Microsoft Graph", "Organization.Read.All", []tenant.Source{tenant.SourceOrganization, tenant.SourceSubscribedSkus}, nil},
		{"Microsoft Graph", "User.Read.All", []tenant.Source{tenant.SourceUsers, tenant.SourceSignInActivity}, []string{"users"}},
		{"Microsoft Graph", "AuditLog.Read.All", []tenant.Source{tenant.SourceSignInActivity, tenant.SourceRegistrations, tenant.SourceDirectoryAudits, tenant.SourceSignIns, tenant.SourceSignInsBeta}, nil},
		{"Microsoft Graph", "Directory.Read.All", []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceDelegatedGrants}, nil},
		{"Microsoft Graph", "Application.Read.All", []tenant.Source{tenant.SourceServicePrincipals, tenant.SourceApplications, tenant.SourceResourceGrants, tenant.SourceFederatedCredentials}, nil},
		{"Microsoft Graph", "Policy.Read.All", []tenant.Source{tenant.SourceCAPolicies, tenant.SourceNamedLocations, tenant.SourceAuthorizationPolicy}, nil},
		{"Microsoft Graph", "Group.Read.All", []tenant.Source{tenant.SourceGroups, tenant.SourceCAGroupMembers}, []string{"groups"}},
		{"Microsoft Graph", "Device.Read.All", []tenant.Source{tenant.SourceDevices}, nil},
		{"Microsoft Graph", "Domain.Read.All", []tenant.Source{tenant.SourceDomains}, nil},
		{"Office 365 Management APIs", "ActivityFeed.Read", []tenant.Source{tenant.SourceExchangeAudit}, nil},
	}
	var got []entry
	for _, e := range permission.All() {
		got = append(got, entry{e.Resource.Name, e.Name, e.Sources, e.Subscriptions})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(entry{})); diff != "" {
		t.Errorf("catalogue (-want +got):\n%s", diff)
	}
	for _, w := range want[:len(want)-1] {
		e, ok := permission.Lookup(permission.Graph, w.name)
		if !ok || e.Name != w.name || !slices.Equal(e.Sources, w.sources) {
			t.Errorf("Lookup(Graph, %s) = %+v, %v", w.name, e, ok)
		}
	}
	if e, ok := permission.Lookup(permission.OfficeManagement, "User.Read.All"); ok {
		t.Errorf("Lookup(OfficeManagement, User.Read.All) = %+v: a name is looked up within its resource", e)
	}
}

// TestNeeds: what each source's read needs, as error messages name it.
func TestNeeds(t *testing.T) {
	tests := []struct {
		src         tenant.Source
		permissions string // joined with " and ", in catalogue order
		licence     string
	}{
		{tenant.SourceOrganization, "Organization.Read.All", ""},
		{tenant.SourceSubscribedSkus, "Organization.Read.All", ""},
		{tenant.SourceUsers, "User.Read.All", ""},
		{tenant.SourceGroups, "Group.Read.All", ""},
		{tenant.SourceSignInActivity, "User.Read.All and AuditLog.Read.All", "an Entra ID P1 or P2 licence"},
		{tenant.SourceRegistrations, "AuditLog.Read.All", "an Entra ID P1 or P2 licence"},
		{tenant.SourceServicePrincipals, "Application.Read.All", ""},
		{tenant.SourceApplications, "Application.Read.All", ""},
		{tenant.SourceResourceGrants, "Application.Read.All", ""},
		{tenant.SourceDirectoryAudits, "AuditLog.Read.All and Directory.Read.All", ""},
		{tenant.SourceSignIns, "AuditLog.Read.All", "an Entra ID P1 or P2 licence"},
		{tenant.SourceCAPolicies, "Policy.Read.All", "an Entra ID P1 licence"},
		{tenant.SourceNamedLocations, "Policy.Read.All", "an Entra ID P1 licence"},
		{tenant.SourceSignInsBeta, "AuditLog.Read.All", "an Entra ID P1 or P2 licence"},
		{tenant.SourceDevices, "Device.Read.All", ""},
		{tenant.SourceDomains, "Domain.Read.All", ""},
		{tenant.SourceCAGroupMembers, "Group.Read.All", ""},
		{tenant.SourceDelegatedGrants, "Directory.Read.All", ""},
		{tenant.SourceAuthorizationPolicy, "Policy.Read.All", ""},
		{tenant.SourceFederatedCredentials, "Application.Read.All", ""},
		{tenant.SourceAzureRanges, "", ""},
		{tenant.SourceExchangeAudit, "ActivityFeed.Read", ""},
		{"no such source", "", ""},
	}
	for _, tc := range tests {
		es, l := permission.Needs(tc.src)
		if got := strings.Join(permission.Names(es), " and "); got != tc.permissions || l.String() != tc.licence {
			t.Errorf("Needs(%s) = %q, %q; want %q, %q", tc.src, got, l, tc.permissions, tc.licence)
		}
	}
}

// TestRequired: what a deployment grants on each resource (shared/deploy
// holds infra/ to it): the Graph permissions, all read-only.
func TestRequired(t *testing.T) {
	want := []string{"Application.Read.All", "AuditLog.Read.All", "Device.Read.All", "Directory.Read.All", "Domain.Read.All",
		"Group.Read.All", "Organization.Read.All", "Policy.Read.All", "User.Read.All"}
	if got := permission.Required(permission.Graph); !slices.Equal(got, want) {
		t.Errorf("Required(Graph) = %v, want %v", got, want)
	}
	if got, want := permission.Required(permission.OfficeManagement), []string{"ActivityFeed.Read"}; !slices.Equal(got, want) {
		t.Errorf("Required(OfficeManagement) = %v, want %v", got, want)
	}
}

// ungated are the tenant sources no application permission gates, each
// with why.
var ungated = map[tenant.Source]string{
	tenant.SourceAzureRanges: "the Service Tags file: a local file, a blob or the Service Tag Discovery API (an Azure role, not an application permission)",
}

// TestEverySourceHasAnEntry: every tenant.Source constant is gated by a
// permission of the catalogue, or listed in ungated with the reason, so a
// source added to shared/tenant without its permission fails here. (shared/
// graph's tests check the sources its reads use.)
func TestEverySourceHasAnEntry(t *testing.T) {
	srcs := tenantSources(t)
	if len(srcs) < 10 {
		t.Fatalf("found %d tenant.Source constants (%v): the parse is not seeing them", len(srcs), srcs)
	}
	for _, src := range srcs {
		es, _ := permission.Needs(src)
		_, skip := ungated[src]
		switch {
		case len(es) == 0 && !skip:
			t.Errorf("tenant.Source %q: no permission in the catalogue gates it (add its entry, or list it in ungated with why)", src)
		case len(es) > 0 && skip:
			t.Errorf("tenant.Source %q is listed as ungated, yet %v gate it", src, permission.Names(es))
		}
	}
	for src := range ungated {
		if !slices.Contains(srcs, src) {
			t.Errorf("ungated lists %q, which is not a tenant.Source", src)
		}
	}
	if got, want := len(permission.Sources()), len(srcs)-len(ungated); got != want {
		t.Errorf("Sources() = %v (%d), want the %d gated tenant sources", permission.Sources(), got, want)
	}
}

// tenantSources returns the values of the constants of type Source that
// shared/tenant declares.
func tenantSources(t *testing.T) []tenant.Source {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "tenant", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []tenant.Source
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Source" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: a Source constant that is not a string literal: the parse cannot read it", fset.Position(v.Pos()))
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, tenant.Source(s))
				}
			}
		}
	}
	return out
}

// TestSubscription: the permission Graph checks when the app subscribes,
// for every resource the app watches, however the resource is spelt.
func TestSubscription(t *testing.T) {
	for _, r := range config.WatchedResources() {
		e, ok := permission.Subscription(r)
		if !ok || e.Resource != permission.Graph {
			t.Errorf("the app subscribes to %s, but no Graph permission lists it (%+v, %v)", r, e, ok)
		}
	}
	tests := []struct{ resource, want string }{
		{"users", "User.Read.All"},
		{"/Users/", "User.Read.All"},
		{" users/00000000-0000-0000-0000-000000000001", "User.Read.All"},
		{"groups", "Group.Read.All"},
		{"Groups/abc/members", "Group.Read.All"},
		{"", ""},
		{"/", ""},
		{"usersx", ""},
		{"me/messages", ""},
	}
	for _, tc := range tests {
		e, ok := permission.Subscription(tc.resource)
		if e.Name != tc.want || ok != (tc.want != "") {
			t.Errorf("Subscription(%q) = %q, %v; want %q", tc.resource, e.Name, ok, tc.want)
		}
	}
}

// TestWellFormed: every entry is a read-only permission of a known
// resource, named once, and gates something.
func TestWellFormed(t *testing.T) {
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	resources := []permission.Resource{permission.Graph, permission.OfficeManagement}
	for i, r := range resources {
		if r.Name == "" || !guid.MatchString(r.AppID) {
			t.Errorf("resource %+v: want a name and a lower-case GUID appId", r)
		}
		for _, o := range resources[:i] {
			if o.AppID == r.AppID || o.Name == r.Name {
				t.Errorf("resources %+v and %+v are not distinct", o, r)
			}
		}
	}
	seen := map[permission.Resource]map[string]bool{}
	for _, e := range permission.All() {
		if !slices.Contains(resources, e.Resource) {
			t.Errorf("%s: unknown resource %+v", e.Name, e.Resource)
		}
		if seen[e.Resource] == nil {
			seen[e.Resource] = map[string]bool{}
		}
		if seen[e.Resource][e.Name] {
			t.Errorf("%s of %s is listed twice", e.Name, e.Resource.Name)
		}
		seen[e.Resource][e.Name] = true
		if !strings.Contains(e.Name, ".Read") || strings.Contains(e.Name, "Write") {
			t.Errorf("%s is not a read-only permission", e.Name)
		}
		if len(e.Sources) == 0 && len(e.Subscriptions) == 0 {
			t.Errorf("%s gates no source and no subscription: why is it asked for?", e.Name)
		}
		if s := slices.Compact(slices.Sorted(slices.Values(e.Sources))); len(s) != len(e.Sources) {
			t.Errorf("%s lists a source twice: %v", e.Name, e.Sources)
		}
	}
}

// TestAllIsACopy: what All, Lookup and Needs return cannot change the
// catalogue.
func TestAllIsACopy(t *testing.T) {
	all := permission.All()
	all[0].Sources[0] = "changed"
	all[0].Name = "changed"
	e, _ := permission.Lookup(permission.Graph, "User.Read.All")
	e.Subscriptions[0] = "changed"
	es, _ := permission.Needs(tenant.SourceDirectoryAudits)
	es[0].Sources[0] = "changed"
	for _, e := range permission.All() {
		if e.Name == "changed" || slices.Contains(e.Sources, "changed") || slices.Contains(e.Subscriptions, "changed") {
			t.Errorf("the catalogue was changed through a returned entry: %+v", e)
		}
	}
}
