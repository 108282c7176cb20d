package collect

import (
	"context"
	"fmt"
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
	// address, around it.
	SignInPriorRules = []string{"device.rogue-registration", "signin.azure-ip", "mfa.*"}
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

// signInPrior adds to s.Prior the earlier findings SignInPriorRules names
// on the users of the round's device-code sign-ins (beta's
// authenticationProtocol or originalTransferMethod); none when the round
// has none.
func (c *Rounds) signInPrior(ctx context.Context, s *tenant.Snapshot, w Window) error {
	ids := make(map[string]bool)
	for _, si := range s.SignIns {
		if strings.EqualFold(si.AuthProtocol, "deviceCode") || strings.EqualFold(si.OriginalTransferMethod, "deviceCodeFlow") {
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
	since := w.Since.Add(-PriorWindow)
	if err := c.prior(ctx, s, DevicePriorRules, users, since); err != nil {
		return err
	}
	return c.prior(ctx, s, AppPriorRules, apps, since)
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
