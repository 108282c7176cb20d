package apt29_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// TestActivityRecordsTellTheStory checks the Exchange audit records the
// simulated Management Activity API serves against the rest of the
// scenario: every mailbox is a user's, every app a service principal's;
// the backdoored archiver reads three executives' mailboxes from an Azure
// address of the Service Tags sample after its certificate was added; the
// Director is exempted from auditing; a blob arrives after a later one and
// a late blob holds day-old records; every record has the common schema
// and its RecordType's fields (Parameters as name/value pairs;
// OperationProperties, Folders, OperationCount).
func TestActivityRecordsTellTheStory(t *testing.T) {
	sim := newSim(t, nil)
	d := load(t, sim)
	azure, _ := azureRanges(t)
	users := map[string]bool{}
	for _, u := range d.users {
		users[strings.ToLower(u["userPrincipalName"].(string))] = true
	}
	apps := map[string]string{}
	for _, sp := range d.sps {
		apps[strings.ToLower(sp["appId"].(string))] = sp["displayName"].(string)
	}
	var credentialAdded time.Time
	for _, a := range d.audits {
		if a["activityDisplayName"] == "Add service principal credentials" && strings.Contains(a["targetResources"].([]any)[0].(map[string]any)["displayName"].(string), "Records Archiver") {
			credentialAdded, _ = time.Parse(time.RFC3339, a["activityDateTime"].(string))
		}
	}
	if credentialAdded.IsZero() {
		t.Fatal("no credential added to the archiver in the audit log")
	}

	blobs := sim.ActivityContent()
	if len(blobs) < 4 || !slices.Contains(sim.ActivitySubscriptions(), "Audit.Exchange") {
		t.Fatalf("%d blobs, subscriptions %v", len(blobs), sim.ActivitySubscriptions())
	}
	readBy := map[string]map[string]bool{} // app → mailboxes
	var bypassed []string
	var outOfOrder, late bool
	var newestSoFar time.Time
	for i, b := range blobs {
		if b.ContentType != "Audit.Exchange" || b.Created.After(sim.Now()) {
			t.Errorf("blob %d: %s at %v", i, b.ContentType, b.Created)
		}
		for _, r := range b.Records {
			at, err := time.Parse("2006-01-02T15:04:05", r.Str("CreationTime"))
			if err != nil {
				t.Errorf("blob %d: CreationTime %q is not the API's form", i, r.Str("CreationTime"))
			}
			for _, k := range []string{"Id", "Operation", "OrganizationId", "RecordType", "UserKey", "UserType", "Workload", "UserId"} {
				if _, ok := r.Get(k); !ok {
					t.Errorf("blob %d: %s lacks %s", i, r.Str("Id"), k)
				}
			}
			if r.Str("OrganizationId") != sim.TenantID() {
				t.Errorf("%s: OrganizationId %s", r.Str("Id"), r.Str("OrganizationId"))
			}
			if at.Before(newestSoFar) {
				outOfOrder = true
			}
			newestSoFar = maxTime(newestSoFar, at)
			if b.Created.Sub(at) > 12*time.Hour {
				late = true
			}
			switch r.Str("Operation") {
			case "MailItemsAccessed":
				owner := strings.ToLower(r.Str("MailboxOwnerUPN"))
				if !users[owner] || r.Str("Workload") != "Exchange" {
					t.Errorf("%s: mailbox %s", r.Str("Id"), owner)
				}
				for _, k := range []string{"OperationProperties", "Folders", "OperationCount", "LogonType", "ClientIPAddress"} {
					if _, ok := r.Get(k); !ok {
						t.Errorf("%s lacks %s", r.Str("Id"), k)
					}
				}
				app := strings.ToLower(r.Str("AppId"))
				if app == "" {
					continue
				}
				if apps[app] == "" {
					t.Errorf("%s: AppId %s is no service principal of the scenario", r.Str("Id"), app)
				}
				if !in(azure, r.Str("ClientIPAddress")) {
					t.Errorf("%s: %s is not in an AzureCloud range of the sample", r.Str("Id"), r.Str("ClientIPAddress"))
				}
				if !at.After(credentialAdded) {
					t.Errorf("%s: read at %v, before the backdoor (%v)", r.Str("Id"), at, credentialAdded)
				}
				if readBy[apps[app]] == nil {
					readBy[apps[app]] = map[string]bool{}
				}
				readBy[apps[app]][owner] = true
			case "Set-MailboxAuditBypassAssociation":
				params := map[string]string{}
				ps, _ := r.Get("Parameters")
				for _, p := range ps.([]any) {
					po := p.(graphsim.Object)
					params[po.Str("Name")] = po.Str("Value")
				}
				if params["AuditBypassEnabled"] == "True" {
					bypassed = append(bypassed, params["Identity"])
					host := r.Str("ClientIP")
					if ap, err := netip.ParseAddrPort(host); err != nil || !in(azure, ap.Addr().String()) {
						t.Errorf("bypass from %s, not the attack address", host)
					}
				}
			}
		}
	}
	if len(readBy) != 1 || len(readBy["Northbridge Records Archiver"]) != 3 {
		t.Errorf("apps reading mail: %v, want the archiver reading three mailboxes", readBy)
	}
	if len(bypassed) != 1 || !readBy["Northbridge Records Archiver"][bypassed[0]] {
		t.Errorf("bypassed %v, want one of the executives read", bypassed)
	}
	if !outOfOrder || !late {
		t.Errorf("out of order %v, late %v: the feed's documented quirks are missing", outOfOrder, late)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
