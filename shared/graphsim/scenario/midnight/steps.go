package midnight

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// passwordSpray: failed legacy-protocol sign-ins from twelve addresses of
// one /24 against twelve accounts within a minute, then a success on a
// dormant account without MFA that every MFA policy excludes (January
// 2024: "a legacy non-production test tenant account" without MFA).
func (a *attackCtx) passwordSpray() error {
	const rule = "signin.password-spray"
	users := a.tx.Objects(string(graphsim.KindUser))
	sort.Slice(users, func(i, j int) bool { return users[i].Str("userPrincipalName") < users[j].Str("userPrincipalName") })
	var target graphsim.Object
	for _, u := range users {
		uid := u.Str("id")
		created := parseTime(u.Str("createdDateTime"))
		last := lastSuccess(u)
		if !activeMember(u) || a.excluded(uid, rule) || a.mfaRegistered(uid) || created.IsZero() || a.t.Sub(created) <= newAccountFor ||
			(!last.IsZero() && a.t.Sub(last) < dormantAfter) {
			continue
		}
		covered, excludedFromOne := false, false
		for _, p := range a.tx.Objects("conditionalAccessPolicies") {
			if !grants(p, "mfa") {
				continue
			}
			applies, out := a.caApplies(p, uid)
			covered = covered || applies
			excludedFromOne = excludedFromOne || out
		}
		if !covered && excludedFromOne {
			target = u
			break
		}
	}
	if target == nil {
		return fmt.Errorf("%w: %s: no dormant member without MFA that every MFA policy excludes", graphsim.ErrNoCandidate, StepPasswordSpray)
	}
	accounts := []graphsim.Object{target}
	for _, u := range users {
		if len(accounts) == sprayAccounts {
			break
		}
		if activeMember(u) && !strings.EqualFold(u.Str("id"), target.Str("id")) {
			accounts = append(accounts, u)
		}
	}
	if len(accounts) < 10 {
		return fmt.Errorf("%w: %s: fewer than 10 member accounts to spray", graphsim.ErrNoCandidate, StepPasswordSpray)
	}
	loc := location("Utrecht", "Utrecht", "NL", 52.0907, 5.1214)
	// Oldest first, one address per account, a few seconds apart; the
	// target is tried first and succeeds last.
	n := len(accounts)
	for i, u := range accounts {
		ip := sprayNet + fmt.Sprint(sprayFirst+i)
		at := a.t.Add(-time.Duration(n-i+1) * 4 * time.Second)
		s := graphsim.Object{
			{"id", a.id()}, {"createdDateTime", at.Format(time.RFC3339Nano)}, {"userId", u.Str("id")},
			{"appId", appExchangeOnline}, {"appDisplayName", "Office 365 Exchange Online"}, {"ipAddress", ip},
			{"clientAppUsed", legacyClients()[i%len(legacyClients())]}, {"resourceId", appExchangeOnline},
			{"resourceDisplayName", "Office 365 Exchange Online"}, {"status", graphsim.Object{{"errorCode", 50126}}},
			{"location", loc}, {"deviceDetail", deviceDetail("", "", "", false, "")}, {"authenticationProtocol", "ropc"},
		}
		if err := a.signIn(s, "failed sign-in (50126) from "+ip); err != nil {
			return err
		}
	}
	ip := sprayNet + fmt.Sprint(sprayFirst+n-1)
	uid, upn := target.Str("id"), target.Str("userPrincipalName")
	sid := a.id()
	if err := a.signIn(graphsim.Object{
		{"id", sid}, {"createdDateTime", a.t.Format(time.RFC3339Nano)}, {"userId", uid},
		{"appId", appAzurePortal}, {"appDisplayName", "Azure Portal"}, {"ipAddress", ip}, {"clientAppUsed", "Browser"},
		{"resourceId", resServiceManagement}, {"resourceDisplayName", "Windows Azure Service Management API"},
		{"status", graphsim.Object{{"errorCode", 0}}}, {"location", loc}, {"conditionalAccessStatus", "notApplied"},
		{"authenticationRequirement", "singleFactorAuthentication"},
	}, "successful single-factor sign-in from "+ip); err != nil {
		return err
	}
	sia := graphsim.Object{
		{"lastSignInDateTime", graphsim.FormatTime(a.t)}, {"lastSignInRequestId", sid},
		{"lastNonInteractiveSignInDateTime", nil}, {"lastNonInteractiveSignInRequestId", nil},
		{"lastSuccessfulSignInDateTime", graphsim.FormatTime(a.t)}, {"lastSuccessfulSignInRequestId", sid},
	}
	if err := a.update(graphsim.KindUser, uid, graphsim.Object{{"signInActivity", sia}}); err != nil {
		return err
	}
	a.expect(rule, "user", uid, upn, "critical", fmt.Sprintf("%d failed legacy-protocol sign-ins (50126) from %d addresses of %s0/24, "+
		"then a single-factor success on %s (dormant, no MFA, excluded from every MFA policy: critical) from %s", n, n, sprayNet, upn, ip))
	a.expect("mfa.not-registered", "user", uid, upn, "low", "active again (the spray's success), still no MFA method")
	for _, e := range a.story.expected {
		if strings.EqualFold(e.SubjectID, uid) && (e.Rule == "posture.dormant-excluded-from-mfa" || e.Rule == "mfa.dormant-unregistered") {
			a.res.Cleared = append(a.res.Cleared, e)
		}
	}
	a.next.sprayed = uid
	a.next.used[strings.ToLower(uid)] = true
	return nil
}

// oauthApp: the attacker's account creates an application and its
// service principal, gives it a client secret and grants it Exchange
// Online full_access_as_app (the January 2024 chain): the objects, the
// assignment (appRoleAssignedTo) and the four audit records.
func (a *attackCtx) oauthApp() error {
	by, err := a.attacker()
	if err != nil {
		return err
	}
	var exo graphsim.Object
	for _, sp := range a.tx.Objects(string(graphsim.KindServicePrincipal)) {
		if sp.Str("appId") == appExchangeOnline {
			exo = sp
		}
	}
	if exo == nil {
		return fmt.Errorf("%w: %s: no Exchange Online service principal", graphsim.ErrNoCandidate, StepOAuthApp)
	}
	names := []string{"Fleet Metrics Connector", "Berth Planning Sync", "Quay Telemetry Export", "Tide Data Bridge"}
	name := names[int(a.n)%len(names)]
	appObj, appID, spID, keyID := a.id(), a.id(), a.id(), a.id()
	created := graphsim.FormatTime(a.t.Add(-3 * time.Second))
	secret := graphsim.Object{{"customKeyIdentifier", nil}, {"displayName", "sync"},
		{"endDateTime", graphsim.FormatTime(a.t.AddDate(2, 0, 0))}, {"hint", "Q~k"}, {"keyId", keyID},
		{"secretText", nil}, {"startDateTime", graphsim.FormatTime(a.t.Add(-2 * time.Second))}}
	if err := a.create(graphsim.KindApplication, graphsim.Object{
		{"id", appObj}, {"deletedDateTime", nil}, {"appId", appID}, {"applicationTemplateId", nil}, {"createdDateTime", created},
		{"displayName", name}, {"description", nil}, {"publisherDomain", strings.SplitN(by.upn, "@", 2)[len(strings.SplitN(by.upn, "@", 2))-1]},
		{"signInAudience", "AzureADMultipleOrgs"}, {"identifierUris", []any{}}, {"tags", []any{}}, {"appRoles", []any{}},
		{"keyCredentials", []any{}}, {"passwordCredentials", []any{secret}},
		{"requiredResourceAccess", []any{graphsim.Object{{"resourceAppId", appExchangeOnline},
			{"resourceAccess", []any{graphsim.Object{{"id", roleFullAccessAsApp}, {"type", "Role"}}}}}}},
		{"web", graphsim.Object{{"homePageUrl", nil}, {"logoutUrl", nil}, {"redirectUris", []any{}},
			{"implicitGrantSettings", graphsim.Object{{"enableAccessTokenIssuance", false}, {"enableIdTokenIssuance", false}}},
			{"redirectUriSettings", []any{}}}},
		{"spa", graphsim.Object{{"redirectUris", []any{}}}}, {"publicClient", graphsim.Object{{"redirectUris", []any{}}}},
	}, "application created"); err != nil {
		return err
	}
	if err := a.create(graphsim.KindServicePrincipal, graphsim.Object{
		{"id", spID}, {"deletedDateTime", nil}, {"accountEnabled", true}, {"alternativeNames", []any{}}, {"appDisplayName", name},
		{"appDescription", nil}, {"appId", appID}, {"applicationTemplateId", nil}, {"appOwnerOrganizationId", a.tenantID},
		{"appRoleAssignmentRequired", false}, {"description", nil}, {"disabledByMicrosoftStatus", nil}, {"displayName", name},
		{"homepage", nil}, {"loginUrl", nil}, {"logoutUrl", nil}, {"notes", nil}, {"notificationEmailAddresses", []any{}},
		{"preferredSingleSignOnMode", nil}, {"preferredTokenSigningKeyThumbprint", nil}, {"replyUrls", []any{}},
		{"servicePrincipalNames", []any{appID}}, {"servicePrincipalType", "Application"}, {"signInAudience", "AzureADMultipleOrgs"},
		{"tags", []any{"WindowsAzureActiveDirectoryIntegratedApp"}}, {"tokenEncryptionKeyId", nil},
		{"verifiedPublisher", graphsim.Object{{"displayName", nil}, {"verifiedPublisherId", nil}, {"addedDateTime", nil}}},
		{"addIns", []any{}}, {"appRoles", []any{}}, {"keyCredentials", []any{}}, {"oauth2PermissionScopes", []any{}},
		{"passwordCredentials", []any{}}, {"resourceSpecificApplicationPermissions", []any{}},
	}, "service principal created"); err != nil {
		return err
	}
	who := byUser(by)
	evs := []struct {
		ev   graphsim.Object
		what string
	}{
		{a.auditEvent(a.t.Add(-3*time.Second), "Add application", "ApplicationManagement", "Add", who, "",
			target(appObj, name, "Application", nil, modified("AppId", []any{}, []any{appID}), modified("DisplayName", []any{}, []any{name}),
				modified("AvailableToOtherTenants", []any{}, []any{true}), included("AppId, DisplayName, AvailableToOtherTenants"))), "audit event"},
		{a.auditEvent(a.t.Add(-3*time.Second), "Add service principal", "ApplicationManagement", "Add", who, "",
			target(spID, name, "ServicePrincipal", nil, modified("AccountEnabled", []any{}, []any{true}), modified("AppPrincipalId", []any{}, []any{appID}),
				modified("DisplayName", []any{}, []any{name}), included("AccountEnabled, AppPrincipalId, DisplayName"))), "audit event"},
		{a.auditEvent(a.t.Add(-2*time.Second), "Update application – Certificates and secrets management", "ApplicationManagement", "Update", who, "",
			target(appObj, name, "Application", nil, modified("KeyDescription", []any{},
				[]any{"[KeyIdentifier=" + keyID + ",KeyType=Password,KeyUsage=Verify,DisplayName=sync]"}), included("KeyDescription"))), "audit event"},
		{a.auditEvent(a.t, "Add app role assignment to service principal", "ApplicationManagement", "Assign", who, "",
			target(exo.Str("id"), exo.Str("displayName"), "ServicePrincipal", nil, quoted("AppRole.Id", roleFullAccessAsApp),
				quoted("AppRole.Value", "full_access_as_app"), quoted("ServicePrincipal.ObjectID", spID),
				quoted("ServicePrincipal.DisplayName", name), quoted("ServicePrincipal.AppId", appID), quoted("ServicePrincipal.Name", name))), "audit event"},
	}
	for _, e := range evs {
		if err := a.audit(e.ev, e.what); err != nil {
			return err
		}
	}
	grant, err := a.tx.AssignAppRole(graphsim.Object{{"appRoleId", roleFullAccessAsApp}, {"createdDateTime", graphsim.FormatTime(a.t)},
		{"principalId", spID}, {"principalType", "ServicePrincipal"}, {"resourceId", exo.Str("id")}})
	if err != nil {
		return err
	}
	a.change("appRoleAssignments", grant.Str("id"), name, "full_access_as_app on "+exo.Str("displayName"))
	a.expect("app.new-app-with-credential-and-mail", "servicePrincipal", spID, name, "critical",
		"Add application, a client secret and Exchange Online full_access_as_app within seconds, by "+by.upn)
	a.expect("app.mail-permission-granted", "servicePrincipal", spID, name, "high", "Add app role assignment to service principal: full_access_as_app")
	a.expect("sp.credential-added", "application", appObj, name, "high", "a client secret on an application whose service principal holds full_access_as_app")
	a.expect("sp.mail-access", "servicePrincipal", spID, name, "low", "holds full_access_as_app; the secret is on the application, not the service principal")
	a.next.newApp, a.next.newSP = appObj, spID
	return nil
}

// deviceCode: a member types the attacker's device code: the token goes to
// the Microsoft Authentication Broker for the Device Registration Service
// (Storm-2372, February 2025), from an address the user never used.
func (a *attackCtx) deviceCode() error {
	u, err := a.phishTarget()
	if err != nil {
		return err
	}
	return a.phish(u, true)
}

// phishTarget is the first active, MFA-registered member (not an admin
// account) the data neither plants nor decoys a device rule on.
func (a *attackCtx) phishTarget() (graphsim.Object, error) {
	rules := []string{"signin.device-code", "device.rogue-registration", "signin.broker-device-registration"}
	users := a.tx.Objects(string(graphsim.KindUser))
	sort.Slice(users, func(i, j int) bool { return users[i].Str("userPrincipalName") < users[j].Str("userPrincipalName") })
	for _, u := range users {
		uid := u.Str("id")
		if !activeMember(u) || a.excluded(uid, rules...) || !a.mfaRegistered(uid) || a.t.Sub(lastSuccess(u)) > activeWithin || a.isAdmin(uid) {
			continue
		}
		return u, nil
	}
	return nil, fmt.Errorf("%w: %s: no active member with MFA left to phish", graphsim.ErrNoCandidate, StepDeviceCode)
}

// isAdmin reports the registration report's isAdmin (an admin account is
// not the one a phisher mails).
func (a *attackCtx) isAdmin(uid string) bool {
	r, ok := a.tx.Lookup(graphsim.KindRegistration, uid)
	return ok && isTrue(r, "isAdmin")
}

func (a *attackCtx) phish(u graphsim.Object, expect bool) error {
	uid, upn := u.Str("id"), u.Str("userPrincipalName")
	ip := fmt.Sprintf("%s%x::5", phishNet, 0x20+a.n)
	if err := a.signIn(graphsim.Object{
		{"id", a.id()}, {"createdDateTime", a.t.Format(time.RFC3339Nano)}, {"userId", uid},
		{"appId", appBroker}, {"appDisplayName", "Microsoft Authentication Broker"}, {"ipAddress", ip},
		{"clientAppUsed", "Mobile Apps and Desktop clients"}, {"resourceId", resDeviceRegistration},
		{"resourceDisplayName", drsName}, {"status", graphsim.Object{{"errorCode", 0}}},
		{"location", location("Amsterdam", "Noord-Holland", "NL", 52.3676, 4.9041)},
		{"deviceDetail", deviceDetail("", "", "Windows10", false, "")},
		{"authenticationProtocol", "deviceCode"}, {"originalTransferMethod", "deviceCodeFlow"},
	}, "device-code sign-in (Microsoft Authentication Broker → Device Registration Service) from "+ip); err != nil {
		return err
	}
	if expect {
		sev := "medium"
		why := "authenticationProtocol deviceCode, nothing after it yet"
		if !a.deviceCodeBlocked(uid) {
			sev = raise(sev)
			why += "; one step higher: no enabled policy blocks the device-code flow for the user"
		}
		a.expect("signin.device-code", "user", uid, upn, sev, why)
	}
	a.next.phished, a.next.phishIP = uid, ip
	a.next.used[strings.ToLower(uid)] = true
	return nil
}

// rogueDevice: the Device Registration Service adds a device for the
// phished user (Workplace, unmanaged), and the attacker signs in with the
// device's primary refresh token. Without an earlier device-code step it
// phishes first.
func (a *attackCtx) rogueDevice() error {
	uid, ip := a.next.phished, a.next.phishIP
	if uid == "" {
		u, err := a.phishTarget()
		if err != nil {
			return err
		}
		if err := a.phish(u, false); err != nil {
			return err
		}
		uid, ip = a.next.phished, a.next.phishIP
		a.t = a.t.Add(2 * time.Second)
	}
	u, ok := a.tx.Lookup(graphsim.KindUser, uid)
	if !ok {
		return fmt.Errorf("%w: %s: the phished user is gone", graphsim.ErrNoCandidate, StepRogueDevice)
	}
	upn := u.Str("userPrincipalName")
	devObj, devID := a.id(), a.id()
	name := fmt.Sprintf("DESKTOP-%05X", a.story.seed^uint64(a.t.UnixNano())&0xfffff)
	if err := a.create(graphsim.KindDevice, graphsim.Object{
		{"id", devObj}, {"deviceId", devID}, {"displayName", name}, {"operatingSystem", "Windows"},
		{"operatingSystemVersion", "10.0.19045.3803"}, {"trustType", "Workplace"}, {"isManaged", false}, {"isCompliant", false},
		{"registrationDateTime", graphsim.FormatTime(a.t)}, {"approximateLastSignInDateTime", graphsim.FormatTime(a.t)},
		{"deviceOwnership", "Personal"}, {graphsim.RegisteredOwnerIDs, []any{uid}},
	}, "device registered (Workplace, not managed)"); err != nil {
		return err
	}
	corr := a.id()
	// The device attributes of the audit report's reference ("Update
	// Device" attributes: AccountEnabled, DeviceOSType, DeviceOSVersion,
	// DisplayName, …); the trust type and management are read from /devices.
	dev := target(devObj, name, "Device", nil, modified("AccountEnabled", []any{}, []any{true}),
		modified("DeviceOSType", []any{}, []any{"Windows"}), modified("DeviceOSVersion", []any{}, []any{"10.0.19045.3803"}),
		modified("DisplayName", []any{}, []any{name}), included("AccountEnabled, DeviceOSType, DeviceOSVersion, DisplayName"))
	user := target(uid, nil, "User", upn)
	for _, e := range []graphsim.Object{
		a.auditEvent(a.t, "Add device", "Device", "Add", a.byDRS(), corr, dev),
		a.auditEvent(a.t, "Add registered owner to device", "Device", "Assign", a.byDRS(), corr, target(devObj, name, "Device", nil), user),
		a.auditEvent(a.t, "Add registered users to device", "Device", "Assign", a.byDRS(), corr, target(devObj, name, "Device", nil), user),
	} {
		if err := a.audit(e, "audit event"); err != nil {
			return err
		}
	}
	if err := a.signIn(graphsim.Object{
		{"id", a.id()}, {"createdDateTime", a.t.Add(time.Second).Format(time.RFC3339Nano)}, {"userId", uid},
		{"appId", appOffice}, {"appDisplayName", "Microsoft Office"}, {"ipAddress", ip}, {"clientAppUsed", "Mobile Apps and Desktop clients"},
		{"resourceId", appExchangeOnline}, {"resourceDisplayName", "Office 365 Exchange Online"}, {"status", graphsim.Object{{"errorCode", 0}}},
		{"location", location("Amsterdam", "Noord-Holland", "NL", 52.3676, 4.9041)},
		{"deviceDetail", deviceDetail(devID, name, "Windows10", false, "Azure AD registered")}, {"incomingTokenType", "primaryRefreshToken"},
	}, "sign-in with the new device's primary refresh token"); err != nil {
		return err
	}
	a.expect("device.rogue-registration", "user", uid, upn, "high",
		"'Add device' by the Device Registration Service right after a device-code sign-in; "+name+" is Workplace, not managed, not compliant")
	a.expect("signin.broker-device-registration", "user", uid, upn, "high",
		"Microsoft Authentication Broker to the Device Registration Service from "+ip+", an address the user had not used, then Add device")
	return nil
}

// federatedCredential: a federated identity credential trusting an outside
// repository's pull requests on a mail-capable application (the oauth-app
// step's, else one whose service principal holds a mail role).
func (a *attackCtx) federatedCredential() error {
	const rule = "app.federated-credential-added"
	by, err := a.attacker()
	if err != nil {
		return err
	}
	appObj := a.next.newApp
	if appObj == "" || a.next.used[strings.ToLower(appObj)] {
		appObj = a.mailCapableApp(rule)
	}
	if appObj == "" {
		return fmt.Errorf("%w: %s: no mail-capable application left", graphsim.ErrNoCandidate, StepFederatedCredential)
	}
	app, ok := a.tx.Lookup(graphsim.KindApplication, appObj)
	if !ok {
		return fmt.Errorf("%w: %s: application %s is gone", graphsim.ErrNoCandidate, StepFederatedCredential, appObj)
	}
	name := app.Str("displayName")
	v, _ := app.Get(graphsim.FederatedCredentials)
	old := graphsim.Objects(v)
	repo := fmt.Sprintf("repo:%s-ops/%s:pull_request", strings.ToLower(strings.Fields(name)[0]), fmt.Sprintf("sync-%04x", uint64(a.t.UnixNano())&0xffff))
	fic := graphsim.Object{{"id", a.id()}, {"name", "ci-runner"}, {"issuer", issuerGitHub}, {"subject", repo},
		{"audiences", []any{"api://AzureADTokenExchange"}}, {"description", nil}}
	list := make([]any, 0, len(old)+1)
	auditOld, auditNew := []any{}, []any{}
	for _, f := range old {
		list = append(list, f)
		auditOld = append(auditOld, ficAudit(f))
		auditNew = append(auditNew, ficAudit(f))
	}
	list = append(list, fic)
	auditNew = append(auditNew, ficAudit(fic))
	if err := a.update(graphsim.KindApplication, appObj, graphsim.Object{{graphsim.FederatedCredentials, list}}); err != nil {
		return err
	}
	ev := a.auditEvent(a.t, "Update application", "ApplicationManagement", "Update", byUser(by), "",
		target(appObj, name, "Application", nil, modified("FederatedIdentityCredentials", auditOld, auditNew), included("FederatedIdentityCredentials")))
	if err := a.audit(ev, "audit event"); err != nil {
		return err
	}
	a.expect(rule, "application", appObj, name, "critical", "federated identity credential "+issuerGitHub+" / "+repo+
		" on an app whose service principal can read mail (a pull_request subject)")
	a.next.used[strings.ToLower(appObj)] = true
	return nil
}

func ficAudit(f graphsim.Object) graphsim.Object {
	return graphsim.Object{{"Name", f.Str("name")}, {"Issuer", f.Str("issuer")}, {"Subject", f.Str("subject")},
		{"Audiences", func() any { v, _ := f.Get("audiences"); return v }()}, {"Description", func() any { v, _ := f.Get("description"); return v }()}}
}

// mailCapableApp returns the object id of an application whose service
// principal holds a mail application role, not planted or decoyed for rule.
func (a *attackCtx) mailCapableApp(rule string) string {
	mail := map[string]bool{}
	for _, sp := range a.tx.Objects(string(graphsim.KindServicePrincipal)) {
		if sp.Str("appId") != appExchangeOnline && sp.Str("appId") != appGraph {
			continue
		}
		for _, r := range graphsim.Objects(func() any { v, _ := sp.Get("appRoles"); return v }()) {
			if v := r.Str("value"); strings.HasPrefix(v, "Mail.Read") || v == "full_access_as_app" {
				mail[strings.ToLower(r.Str("id"))] = true
			}
		}
	}
	holders := map[string]bool{} // SP ids
	for _, g := range a.tx.Objects("appRoleAssignments") {
		if mail[strings.ToLower(g.Str("appRoleId"))] {
			holders[strings.ToLower(g.Str("principalId"))] = true
		}
	}
	appIDs := map[string]bool{}
	for _, sp := range a.tx.Objects(string(graphsim.KindServicePrincipal)) {
		if holders[strings.ToLower(sp.Str("id"))] {
			appIDs[strings.ToLower(sp.Str("appId"))] = true
		}
	}
	apps := a.tx.Objects(string(graphsim.KindApplication))
	sort.Slice(apps, func(i, j int) bool { return apps[i].Str("displayName") < apps[j].Str("displayName") })
	for _, app := range apps {
		if appIDs[strings.ToLower(app.Str("appId"))] && !a.excluded(app.Str("id"), rule) {
			return app.Str("id")
		}
	}
	return ""
}

// domainFederation: a verified managed domain (not the default, not the
// initial one) is made federated, trusting an issuer and signing
// certificate the attacker holds (AADInternals ConvertTo-AADIntBackdoor).
func (a *attackCtx) domainFederation() error {
	const rule = "domain.federation-changed"
	by, err := a.attacker()
	if err != nil {
		return err
	}
	var dom graphsim.Object
	for _, d := range a.tx.Objects(string(graphsim.KindDomain)) {
		if d.Str("authenticationType") == "Managed" && isTrue(d, "isVerified") && !isTrue(d, "isDefault") &&
			!isTrue(d, "isInitial") && !a.excluded(d.Str("id"), rule) {
			dom = d
			break
		}
	}
	if dom == nil {
		return fmt.Errorf("%w: %s: no verified managed domain left (other than the default and initial ones)", graphsim.ErrNoCandidate, StepDomainFederation)
	}
	name := dom.Str("id")
	tag := fmt.Sprintf("%08X", uint32(a.story.seed^uint64(a.t.UnixNano())))
	issuer := "http://any.sts/" + tag
	cert := attackerCertificate(tag)
	fed := graphsim.Object{{"id", a.id()}, {"displayName", name}, {"issuerUri", issuer},
		{"passiveSignInUri", "https://any.sts/" + tag + "/adfs/ls/"}, {"signOutUri", "https://any.sts/" + tag + "/adfs/ls/"},
		{"signingCertificate", cert}, {"preferredAuthenticationProtocol", "wsFed"}, {"federatedIdpMfaBehavior", "acceptIfMfaDoneByFederatedIdp"}}
	if err := a.update(graphsim.KindDomain, name, graphsim.Object{{"authenticationType", "Federated"},
		{graphsim.FederationConfigs, []any{fed}}}); err != nil {
		return err
	}
	corr := a.id()
	objID := graphsim.UUIDFrom(a.story.seed, uint64(len(name)), 0x646f6d)
	for _, e := range []graphsim.Object{
		a.auditEvent(a.t, "Set domain authentication", "DirectoryManagement", "Update", byUser(by), corr,
			target(objID, name, "Other", nil, modified("LiveType", []any{"Managed"}, []any{"Federated"}), included("LiveType"))),
		a.auditEvent(a.t, "Set federation settings on domain", "DirectoryManagement", "Update", byUser(by), corr,
			target(objID, name, "Other", nil, modified("IssuerUri", []any{}, []any{issuer}), modified("SigningCertificate", []any{}, []any{cert}),
				included("IssuerUri, SigningCertificate"))),
	} {
		if err := a.audit(e, "audit event"); err != nil {
			return err
		}
	}
	a.expect(rule, "domain", name, name, "critical", "Set domain authentication Managed → Federated, issuer "+issuer)
	a.next.used[strings.ToLower(name)] = true
	return nil
}

func isTrue(o graphsim.Object, key string) bool {
	v, _ := o.Get(key)
	return v == true
}

// attackerCertificate is a base64 value standing for the attacker's
// token-signing certificate (the rules hash it, never parse it).
func attackerCertificate(tag string) string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	sb.WriteString("MIIC8DCCAdigAwIBAgIQ")
	x := uint64(0)
	for _, c := range tag {
		x = x*31 + uint64(c)
	}
	for i := 0; i < 120; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		sb.WriteByte(b64[x>>58])
	}
	return sb.String()
}
