package audit

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The fuzz targets cover every decoder that reads outside input: the
// property parsers (KeyDescription, AssignedLicense, AssignedPlan,
// AppAddress/ReplyUrls, any oldValue/newValue), split-event reassembly, and
// whole records through Decode. `make fuzz` runs each for FUZZTIME; the
// seeds and testdata/fuzz/ run in every `go test`.

const fuzzKeyID = "0e3c1b5a-7d3e-4f6a-9a51-3c2b1d0e9f87"

// FuzzKeyDescription checks the KeyDescription parser never panics, keeps
// only items with a key identifier, and reads back any display name placed
// in the last field of an item.
func FuzzKeyDescription(f *testing.F) {
	f.Add(`["[KeyIdentifier=`+fuzzKeyID+`,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo]"]`, "CN=Contoso, Inc [prod]")
	f.Add(`[KeyIdentifier=a,DisplayName=b], [KeyIdentifier=c,DisplayName=d]`, "]")
	f.Add(`"[\"[KeyIdentifier=x,DisplayName=y]\"]"`, ",DisplayName=,KeyIdentifier=z")
	f.Add(`[[[[`, "")
	f.Add(`[{"KeyIdentifier":"k"}]`, " padded ")
	f.Fuzz(func(t *testing.T, raw, name string) {
		items := parseKeyDescriptions(raw)
		for _, k := range items {
			if k.ID == "" {
				t.Fatalf("item without key id from %q", raw)
			}
		}
		if got := newKeys(items, items); len(got) != 0 {
			t.Fatalf("newKeys(x, x) = %+v", got)
		}
		if !utf8.ValidString(name) {
			return
		}
		item := "[KeyIdentifier=" + fuzzKeyID + ",KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=" + name + "]"
		b, err := json.Marshal([]string{item})
		if err != nil {
			t.Fatal(err)
		}
		got := parseKeyDescriptions(string(b))
		want := Key{ID: fuzzKeyID, Type: "AsymmetricX509Cert", Usage: "Verify", DisplayName: name}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("round trip of display name %q: got %+v", name, got)
		}
	})
}

var planToken = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// FuzzAssignedLicense checks the AssignedLicense parser never panics,
// returns only licences that name a SKU, and reads back a disabled plan.
func FuzzAssignedLicense(f *testing.F) {
	f.Add(graphLicence, "M365_ADVANCED_AUDITING")
	f.Add(`[SkuName=A, SkuId=1, DisabledPlans=[x, y]], [SkuId=2]`, advancedAuditingPlanID)
	f.Add(`["]]][SkuId=1]]]"]`, "p")
	f.Add(strings.Repeat("[", 40)+"SkuId=1", "q")
	f.Add(`[{"skuId":"1","disabledPlans":[1,null,"p"]}]`, "")
	f.Fuzz(func(t *testing.T, raw, plan string) {
		for _, l := range parseAssignedLicenses(raw) {
			if l.SkuID == "" && l.SkuName == "" {
				t.Fatalf("licence without SKU from %q", raw)
			}
			for _, p := range l.DisabledPlans {
				if p == "" {
					t.Fatalf("empty disabled plan from %q", raw)
				}
			}
		}
		if !planToken.MatchString(plan) {
			return
		}
		text := "[SkuName=ENTERPRISEPREMIUM, AccountId=a, SkuId=c7df2760-2c81-4ef7-b578-5b5392b571df, DisabledPlans=[" + plan + ", other]]"
		b, _ := json.Marshal([]string{text})
		got := parseAssignedLicenses(string(b))
		if len(got) != 1 || got[0].SkuID != "c7df2760-2c81-4ef7-b578-5b5392b571df" || !slices.Equal(got[0].DisabledPlans, []string{plan, "other"}) {
			t.Fatalf("round trip of plan %q: got %+v", plan, got)
		}
	})
}

// FuzzModifiedValue checks decoding of oldValue/newValue never panics and
// that a string value encoded as Graph does comes back; AssignedPlan
// entries always name a plan.
func FuzzModifiedValue(f *testing.F) {
	f.Add(`"\"Global Administrator\""`)
	f.Add(`["a",1,null,{"b":[]}]`)
	f.Add(`"[\"x\"]"`)
	f.Add(`{`)
	f.Add(`   `)
	f.Add(`1e999`)
	f.Add(`[{"ServicePlanId":"p","CapabilityStatus":3}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		_ = decodeValue(raw)
		_ = valueString(raw)
		// null and empty are no list at all; a list may hold nulls.
		if list := valueList(raw); decodeValue(raw) == nil && list != nil {
			t.Fatalf("valueList(%q) = %v, want nil", raw, list)
		}
		for _, p := range parseAssignedPlans(raw) {
			if p.ID == "" {
				t.Fatalf("plan without id from %q", raw)
			}
		}
		if !utf8.ValidString(raw) {
			return
		}
		s := strings.TrimSpace(raw)
		if s == "" || strings.ContainsAny(s[:1], `[{"`) {
			return
		}
		b, _ := json.Marshal(s)
		if got := valueString(string(b)); got != s {
			t.Fatalf("valueString(%s) = %q, want %q", b, got, s)
		}
	})
}

// FuzzAppAddress checks the AppAddress/ReplyUrls parser never panics,
// returns trimmed, non-empty, distinct addresses, and reads back an address.
func FuzzAppAddress(f *testing.F) {
	f.Add(`[{"AddressType":0,"Address":"https://a/","ReplyAddressClientType":1}]`, "https://portal.contoso.com/signin-oidc")
	f.Add(`["https://a/"," https://a/ "]`, " http://localhost:8400/ ")
	f.Add(`[{"address":{"x":1}}]`, `[{"Address":"nested"}]`)
	f.Add(`null`, "")
	f.Fuzz(func(t *testing.T, raw, url string) {
		addrs := parseAddresses(raw)
		seen := make(map[string]bool)
		for _, a := range addrs {
			if a == "" || a != strings.TrimSpace(a) || seen[a] {
				t.Fatalf("parseAddresses(%q) = %q", raw, addrs)
			}
			seen[a] = true
		}
		if got := addedAddresses(addrs, addrs); len(got) != 0 {
			t.Fatalf("addedAddresses(x, x) = %q", got)
		}
		if added := addedAddresses(nil, addrs); !slices.IsSorted(added) || len(added) != len(addrs) {
			t.Fatalf("addedAddresses(nil, %q) = %q", addrs, added)
		}
		u := strings.TrimSpace(url)
		if !utf8.ValidString(url) || u == "" {
			return
		}
		b, _ := json.Marshal([]map[string]any{{"AddressType": 0, "Address": url, "IsReplyAddressDefault": false}})
		if got := parseAddresses(string(b)); len(got) != 1 || got[0] != u {
			t.Fatalf("round trip of %q: got %q", url, got)
		}
		b, _ = json.Marshal([]string{url})
		if got := parseAddresses(string(b)); len(got) != 1 || got[0] != u {
			t.Fatalf("ReplyUrls round trip of %q: got %q", url, got)
		}
	})
}

// FuzzSplit checks split-event reassembly never panics on any fragment,
// and that a record cut into chunks at arbitrary points, delivered in any
// order, comes back with its properties whole.
func FuzzSplit(f *testing.F) {
	f.Add(`[{"displayName":"AssignedLicense","oldValue":"[]","newValue":"[\"[SkuId=1, DisabledPlans=[p]]\"]"}]`, uint8(3), uint16(7), "2", "x")
	f.Add(`{"targetResources":[{"modifiedProperties":[{"name":"AssignedPlan","oldValue":[],"newValue":[{"ServicePlanId":"p"}]}]}]}`, uint8(1), uint16(0), "1", `\"`)
	f.Add(`"[{\"displayName\":\"a\"}]"`, uint8(9), uint16(65535), "-1", "{")
	f.Fuzz(func(t *testing.T, blob string, parts uint8, cut uint16, seq, frag string) {
		// Hostile chunks: any sequence number and fragment.
		_ = reassemble([]tenant.AuditEvent{
			{Activity: "Update user", Details: []tenant.KeyValue{{Key: "id", Value: "h"}, {Key: "seq", Value: seq}, {Key: "c", Value: "1"}, {Key: "b", Value: frag}}},
			{Activity: "Update user", Details: []tenant.KeyValue{{Key: "id", Value: "h"}, {Key: "seq", Value: "1"}, {Key: "c", Value: seq}, {Key: "b", Value: blob}}},
		})
		want := propsFromBlob(blob)
		if len(want) == 0 {
			return
		}
		n := int(parts%8) + 1
		if n > len(blob) {
			n = len(blob)
		}
		// Cut blob into n chunks at byte offsets derived from cut.
		var chunks []string
		rest := blob
		for i := n; i > 1; i-- {
			at := int(cut) % (len(rest) - i + 2)
			if at == 0 {
				at = 1
			}
			chunks = append(chunks, rest[:at])
			rest = rest[at:]
		}
		chunks = append(chunks, rest)
		var events []tenant.AuditEvent
		for i := len(chunks) - 1; i >= 0; i-- { // delivered in reverse order
			events = append(events, tenant.AuditEvent{ID: strconv.Itoa(i), Activity: "Update user",
				Targets: []tenant.Target{{ID: "u", Type: "User"}},
				Details: []tenant.KeyValue{{Key: "id", Value: "g"}, {Key: "seq", Value: strconv.Itoa(i)}, {Key: "c", Value: strconv.Itoa(len(chunks))}, {Key: "b", Value: chunks[i]}}})
		}
		got := reassemble(events)
		if len(got) != 1 || got[0].Parts != len(chunks) || got[0].First.ID != "0" || !slices.Equal(got[0].Props, want) {
			t.Fatalf("reassembled %d chunks of %q: got %+v, want props %+v", len(chunks), blob, got, want)
		}
	})
}

// FuzzDecode feeds records through Decode: whole records as Graph's JSON,
// and one record built from fuzzed parts (activity, target type, property
// name and values) so that every decoder sees arbitrary values. It never
// panics, every event comes from one of the records, and what an event
// promises holds (an object id, keys with ids, licences that name a SKU,
// trimmed distinct addresses).
func FuzzDecode(f *testing.F) {
	seeds := []struct{ raw, activity, typ, prop, old, new string }{
		{`[{"id":"1","activityDisplayName":"Add service principal credentials","targetResources":[{"id":"sp","type":"ServicePrincipal","modifiedProperties":[{"displayName":"KeyDescription","oldValue":"[]","newValue":"[\"[KeyIdentifier=k,DisplayName=x]\"]"}]}]}]`,
			actUpdateAppCredentials, "Application", "KeyDescription", `[]`, `["[KeyIdentifier=k,KeyType=Password,DisplayName=a, b]"]`},
		{`[{"id":"2","activityDisplayName":"Update application","targetResources":[{"id":"app","modifiedProperties":[{"displayName":"AppAddress","oldValue":"","newValue":"[{\"Address\":\" https://a/ \"}]"}]}]}]`,
			actUpdateSP, "", "ReplyUrls", `["https://a/"]`, `"[\"https://a/\",\"https://b/\"]"`},
		{`[{"id":"3","activityDisplayName":"Add app role assignment to service principal","targetResources":[{"id":"r","type":"ServicePrincipal","modifiedProperties":[{"displayName":"AppRole.Value","newValue":"\"Mail.Read\""},{"displayName":"ServicePrincipal.AppId","newValue":"\"a\""}]}]}]`,
			actAddAppRoleAssignment, "ServicePrincipal", "ServicePrincipal.ObjectID", ``, `["x"]`},
		{`[{"id":"4","activityDisplayName":"Change user license.","targetResources":[{"id":"u","type":"User","modifiedProperties":[{"displayName":"AssignedLicense","oldValue":"[]","newValue":"[\"[SkuId=1, DisabledPlans=[M365_ADVANCED_AUDITING]]\"]"}]}]}]`,
			actUpdateUser, "User", "AssignedPlan", `[{"ServicePlanId":"p","CapabilityStatus":0}]`, `[{"ServicePlanId":"p","CapabilityStatus":"Deleted"}]`},
		{`[{"id":"5","activityDisplayName":"Update user","targetResources":[{"id":"u","type":"User"}],"additionalDetails":[{"key":"id","value":"g"},{"key":"seq","value":"1"},{"key":"c","value":"1"},{"key":"b","value":"[{\"displayName\":\"AssignedLicense\",\"newValue\":\"[SkuId=1]\"}]"}]}]`,
			actChangeUserLicense, "user", "AssignedLicense", `[SkuName=A, SkuId=1], [SkuId=2, DisabledPlans=[x]]`, `[[[`},
		{`[{"id":"6","activityDisplayName":"User registered security info","initiatedBy":{"userId":"u"}}]`,
			actAddEligibleMember, "Group", "Role.TemplateId", ``, `"62e90394-69f5-4237-9190-012177145e10"`},
		{`not json`, actRegisteredSecurityInfo, "User", "x", ``, ``},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.activity, s.typ, s.prop, s.old, s.new)
	}
	f.Fuzz(func(t *testing.T, raw, activity, typ, prop, oldV, newV string) {
		var records []tenant.AuditEvent
		_ = json.Unmarshal([]byte(raw), &records) // records stay nil when raw is not a list of records
		records = append(records, tenant.AuditEvent{
			ID: "built", Activity: activity, Result: "success",
			Initiator: tenant.Actor{UserID: oldV},
			Targets: []tenant.Target{
				{ID: " t1 ", Type: typ, DisplayName: newV, Modified: []tenant.ModifiedProperty{{Name: prop, Old: oldV, New: newV}}},
				{ID: newV, Type: "Role", Modified: []tenant.ModifiedProperty{{Name: "KeyDescription", Old: newV, New: oldV}}},
			},
			Details: []tenant.KeyValue{{Key: "id", Value: "g"}, {Key: "seq", Value: "1"}, {Key: "c", Value: "1"}, {Key: "b", Value: newV}},
		})
		ids := make(map[string]bool, len(records))
		for _, r := range records {
			ids[r.ID] = true
		}
		for _, ev := range Decode(records) {
			var rec tenant.AuditEvent
			switch ev := ev.(type) {
			case CredentialChange:
				rec = ev.Record
				checkObject(t, ev.Object)
				for _, k := range append(ev.KeyDescription.Old, ev.KeyDescription.New...) {
					if k.ID == "" {
						t.Fatalf("key without id: %+v", ev)
					}
				}
			case ReplyURLChange:
				rec = ev.Record
				checkObject(t, ev.Object)
				if ev.AppAddress == nil && ev.ReplyUrls == nil {
					t.Fatalf("reply URL change without a property: %+v", ev)
				}
				addrs, props := ev.Added()
				if !slices.IsSorted(addrs) || len(slices.Compact(slices.Clone(addrs))) != len(addrs) || (len(addrs) == 0) != (len(props) == 0) {
					t.Fatalf("Added() = %q, %q", addrs, props)
				}
			case AppRoleGrant:
				rec = ev.Record
			case LicenceChange:
				rec = ev.Record
				if strings.TrimSpace(ev.User.ID) == "" || (ev.AssignedLicense == nil && ev.AssignedPlan == nil) || len(ev.User.Modified) != 0 {
					t.Fatalf("licence change without a user or a property: %+v", ev)
				}
				if ev.AssignedLicense != nil {
					for _, l := range append(ev.AssignedLicense.Old, ev.AssignedLicense.New...) {
						if l.SkuID == "" && l.SkuName == "" {
							t.Fatalf("licence without SKU: %+v", ev)
						}
					}
				}
			case SecurityInfoRegistration:
				rec = ev.Record
				if ev.UserID == "" || ev.UserID != strings.TrimSpace(ev.UserID) {
					t.Fatalf("registration user %q", ev.UserID)
				}
			case RoleMemberAdded:
				rec = ev.Record
				if (ev.MemberType == "") != (ev.Member.Type == "") || len(ev.Member.Modified) != 0 {
					t.Fatalf("member %+v typed %q", ev.Member, ev.MemberType)
				}
			case DeviceEvent:
				rec = ev.Record
				if ev.DeviceID == "" || ev.DeviceID != strings.TrimSpace(ev.DeviceID) || ev.UserID != strings.TrimSpace(ev.UserID) ||
					(ev.Kind == DeviceAdded && ev.UserID != "") {
					t.Fatalf("device event %+v", ev)
				}
			default:
				t.Fatalf("unknown event %T", ev)
			}
			if !ids[rec.ID] {
				t.Fatalf("event from a record not given: %+v", ev)
			}
		}
	})
}

func checkObject(t *testing.T, o AppObject) {
	t.Helper()
	if o.ID == "" || o.ID != strings.TrimSpace(o.ID) || o.Implied == "" {
		t.Fatalf("object %+v: want a trimmed id and an implied type", o)
	}
}

// FuzzConsentPermissions checks the ConsentAction.Permissions parser never
// panics, reads at most maxConsentEntries entries, and reads back a scope
// list placed in an entry; and that FederatedIdentityCredentials values
// never panic and give no item without an issuer and a subject.
func FuzzConsentPermissions(f *testing.F) {
	f.Add(`[] => [[Id: g1, ClientId: c, PrincipalId: , ResourceId: r, ConsentType: AllPrincipals, Scope:  Mail.Read openid, CreatedDateTime: , LastModifiedDateTime ]]; `, "Mail.Read offline_access")
	f.Add(`[[Id: [Id: [Id:`, "")
	f.Add(`"[] => [[Id: a, Scope: x]]"`, "Scope: y")
	f.Add(`[{"Issuer":"https://i","Subject":"*","Audiences":["a"]}]`, "ClientId: z")
	f.Fuzz(func(t *testing.T, raw, scopes string) {
		if got := parseConsentEntries(raw); len(got) > maxConsentEntries {
			t.Fatalf("%d entries from %q", len(got), raw)
		}
		for _, fc := range parseFederatedCredentials(raw) {
			if fc.Issuer == "" && fc.Subject == "" {
				t.Fatalf("credential without issuer and subject from %q", raw)
			}
		}
		if strings.ContainsAny(scopes, ",]") || !utf8.ValidString(scopes) {
			return
		}
		got := parseConsentEntries("[] => [[Id: g1, ClientId: c, ConsentType: Principal, Scope: " + scopes + ", CreatedDateTime: ]]")
		if len(got) != 1 || !slices.Equal(got[0].Scopes, strings.Fields(scopes)) {
			t.Fatalf("round trip of scopes %q: got %+v", scopes, got)
		}
	})
}
