package apt29

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// The story's ending in Exchange (issue 11): the backdoored app reads
// mail. Its records reach the Management Activity API as two content
// blobs, the way the API publishes them — late and out of order:
//
//   - the first, available at once, holds the attacker exempting one
//     executive from mailbox auditing (Set-MailboxAuditBypassAssociation)
//     and, minutes later, the app reading that mailbox and two more
//     executives' from an Azure address;
//   - the second becomes available two seconds later but holds an older
//     record: the attacker granting the app ApplicationImpersonation half
//     an hour before (New-ManagementRoleAssignment -App).
//
// A notified app reads both; a polling one lists both; either way the
// second blob's older record must not be dropped as "before the
// watermark".

// pendingBlob is a content blob a step publishes once its changes are in.
type pendingBlob struct {
	contentType string
	created     time.Time
	records     []graphsim.Object
	what        string
}

// lateBlobAfter is how much later than the first the step's second blob
// becomes available.
const lateBlobAfter = 2 * time.Second

// exchangeOrg is the scenario's Exchange organization, as its records name it.
const (
	exchangeOrgID   = "a5d523ad-4913-45c1-bc01-5d94195ab832"
	exchangeOrgName = "northbridgepolicy.onmicrosoft.com"
	// mailReadIP is the Azure virtual machine the app reads from (inside
	// AzureCloud.northeurope 13.74.0.0/16 of the sample Service Tags).
	mailReadIP = "13.74.179.117"
)

// mailTargets picks the step's mailboxes (up to three): enabled users with
// a UPN that no planted or decoy Exchange finding names, executives first
// (a job title naming a director, head, chief or counsel), then in UPN
// order.
func (a *attackCtx) mailTargets() []graphsim.Object {
	var out []graphsim.Object
	for _, u := range a.tx.Objects(string(graphsim.KindUser)) {
		upn := u.Str("userPrincipalName")
		if upn == "" || strings.Contains(upn, "#EXT#") || !activeMember(u) || strings.EqualFold(u.Str("id"), a.story.takenOver) {
			continue
		}
		if a.excluded(u.Str("id"), "exo.mailbox-audit-bypass", "exo.mailbox-audit-reduced", "mail.audit-gap") || a.planted(u.Str("id"), "audit.advanced-auditing-disabled") {
			continue
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y graphsim.Object) int {
		if ex, ey := executive(x), executive(y); ex != ey {
			if ex {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(x.Str("userPrincipalName")), strings.ToLower(y.Str("userPrincipalName")))
	})
	return out[:min(3, len(out))]
}

// planted reports whether a planted finding (not a decoy) of one of rules
// names id: a mailbox whose Advanced Auditing the story switched off would
// add an audit gap the step does not expect; a decoy's mailbox is fine.
func (a *attackCtx) planted(id string, rules ...string) bool {
	for _, e := range slices.Concat(a.story.expected, a.story.activity) {
		if strings.EqualFold(e.SubjectID, id) && slices.Contains(rules, e.Rule) {
			return true
		}
	}
	return false
}

// executive reports whether u's job title names a director, head, chief or
// counsel.
func executive(u graphsim.Object) bool {
	t := strings.ToLower(u.Str("jobTitle"))
	for _, w := range []string{"director", "head of", "chief", "counsel"} {
		if strings.Contains(t, w) && !strings.Contains(t, "emeritus") {
			return true
		}
	}
	return false
}

// mailCollection: the backdoored app reads three executives' mail from
// Azure after the attacker exempted one of them from auditing and granted
// the app ApplicationImpersonation.
func (a *attackCtx) mailCollection() error {
	sp, ok := a.tx.Lookup(graphsim.KindServicePrincipal, a.story.backdoorSP)
	if a.story.backdoorSP == "" || !ok {
		if sp, _, ok = a.backdoorTarget(false); !ok {
			return fmt.Errorf("%w: %s: no service principal with a mail-reading role", graphsim.ErrNoCandidate, StepMailCollection)
		}
	}
	id, name, appID := sp.Str("id"), sp.Str("displayName"), sp.Str("appId")
	if a.excluded(id, "mail.app-collection", "exo.impersonation-granted") {
		return fmt.Errorf("%w: %s: the service principal %s already has an Exchange finding", graphsim.ErrNoCandidate, StepMailCollection, name)
	}
	victims := a.mailTargets()
	if len(victims) < 2 {
		return fmt.Errorf("%w: %s: fewer than two mailboxes without an Exchange finding", graphsim.ErrNoCandidate, StepMailCollection)
	}
	by := a.attacker()
	actorUPN := by.upn
	if actorUPN == "" {
		actorUPN = "admin@" + exchangeOrgName
	}
	t := a.t.Truncate(time.Second)
	first, others := victims[0], victims[1:]
	bypassAt, read1At, read2At, grantAt := t.Add(-4*time.Minute), t.Add(-2*time.Minute), t.Add(-time.Minute), t.Add(-30*time.Minute)
	admin := func(at time.Time, op, objectID string, params ...graphsim.Object) graphsim.Object {
		ps := make([]any, len(params))
		for i, p := range params {
			ps[i] = p
		}
		return graphsim.Object{
			{"CreationTime", at}, {"Id", a.id()}, {"Operation", op}, {"OrganizationId", exchangeOrgID},
			{"RecordType", 1}, {"ResultStatus", "True"}, {"UserKey", "10032000B7E4D912"}, {"UserType", 2}, {"Version", 1},
			{"Workload", "Exchange"}, {"ClientIP", by.ip + ":49877"}, {"ObjectId", objectID}, {"UserId", actorUPN},
			{"AppId", ""}, {"ClientAppId", ""}, {"ExternalAccess", false}, {"OrganizationName", exchangeOrgName},
			{"OriginatingServer", "AM9PR04MB8462 (15.20.7452.028)"}, {"Parameters", ps}, {"SessionId", a.id()},
		}
	}
	param := func(n, v string) graphsim.Object { return graphsim.Object{{"Name", n}, {"Value", v}} }
	read := func(at time.Time, u graphsim.Object, items int) graphsim.Object {
		upn := u.Str("userPrincipalName")
		return graphsim.Object{
			{"CreationTime", at}, {"Id", a.id()}, {"Operation", "MailItemsAccessed"}, {"OrganizationId", exchangeOrgID},
			{"RecordType", 50}, {"ResultStatus", "Succeeded"}, {"UserKey", "1003200041A8D001"}, {"UserType", 0}, {"Version", 1},
			{"Workload", "Exchange"}, {"UserId", upn}, {"AppId", appID}, {"ClientAppId", appID}, {"ClientIPAddress", mailReadIP},
			{"ClientInfoString", "Client=REST;Client=RESTSystem;;"}, {"ExternalAccess", false}, {"InternalLogonType", 0}, {"LogonType", 0},
			{"MailboxGuid", a.id()}, {"MailboxOwnerUPN", upn},
			{"OperationProperties", []any{graphsim.Object{{"Name", "MailAccessType"}, {"Value", "Bind"}}, graphsim.Object{{"Name", "IsThrottled"}, {"Value", "False"}}}},
			{"OrganizationName", exchangeOrgName}, {"OperationCount", items}, {"SessionId", a.id()}, {"TokenTenantId", exchangeOrgID},
		}
	}
	reads := make([]graphsim.Object, 0, len(others))
	for i, u := range others {
		reads = append(reads, read(read2At.Add(time.Duration(i)*10*time.Second), u, 9+5*i))
	}
	a.blobs = append(a.blobs,
		pendingBlob{contentType: "Audit.Exchange", created: t, what: "content blob: audit bypass, then the app's reads", records: append([]graphsim.Object{
			admin(bypassAt, "Set-MailboxAuditBypassAssociation", first.Str("userPrincipalName"),
				param("Identity", first.Str("userPrincipalName")), param("AuditBypassEnabled", "True")),
			read(read1At, first, 23),
		}, reads...)},
		pendingBlob{contentType: "Audit.Exchange", created: t.Add(lateBlobAfter), what: "late content blob: the older impersonation grant", records: []graphsim.Object{
			admin(grantAt, "New-ManagementRoleAssignment", "ApplicationImpersonation-"+appID,
				param("Role", "ApplicationImpersonation"), param("App", appID), param("Name", "ApplicationImpersonation-"+appID)),
		}},
	)
	a.expect("exo.mailbox-audit-bypass", "user", first.Str("id"), first.Str("userPrincipalName"), "high",
		"attack step mail-collection: Set-MailboxAuditBypassAssociation -AuditBypassEnabled True by "+actorUPN)
	a.expect("mail.app-collection", "servicePrincipal", id, name, "critical",
		fmt.Sprintf("attack step mail-collection: MailItemsAccessed by AppId %s on %d mailboxes from %s (Azure)", appID, len(victims), mailReadIP))
	a.expect("mail.audit-gap", "user", first.Str("id"), first.Str("userPrincipalName"), "medium",
		"attack step mail-collection: the mailbox is read by the app two minutes after its audit bypass")
	a.expect("exo.impersonation-granted", "servicePrincipal", id, name, "high",
		"attack step mail-collection: New-ManagementRoleAssignment -Role ApplicationImpersonation -App "+appID+" (in the late blob, older than the reads)")
	return nil
}
