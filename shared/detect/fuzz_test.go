package detect

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

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
			if k.KeyID == "" {
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
		want := keyDescription{KeyID: fuzzKeyID, KeyType: "AsymmetricX509Cert", KeyUsage: "Verify", DisplayName: name}
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
		auditDisableChange(nil) // no properties, no result
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
// that a string value encoded as Graph does comes back.
func FuzzModifiedValue(f *testing.F) {
	f.Add(`"\"Global Administrator\""`)
	f.Add(`["a",1,null,{"b":[]}]`)
	f.Add(`"[\"x\"]"`)
	f.Add(`{`)
	f.Add(`   `)
	f.Add(`1e999`)
	f.Fuzz(func(t *testing.T, raw string) {
		_ = decodeValue(raw)
		_ = valueString(raw)
		// null and empty are no list at all; a list may hold nulls.
		if list := valueList(raw); decodeValue(raw) == nil && list != nil {
			t.Fatalf("valueList(%q) = %v, want nil", raw, list)
		}
		_ = parseAssignedPlans(raw)
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
