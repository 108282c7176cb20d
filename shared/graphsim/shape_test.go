package graphsim_test

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// TestShapes checks what a typed Graph client (Kiota) needs to parse every
// object: Guid-typed properties hold GUIDs, DateTimeOffsets parse, enums
// hold known members, Binary is base64, and audit old/new values are JSON
// text. One bad value would make the SDK reject a whole page.
func TestShapes(t *testing.T) {
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			d := load(t, newSim(t, &graphsim.Options{Scenario: sc, Users: 25}))
			c := &checker{t: t}
			c.guid("organization.id", d.org["id"])
			for _, u := range d.users {
				c.guid("user.id", u["id"])
				c.time("user.createdDateTime", u["createdDateTime"], false)
				c.enum("user.userType", u["userType"], "Member", "Guest")
				for _, l := range asList(u["assignedLicenses"]) {
					c.guid("assignedLicense.skuId", asMap(l)["skuId"])
					for _, p := range asList(asMap(l)["disabledPlans"]) {
						c.guid("assignedLicense.disabledPlans", p)
					}
				}
				if sia, ok := u["signInActivity"].(map[string]any); ok {
					for _, k := range []string{"lastSignInDateTime", "lastNonInteractiveSignInDateTime", "lastSuccessfulSignInDateTime"} {
						c.time("signInActivity."+k, sia[k], true)
					}
				}
			}
			for _, r := range d.regs {
				c.enum("registration.userType", r["userType"], "member", "guest")
				c.enum("registration.userPreferredMethodForSecondaryAuthentication", r["userPreferredMethodForSecondaryAuthentication"],
					"push", "oath", "voiceMobile", "voiceAlternateMobile", "voiceOffice", "sms", "none")
				c.time("registration.lastUpdatedDateTime", r["lastUpdatedDateTime"], false)
				for _, k := range []string{"isAdmin", "isMfaRegistered", "isMfaCapable", "isSsprRegistered"} {
					if _, ok := r[k].(bool); !ok {
						t.Errorf("registration.%s is %T", k, r[k])
					}
				}
			}
			creds := func(what string, o map[string]any) {
				for _, k := range asList(o["keyCredentials"]) {
					m := asMap(k)
					c.guid(what+".keyCredentials.keyId", m["keyId"])
					c.time(what+".keyCredentials.startDateTime", m["startDateTime"], false)
					c.time(what+".keyCredentials.endDateTime", m["endDateTime"], false)
					c.base64(what+".keyCredentials.customKeyIdentifier", m["customKeyIdentifier"])
					c.enum(what+".keyCredentials.type", m["type"], "AsymmetricX509Cert", "X509CertAndPassword", "Symmetric")
					c.enum(what+".keyCredentials.usage", m["usage"], "Verify", "Sign")
				}
				for _, p := range asList(o["passwordCredentials"]) {
					m := asMap(p)
					c.guid(what+".passwordCredentials.keyId", m["keyId"])
					c.time(what+".passwordCredentials.startDateTime", m["startDateTime"], false)
					if m["secretText"] != nil {
						t.Errorf("%s: a secret is returned", what)
					}
				}
			}
			for _, sp := range d.sps {
				c.guid("sp.id", sp["id"])
				c.guid("sp.appId", sp["appId"])
				c.guid("sp.appOwnerOrganizationId", sp["appOwnerOrganizationId"])
				c.enum("sp.servicePrincipalType", sp["servicePrincipalType"], "Application", "ManagedIdentity", "Legacy", "SocialIdp")
				for _, r := range asList(sp["appRoles"]) {
					c.guid("appRole.id", asMap(r)["id"])
				}
				creds("sp", sp)
			}
			for _, a := range d.apps {
				c.guid("app.id", a["id"])
				c.guid("app.appId", a["appId"])
				c.time("app.createdDateTime", a["createdDateTime"], false)
				creds("app", a)
			}
			for _, g := range d.grants {
				c.guid("grant.appRoleId", g["appRoleId"])
				c.guid("grant.principalId", g["principalId"])
				c.guid("grant.resourceId", g["resourceId"])
				c.time("grant.createdDateTime", g["createdDateTime"], false)
				c.enum("grant.principalType", g["principalType"], "ServicePrincipal", "User", "Group")
			}
			for _, a := range d.audits {
				c.guid("audit.correlationId", a["correlationId"])
				c.time("audit.activityDateTime", a["activityDateTime"], false)
				c.enum("audit.result", a["result"], "success", "failure", "timeout")
				for _, tr := range asList(a["targetResources"]) {
					if gt := asMap(tr)["groupType"]; gt != nil {
						c.enum("targetResource.groupType", gt, "unifiedGroups", "azureAD")
					}
					for _, mp := range asList(asMap(tr)["modifiedProperties"]) {
						for _, k := range []string{"oldValue", "newValue"} {
							v := asMap(mp)[k]
							if v == nil {
								continue
							}
							s, ok := v.(string)
							if !ok {
								t.Errorf("modifiedProperty %v %s is %T, want JSON text in a string", asMap(mp)["displayName"], k, v)
							} else if s != "" && !json.Valid([]byte(s)) {
								t.Errorf("modifiedProperty %v %s is not JSON text: %q", asMap(mp)["displayName"], k, s)
							}
						}
					}
				}
			}
			for _, s := range d.signs {
				c.time("signIn.createdDateTime", s["createdDateTime"], false)
				c.enum("signIn.conditionalAccessStatus", s["conditionalAccessStatus"], "success", "failure", "notApplied")
				for _, k := range []string{"riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState"} {
					c.enum("signIn."+k, s[k], "none", "low", "medium", "high", "hidden", "atRisk", "confirmedSafe", "remediated", "dismissed")
				}
				if _, ok := asMap(s["status"])["errorCode"].(float64); !ok {
					t.Errorf("signIn.status.errorCode missing")
				}
			}
			for _, p := range d.policies {
				c.enum("policy.state", p["state"], "enabled", "disabled", "enabledForReportingButNotEnforced")
			}
			for _, l := range d.locations {
				c.enum("namedLocation.@odata.type", l["@odata.type"], "#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation")
			}
		})
	}
}

type checker struct{ t *testing.T }

func (c *checker) guid(what string, v any) {
	c.t.Helper()
	if s, ok := v.(string); !ok || !guidRE.MatchString(s) {
		c.t.Errorf("%s: %v is not a GUID", what, v)
	}
}

func (c *checker) time(what string, v any, nullable bool) {
	c.t.Helper()
	if v == nil && nullable {
		return
	}
	s, ok := v.(string)
	if !ok {
		c.t.Errorf("%s: %v is not a timestamp", what, v)
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
		c.t.Errorf("%s: %q is not a UTC DateTimeOffset", what, s)
	}
}

func (c *checker) enum(what string, v any, allowed ...string) {
	c.t.Helper()
	s, _ := v.(string)
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	c.t.Errorf("%s: %v not in %v", what, v, allowed)
}

func (c *checker) base64(what string, v any) {
	c.t.Helper()
	if v == nil {
		return
	}
	s, _ := v.(string)
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		c.t.Errorf("%s: %q is not base64", what, s)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func TestEmptyScenario(t *testing.T) {
	d := load(t, newSim(t, &graphsim.Options{Scenario: empty.Scenario(), Users: 50}))
	if len(d.users) != 50 || len(d.regs) != 50 || len(d.audits) != 0 || len(d.signs) != 5 {
		t.Errorf("users %d, registrations %d, audits %d, sign-ins %d", len(d.users), len(d.regs), len(d.audits), len(d.signs))
	}
	protected := false
	for _, p := range d.policies {
		apps := asMap(asMap(p["conditions"])["applications"])
		for _, a := range asList(apps["includeUserActions"]) {
			if a == "urn:user:registersecurityinfo" && p["state"] == "enabled" {
				protected = true
			}
		}
	}
	if !protected {
		t.Error("the empty tenant does not protect security-info registration")
	}
	for _, sp := range d.sps {
		if len(asList(sp["keyCredentials"]))+len(asList(sp["passwordCredentials"])) != 0 {
			t.Errorf("%s holds credentials", sp["displayName"])
		}
	}
}
