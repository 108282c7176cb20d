package graphsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Synthetic users are benign staff generated from their index: nothing but
// the count is stored, so 100,000 of them cost a few bytes until a page is
// served. Each is an enabled member with an Office 365 E3 licence, MFA
// registered and signed in within the last three weeks; one in ten has a
// sign-in log entry (from a documentation-range ISP address, never an Azure
// one). None of them should produce a finding.

// synthSkuE3 is Office 365 E3 (ENTERPRISEPACK), which both scenarios sell.
const synthSkuE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"

// synthSignInSpan spreads synthetic sign-ins over the last 29 days, inside
// the scanner's 30-day window.
const synthSignInSpan = 29 * 24 * time.Hour

type synth struct {
	now      time.Time
	n        int
	seed     uint64
	domain   string
	tenantID string
	given    []string
	surname  []string
	titles   []string
	depts    []string
}

func newSynth(now time.Time, n int, seed uint64, org Object) synth {
	domain := "example.org"
	if vd, ok := org.Get("verifiedDomains"); ok {
		if arr, ok := vd.([]any); ok {
			for _, d := range arr {
				if do, ok := d.(Object); ok {
					if def, _ := do.Get("isDefault"); def == true {
						domain = do.Str("name")
					}
				}
			}
		}
	}
	return synth{
		now: now, n: n, seed: seed, domain: domain, tenantID: org.Str("id"),
		given:   strings.Fields("Alex Bea Carlos Dana Elif Farid Greta Hugo Irene Jonas Katrin Luca Mira Nils Olga Pavel Rosa Sami Tereza Ugo Vera Wim Yara Zofia"),
		surname: strings.Fields("Novak Berger Costa Dimitrov Eriksen Fontaine Grieg Horvat Ivanova Janssen Kovacs Larsen Moreau Nowak Olsen Pereira Quist Rossi Schmidt Tamm Urban Varga Weber Zielinski"),
		titles:  []string{"Research Associate", "Policy Analyst", "Programme Officer", "Editor", "Events Officer", "Research Fellow"},
		depts:   []string{"Research", "Programmes", "Publications", "Events", "Operations"},
	}
}

func (g synth) h(i int, salt uint64) uint64 {
	return splitmix64(g.seed ^ salt ^ uint64(i)*0x9e3779b97f4a7c15)
}

// userID is unique per index: the last group is the index itself.
func (g synth) userID(i int) string {
	u := UUIDFrom(g.seed, uint64(i), 0x75736572)
	return u[:24] + fmt.Sprintf("%012x", i)
}

// index returns the index of the synthetic user with lower-case id lid.
func (g synth) index(lid string) (int, bool) {
	if len(lid) != 36 {
		return 0, false
	}
	i, err := strconv.ParseUint(lid[24:], 16, 64)
	if err != nil || i >= uint64(g.n) || g.userID(int(i)) != lid {
		return 0, false
	}
	return int(i), true
}

func (g synth) names(i int) (given, sur, upn string) {
	h := g.h(i, 0x6e616d65)
	given = g.given[h%uint64(len(g.given))]
	sur = g.surname[(h>>16)%uint64(len(g.surname))]
	upn = fmt.Sprintf("%s.%s.%05d@%s", strings.ToLower(given), strings.ToLower(sur), i, g.domain)
	return
}

// lastSignIn is user i's latest successful sign-in: the sign-in log entry
// for every tenth user, otherwise within the last 20 days.
func (g synth) lastSignIn(i int) time.Time {
	if i%10 == 0 && i/10 < g.signInCount() {
		return g.signInTime(i / 10)
	}
	return g.now.Add(-time.Duration(1+g.h(i, 0x6c617374)%(20*24*60)) * time.Minute)
}

func (g synth) user(i int) record {
	given, sur, upn := g.names(i)
	h := g.h(i, 0x75736572)
	created := g.now.Add(-time.Duration(400+h%1500) * 24 * time.Hour).Truncate(time.Second)
	last := g.lastSignIn(i)
	nonInteractive := last.Add(-time.Duration(h%600) * time.Minute)
	return record{o: Object{
		{"id", g.userID(i)},
		{"businessPhones", []any{}},
		{"displayName", given + " " + sur},
		{"givenName", given},
		{"jobTitle", g.titles[(h>>8)%uint64(len(g.titles))]},
		{"mail", upn},
		{"mobilePhone", nil},
		{"officeLocation", "Brussels HQ"},
		{"preferredLanguage", "en-GB"},
		{"surname", sur},
		{"userPrincipalName", upn},
		{"accountEnabled", true},
		{"userType", "Member"},
		{"createdDateTime", FormatTime(created)},
		{"department", g.depts[(h>>24)%uint64(len(g.depts))]},
		{"usageLocation", "BE"},
		{"assignedLicenses", []any{Object{{"disabledPlans", []any{}}, {"skuId", synthSkuE3}}}},
		{"signInActivity", Object{
			{"lastSignInDateTime", FormatTime(last)},
			{"lastSignInRequestId", UUIDFrom(g.seed, uint64(i), 0x73726571)},
			{"lastNonInteractiveSignInDateTime", FormatTime(nonInteractive)},
			{"lastNonInteractiveSignInRequestId", UUIDFrom(g.seed, uint64(i), 0x6e726571)},
			{"lastSuccessfulSignInDateTime", FormatTime(last)},
			{"lastSuccessfulSignInRequestId", UUIDFrom(g.seed, uint64(i), 0x73726571)},
		}},
	}}
}

func (g synth) registration(i int) record {
	given, sur, upn := g.names(i)
	return record{o: Object{
		{"id", g.userID(i)},
		{"userPrincipalName", upn},
		{"userDisplayName", given + " " + sur},
		{"userType", "member"},
		{"isAdmin", false},
		{"isSsprRegistered", true},
		{"isSsprEnabled", true},
		{"isSsprCapable", true},
		{"isMfaRegistered", true},
		{"isMfaCapable", true},
		{"isPasswordlessCapable", false},
		{"lastUpdatedDateTime", FormatTime(g.now.Add(-20 * time.Hour))},
		{"methodsRegistered", []any{"microsoftAuthenticatorPush", "softwareOneTimePasscode"}},
		{"isSystemPreferredAuthenticationMethodEnabled", true},
		{"systemPreferredAuthenticationMethods", []any{"push"}},
		{"userPreferredMethodForSecondaryAuthentication", "push"},
	}}
}

func (g synth) signInCount() int { return (g.n + 9) / 10 }

// signInTime is strictly decreasing in j, so the source is newest first.
func (g synth) signInTime(j int) time.Time {
	step := synthSignInSpan / time.Duration(g.signInCount()+1)
	return g.now.Add(-time.Duration(j+1) * step).Add(-time.Duration(g.h(j, 0x6a6974)%1000) * time.Microsecond)
}

func (g synth) signIn(j int) record {
	i := j * 10
	given, sur, upn := g.names(i)
	t := g.signInTime(j)
	h := g.h(j, 0x7369676e)
	var ip string
	if h%4 == 0 {
		ip = fmt.Sprintf("2001:db8:7a%02x::%x", h>>8&0xff, h>>16&0xffff)
	} else {
		ip = fmt.Sprintf("203.0.113.%d", 1+h>>8%120)
	}
	apps := [][2]string{{appOffice, "Microsoft Office"}, {appTeams, "Microsoft Teams"}, {appExchangeOnline, "Office 365 Exchange Online"}}
	app := apps[(h>>32)%3]
	id := UUIDFrom(g.seed, uint64(j), 0x73696e)
	return record{t: t, o: completeBetaSignIn(Object{
		{"id", id},
		{"createdDateTime", t.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"userDisplayName", given + " " + sur},
		{"userPrincipalName", upn},
		{"userId", g.userID(i)},
		{"appId", app[0]},
		{"appDisplayName", app[1]},
		{"ipAddress", ip},
		{"clientAppUsed", "Browser"},
		{"correlationId", UUIDFrom(g.seed, uint64(j), 0x636f7272)},
		{"conditionalAccessStatus", "success"},
		{"isInteractive", true},
		{"riskDetail", "none"},
		{"riskLevelAggregated", "none"},
		{"riskLevelDuringSignIn", "none"},
		{"riskState", "none"},
		{"riskEventTypes", []any{}},
		{"riskEventTypes_v2", []any{}},
		{"resourceDisplayName", "Office 365 Exchange Online"},
		{"resourceId", appExchangeOnline},
		{"status", Object{{"errorCode", 0}, {"failureReason", nil}, {"additionalDetails", nil}}},
		{"deviceDetail", Object{{"deviceId", ""}, {"displayName", ""}, {"operatingSystem", "Windows10"},
			{"browser", "Edge 131.0.0"}, {"isCompliant", false}, {"isManaged", false}, {"trustType", ""}}},
		{"location", Object{{"city", "Brussels"}, {"state", "Brussels"}, {"countryOrRegion", "BE"},
			{"geoCoordinates", Object{{"altitude", nil}, {"latitude", 50.8503}, {"longitude", 4.3517}}}}},
		{"appliedConditionalAccessPolicies", []any{}},
	}, g.tenantID)}
}
