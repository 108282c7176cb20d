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

// The cross-poll joins of the deployed app (issue 12). A chain whose
// halves land in different polls — a device-code sign-in (PollSignIns)
// followed by a device registration (PollDirectory); a new app, its
// credential and its mail role granted over several directory polls — is
// judged by the round that sees the later half, with the earlier half as
// the findings an earlier round recorded (Snapshot.Prior), as the Exchange
// rounds already do. A round reads only the records of the rules it joins,
// last seen within PriorWindow, and keeps those on the subjects it
// involves: never the whole findings table.

// PriorWindow is how far back a round looks for the findings it joins:
// the longest chain of the rules (app.new-app-with-credential-and-mail's
// seven days).
const PriorWindow = 7 * 24 * time.Hour

// The rules whose earlier findings each round joins, by rule id (a
// trailing "*" a prefix).
var (
	// SignInPriorRules: signin.device-code is high when the same user
	// registered a device or an MFA method, or signed in from an Azure
	// address, around it; signin.broker-device-registration joins the
	// device registered after the broker sign-in; signin.password-spray
	// is raised by a success on an account that is dormant and
	// unregistered, or excluded from MFA.
	SignInPriorRules = []string{"device.rogue-registration", "signin.azure-ip", "mfa.*", "posture.dormant-excluded-from-mfa"}
	// DevicePriorRules: a device registration (device.rogue-registration,
	// signin.broker-device-registration) joins the user's device-code,
	// broker and Azure-address sign-ins.
	DevicePriorRules = []string{"signin.device-code", "signin.azure-ip", "signin.broker-device-registration"}
	// AppPriorRules: app.new-app-with-credential-and-mail joins a
	// credential added and a mail permission granted to the same app in
	// any order.
	AppPriorRules = []string{"sp.credential-added", "app.mail-permission-granted"}
)

// maxJoinIDs bounds the subjects one round joins on.
const maxJoinIDs = 2000

// The Microsoft Authentication Broker and the Device Registration
// Service: a broker sign-in to the service is the first step of a
// registration (signin.broker-device-registration).
const (
	brokerAppID       = "29d9ed98-a469-4536-ade2-f981bc1d605e"
	deviceRegResource = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
)

// sprayedAccounts returns the accounts (lower-case user ids or UPNs) the
// failed-sign-in aggregate of s holds.
func sprayedAccounts(s *tenant.Snapshot) map[string]bool {
	out := make(map[string]bool)
	if s.SignInFailures != nil {
		for _, t := range s.SignInFailures.Tallies() {
			if t.Kind == tenant.FailureByAccount {
				out[t.Key] = true
			}
		}
	}
	return out
}

// sprayedUsers adds to a sign-in round's snapshot the users whose
// successful sign-ins are of accounts the failure aggregate holds (a
// success after a spray), read by id with their signInActivity, so that
// signin.password-spray judges whether the account broken into is dormant
// or unregistered, as the scan does; none when there is no such success.
func (c *Rounds) sprayedUsers(ctx context.Context, s *tenant.Snapshot) error {
	sprayed := sprayedAccounts(s)
	var ids []string
	for _, si := range s.SignIns {
		if sprayed[strings.ToLower(strings.TrimSpace(si.UserID))] || sprayed[strings.ToLower(strings.TrimSpace(si.UPN))] {
			ids = append(ids, si.UserID)
		}
	}
	_, err := c.readUsers(ctx, s, ids, "sprayed accounts that signed in")
	return err
}

// startsDeviceChain reports whether a sign-in is the first step of a
// device chain: by device code (beta's authenticationProtocol or
// originalTransferMethod), or the broker's to the Device Registration
// Service.
func startsDeviceChain(si tenant.SignIn) bool {
	return isDeviceCodeSignIn(si) ||
		strings.EqualFold(si.AppID, brokerAppID) && strings.EqualFold(si.ResourceID, deviceRegResource)
}

// ChainKeep is how long the first steps of the device chains are kept:
// device.rogue-registration looks 24 hours back, with an hour to spare.
const ChainKeep = 25 * time.Hour

// signInPrior adds to s.Prior the earlier findings SignInPriorRules names
// on the users whose successful sign-ins the sign-in rules join: by device
// code (beta's authenticationProtocol or originalTransferMethod), by the
// broker to the Device Registration Service, and those of accounts the
// failed-sign-in aggregate holds (a success after a spray). None when the
// round has none.
func (c *Rounds) signInPrior(ctx context.Context, s *tenant.Snapshot, w Window) error {
	sprayed := sprayedAccounts(s)
	ids := make(map[string]bool)
	for _, si := range s.SignIns {
		account := strings.ToLower(strings.TrimSpace(si.UserID))
		upn := strings.ToLower(strings.TrimSpace(si.UPN))
		if startsDeviceChain(si) || sprayed[account] || sprayed[upn] {
			addID(ids, si.UserID)
		}
	}
	return c.prior(ctx, s, SignInPriorRules, ids, w.Since.Add(-PriorWindow))
}

// directoryPrior adds to s.Prior the earlier findings a directory round's
// chains join: DevicePriorRules on the users the round's device audit
// events name, AppPriorRules on the app objects (object and app ids) of
// the round's changes, objects and audit events.
func (c *Rounds) directoryPrior(ctx context.Context, s *tenant.Snapshot, w Window) error {
	users := make(map[string]bool)
	apps := make(map[string]bool)
	for _, e := range s.Audits {
		device := strings.Contains(strings.ToLower(e.Activity), "device")
		if device {
			addID(users, e.Initiator.UserID)
		}
		for _, t := range e.Targets {
			switch {
			case strings.EqualFold(t.Type, "User") && device:
				addID(users, t.ID)
			case strings.EqualFold(t.Type, "ServicePrincipal"), strings.EqualFold(t.Type, "Application"):
				addID(apps, t.ID)
			}
		}
		if e.Initiator.UserID == "" { // an app acted
			addID(apps, e.Initiator.AppID)
			addID(apps, e.Initiator.SPID)
		}
	}
	for _, sp := range s.ServicePrincipals {
		addID(apps, sp.ID)
		addID(apps, sp.AppID)
	}
	for _, a := range s.Applications {
		addID(apps, a.ID)
		addID(apps, a.AppID)
	}
	for _, r := range s.AppRefs {
		addID(apps, r.ID)
		addID(apps, r.AppID)
	}
	for _, ch := range s.Changes {
		addID(apps, ch.ObjectID)
	}
	if err := c.chainSignIns(ctx, s, users, w); err != nil {
		return err
	}
	since := w.Since.Add(-PriorWindow)
	if err := c.prior(ctx, s, DevicePriorRules, users, since); err != nil {
		return err
	}
	return c.prior(ctx, s, AppPriorRules, apps, since)
}

// chainSignIns adds to s.SignIns the kept first steps of the device chains
// (SignInsUpdate.Chain) of the users the round's device events name, from
// ChainKeep before the window: the sign-in rules then judge a registration
// with the sign-in that led to it, as the scan does, whichever log showed
// its half first. Only where the round holds the sign-in history (the
// source is read): otherwise the rules that need sign-ins are skipped.
func (c *Rounds) chainSignIns(ctx context.Context, s *tenant.Snapshot, users map[string]bool, w Window) error {
	if len(users) == 0 || !s.Available(tenant.SourceSignIns) {
		return nil
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	chain, err := c.st.ChainSignIns(ctx, ids, w.Since.Add(-ChainKeep))
	if err != nil {
		return fmt.Errorf("collect: kept chain sign-ins: %w", err)
	}
	s.SignIns = append(s.SignIns, chain...)
	return nil
}

func addID(ids map[string]bool, id string) {
	if id = strings.ToLower(strings.TrimSpace(id)); id != "" && len(ids) < maxJoinIDs {
		ids[id] = true
	}
}

// prior adds to s.Prior the stored findings of rules last seen since
// since whose subject, or whose evidence's userId, appId or objectId, is
// one of ids (lower case), at most maxPrior in all.
func (c *Rounds) prior(ctx context.Context, s *tenant.Snapshot, rules []string, ids map[string]bool, since time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	have := make(map[string]bool, len(s.Prior))
	for _, f := range s.Prior {
		have[f.Key] = true
	}
	cut := false
	err := c.st.RecentFindings(ctx, rules, since, func(rec state.FindingRecord) error {
		f := rec.Finding
		if have[f.Key] || !involves(f, ids) {
			return nil
		}
		if len(s.Prior) >= maxPrior {
			cut = true
			return nil
		}
		have[f.Key] = true
		s.Prior = append(s.Prior, f)
		return nil
	})
	if err != nil {
		return fmt.Errorf("collect: earlier findings of %s: %w", strings.Join(rules, ", "), err)
	}
	if cut {
		c.log.Warn("earlier findings to join cut", "kept", maxPrior, "rules", rules)
	}
	return nil
}

// involves reports whether f is on one of ids: its subject, or the user,
// app or object its evidence names.
func involves(f tenant.Finding, ids map[string]bool) bool {
	if ids[strings.ToLower(strings.TrimSpace(f.Subject.ID))] {
		return true
	}
	for _, k := range []string{"userId", "appId", "objectId"} {
		if v, ok := f.Evidence[k].(string); ok && ids[strings.ToLower(strings.TrimSpace(v))] {
			return true
		}
	}
	return false
}

// roundDevices adds the devices the round's audit events name (targets of
// type Device: "Add device", "Add registered owner to device", "Add
// registered users to device"), so that device.rogue-registration judges a
// registration in the poll that sees it, with the device's trust type,
// management and owners. The listing stops once every named device is
// found; a round without such events reads none (tenant.SourceDevices
// stays unavailable: no rule has a registration to judge).
func (c *Rounds) roundDevices(ctx context.Context, s *tenant.Snapshot) error {
	named := make(map[string]bool)
	for _, e := range s.Audits {
		for _, t := range e.Targets {
			if strings.EqualFold(t.Type, "Device") {
				addID(named, t.ID)
			}
		}
	}
	if len(named) == 0 {
		return nil
	}
	return c.listDevices(ctx, s, named, nil)
}

// listDevices reads the devices until it has found those named by object
// id (byID) or by the id they registered with (byDeviceID, what sign-ins'
// deviceDetail.deviceId gives), and adds them to s.Devices, under the one
// rule for tenant.SourceDevices.
func (c *Rounds) listDevices(ctx context.Context, s *tenant.Snapshot, byID, byDeviceID map[string]bool) error {
	want := len(byID) + len(byDeviceID)
	found := make(map[string]bool, want)
	var kept []tenant.Device
	err := c.r.Devices(ctx, func(d tenant.Device) error {
		id := strings.ToLower(strings.TrimSpace(d.ID))
		did := strings.ToLower(strings.TrimSpace(d.DeviceID))
		switch {
		case byID[id] && !found["o:"+id]:
			found["o:"+id] = true
		case byDeviceID[did] && !found["d:"+did]:
			found["d:"+did] = true
		default:
			return nil
		}
		kept = append(kept, d)
		if len(found) == want {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	if err := c.settle(s, tenant.SourceDevices, err); err != nil {
		return err
	}
	if s.Available(tenant.SourceDevices) {
		s.Devices = append(s.Devices, kept...)
	}
	return nil
}

// deviceCodeContext adds what signin.device-code needs to tell a
// conference-room device's sign-in from a phished one when the round has
// device-code sign-ins: the named locations (trusted networks; cached) and
// the devices the sign-ins came from (managed or compliant).
func (c *Rounds) deviceCodeContext(ctx context.Context, s *tenant.Snapshot) error {
	devices := make(map[string]bool)
	has := false
	for _, si := range s.SignIns {
		if isDeviceCodeSignIn(si) {
			has = true
			addID(devices, si.DeviceID)
		}
	}
	if !has {
		return nil
	}
	nls, err := c.cachedNamedLocations(ctx)
	if err := c.settle(s, tenant.SourceNamedLocations, err); err != nil {
		return err
	}
	s.NamedLocations = nls
	if len(devices) == 0 {
		return nil
	}
	return c.listDevices(ctx, s, nil, devices)
}

// isDeviceCodeSignIn reports whether a sign-in is by device code (beta's
// authenticationProtocol or originalTransferMethod).
func isDeviceCodeSignIn(si tenant.SignIn) bool {
	return strings.EqualFold(si.AuthProtocol, "deviceCode") || strings.EqualFold(si.OriginalTransferMethod, "deviceCodeFlow")
}

// postureContext adds the Conditional Access policies and the transitive
// user members of the groups the enabled ones name (cached: at most
// hourly) when the round holds a sign-in whose rule the posture raises: a
// device-code sign-in (signin.device-code is a step higher for a user no
// enabled policy blocking the device-code flow applies to) or a success of
// an account the failed-sign-in aggregate holds (signin.password-spray is
// critical on an account no MFA policy applies to). Access denied (no
// Policy.Read.All, or no Entra ID P1) marks the sources unavailable and
// the rules leave the raise off, saying what they did not check.
func (c *Rounds) postureContext(ctx context.Context, s *tenant.Snapshot) error {
	sprayed := sprayedAccounts(s)
	need := false
	for _, si := range s.SignIns {
		need = need || isDeviceCodeSignIn(si) ||
			sprayed[strings.ToLower(strings.TrimSpace(si.UserID))] || sprayed[strings.ToLower(strings.TrimSpace(si.UPN))]
	}
	if !need {
		return nil
	}
	ps, m, err := c.cachedConditionalAccess(ctx)
	if err := c.settle(s, tenant.SourceCAPolicies, err); err != nil {
		return err
	}
	if !s.Available(tenant.SourceCAPolicies) {
		s.MarkUnavailable(tenant.SourceCAGroupMembers, "needs the Conditional Access policies, which were unavailable")
		return nil
	}
	s.Policies = ps
	if m.tooMany {
		s.MarkUnavailable(tenant.SourceCAGroupMembers, fmt.Sprintf("the Conditional Access policies name %d groups, more than a sign-in poll reads (%d): the daily sweep reads them", len(m.groups), maxCAGroups))
		c.log.Warn("source unavailable", "source", tenant.SourceCAGroupMembers, "groups", len(m.groups), "read", maxCAGroups)
		return nil
	}
	if err := c.settle(s, tenant.SourceCAGroupMembers, m.denied); err != nil {
		return err
	}
	if s.Available(tenant.SourceCAGroupMembers) {
		s.GroupMembers = m.members
	}
	return nil
}
