package watch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// backdoorFinding is a finding as sp.credential-added records it.
func backdoorFinding(sev tenant.Severity) tenant.Finding {
	const sp, key = "5f0c7d1e-2b1a-4c3e-9d8f-0a1b2c3d4e5f", "6a7b8c9d-0000-4000-8000-00000000000a"
	return tenant.Finding{
		Rule:     "sp.credential-added",
		Severity: sev,
		Title:    "Credential added to a service principal",
		Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: sp, Name: "Mail Archiver"},
		Evidence: map[string]any{"keyId": key, "sources": []string{"baselineChange"}},
		MITRE:    []string{"T1098.001"},
		Key:      "sp.credential-added:" + sp + ":" + key,
	}
}

// TestDeliverAlertsReconciles: a finding recorded as queued whose outbox
// write was lost (the round failed between the two writes) is queued again
// by DeliverAlerts and delivered once; one whose outbox item exists is not
// queued twice.
func TestDeliverAlertsReconciles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		severity tenant.Severity
		age      time.Duration // between the findings write and DeliverAlerts
		written  bool          // the outbox write happened
		noTeams  bool
		want     state.OutboxKind // the one item carrying the finding; "" none
		sent     int              // messages posted by the first DeliverAlerts
	}{
		{name: "lost, high: its card", severity: tenant.SeverityHigh, age: 3 * time.Minute, want: state.OutboxCard, sent: 1},
		{name: "lost, critical: its card", severity: tenant.SeverityCritical, age: time.Hour, want: state.OutboxCard, sent: 1},
		{name: "lost, medium: a digest", severity: tenant.SeverityMedium, age: 3 * time.Minute, want: state.OutboxDigest, sent: 1},
		{name: "lost, 6 days old", severity: tenant.SeverityHigh, age: 6 * 24 * time.Hour, want: state.OutboxCard, sent: 1},
		{name: "written: not queued twice", severity: tenant.SeverityHigh, age: 3 * time.Minute, written: true, want: state.OutboxCard, sent: 1},
		{name: "lost, no webhook: queued, waits", severity: tenant.SeverityHigh, age: 3 * time.Minute, noTeams: true, want: state.OutboxCard},
		{name: "within 2 minutes: the round may still write it", severity: tenant.SeverityHigh, age: time.Minute},
		{name: "older than the 7-day look-back", severity: tenant.SeverityHigh, age: 8 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{NoTeams: tt.noTeams, Sim: graphsim.Options{Scenario: empty.Scenario()}})
			ctx := t.Context()
			f := backdoorFinding(tt.severity)
			fresh, err := e.st.RecordFindings(ctx, []tenant.Finding{f}, state.FindingQueued, e.clk.Now())
			e.must("RecordFindings", err)
			if len(fresh) != 1 {
				t.Fatalf("RecordFindings returned %d fresh findings, want 1", len(fresh))
			}
			if tt.written {
				ob := notify.NewOutbox(e.st, &notify.OutboxOptions{Threshold: e.cfg.AlertSeverity, Now: e.clk.Now})
				_, err := ob.Add(ctx, fresh)
				e.must("outbox", err)
			}

			e.clk.Advance(tt.age)
			e.must("DeliverAlerts", e.app.DeliverAlerts(ctx))
			items := e.carrying(f.Key)
			if tt.want == "" {
				if len(items) != 0 {
					t.Errorf("%d outbox items carry the finding, want none", len(items))
				}
			} else if len(items) != 1 || items[0].Kind != tt.want {
				t.Fatalf("outbox items carrying the finding: %v, want one %s", describe(items), tt.want)
			}
			if n := len(e.outbox()); n != len(items) {
				t.Errorf("%d outbox items in all, want %d", n, len(items))
			}
			msgs := e.teams.Messages()
			if len(msgs) != tt.sent {
				t.Fatalf("%d messages posted, want %d", len(msgs), tt.sent)
			}
			if tt.sent > 0 && !strings.Contains(string(msgs[0]), "Mail Archiver") {
				t.Errorf("the message does not name the subject: %s", msgs[0])
			}

			// Again, later: nothing more is queued or sent.
			e.clk.Advance(30 * time.Second)
			e.must("second DeliverAlerts", e.app.DeliverAlerts(ctx))
			if n := len(e.carrying(f.Key)); n != len(items) {
				t.Errorf("the second run left %d outbox items carrying the finding, want %d", n, len(items))
			}
			if n := len(e.teams.Messages()); n != tt.sent {
				t.Errorf("the second run posted %d more messages", n-tt.sent)
			}
			rec := e.findings()[f.Key]
			wantStatus := state.FindingQueued
			if tt.sent > 0 {
				wantStatus = state.FindingDelivered // reconciled with the delivered item
			}
			if rec.Status != wantStatus {
				t.Errorf("finding status %s, want %s", rec.Status, wantStatus)
			}
		})
	}
}
