package watch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// finder is a detector of one rule that finds what it is given.
type finder struct {
	findings []tenant.Finding
	err      error
}

func (finder) Rule() tenant.Rule {
	return tenant.Rule{ID: "test.order", Title: "Order", Severity: tenant.SeverityHigh}
}

func (d finder) Detect(context.Context, *detect.Input) ([]tenant.Finding, error) {
	return d.findings, d.err
}

var orderFinding = tenant.Finding{Key: "test.order:sp1", Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "sp1", Name: "Payroll"}}

// directoryRoles plays a tenant whose directory round saw one service
// principal change and one removed, with one audit event, on an app
// installed earlier (every cursor exists).
func directoryRoles(t *testing.T) *roles {
	return &roles{
		t: t,
		subscriptions: func() ([]state.Subscription, error) {
			return []state.Subscription{{ID: "s1", Resource: "users"}, {ID: "s2", Resource: "groups"}}, nil
		},
		cursor: func(name string) (state.Cursor, error) {
			return state.Cursor{Name: name, DeltaLink: name + "-link", Watermark: t0.Add(-2 * time.Minute), ETag: "etag-" + name}, nil
		},
		directory: func(_ collect.DirectoryFrom, w collect.Window) (*collect.DirectoryUpdate, error) {
			return &collect.DirectoryUpdate{
				ServicePrincipals: &collect.Round[tenant.ServicePrincipal]{Type: tenant.SubjectServicePrincipal, Link: "sp-next",
					Put: []state.Baseline{{Type: tenant.SubjectServicePrincipal, ID: "sp1"}}, Delete: []string{"gone"}},
				Applications: &collect.Round[tenant.Application]{Type: tenant.SubjectApplication, Link: "app-next"},
				Audits:       1,
				Snapshot:     &tenant.Snapshot{CollectedAt: w.Now, Since: w.Since},
			}, nil
		},
		record:          func(fs []tenant.Finding, _ state.FindingStatus) ([]tenant.Finding, error) { return fs, nil },
		enqueue:         func(items []state.OutboxItem) ([]state.OutboxItem, error) { return items, nil },
		putBaselines:    func([]state.Baseline) error { return nil },
		deleteBaselines: func(tenant.SubjectType, []string) error { return nil },
		saveCursor: func(c state.Cursor) (state.Cursor, error) {
			c.ETag += "+1"
			return c, nil
		},
	}
}

// TestPollDirectoryOrder: a directory round records its findings, then
// queues their alerts, then stores the baselines, and moves its cursors
// last, so that a failure at any step leaves the cursors where they were
// and the next round repeats the work (dedupe makes that harmless). A
// cursor another invocation moved first is not a failure; failed
// detectors do not hold the round back once what the others found is
// stored. Storage and Graph are function-field doubles here: the order is
// what is under test.
func TestPollDirectoryOrder(t *testing.T) {
	t.Parallel()
	errStorage := errors.New("storage answered 500")
	errDetector := errors.New("detector broke")
	reads := []string{"Subscriptions", "Cursor delta-servicePrincipals", "Cursor delta-applications", "Cursor audits", "Cursor signins", "Directory"}
	record := []string{"RecordFindings 1 queued", "EnqueueOutbox 1"}
	commit := []string{"PutBaselines 1", "DeleteBaselines servicePrincipal [gone]",
		"SaveCursor delta-servicePrincipals", "SaveCursor delta-applications", "SaveCursor audits", "Cursor sweep"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name     string
		change   func(r *roles, d *finder)
		want     []string
		wantErr  error // errors.Is; nil: success
		wantSave bool  // the three cursors are saved, with the round's links and watermark
	}{
		{name: "every step succeeds", want: join(reads, record, commit), wantSave: true},
		{
			name: "findings not recorded: nothing else written",
			change: func(r *roles, _ *finder) {
				r.record = func([]tenant.Finding, state.FindingStatus) ([]tenant.Finding, error) { return nil, errStorage }
			},
			want:    join(reads, record[:1]),
			wantErr: errStorage,
		},
		{
			name: "alerts not queued: baselines and cursors stay (DeliverAlerts re-queues them)",
			change: func(r *roles, _ *finder) {
				r.enqueue = func([]state.OutboxItem) ([]state.OutboxItem, error) { return nil, errStorage }
			},
			want:    join(reads, record),
			wantErr: errStorage,
		},
		{
			name:    "baselines not stored: cursors stay",
			change:  func(r *roles, _ *finder) { r.putBaselines = func([]state.Baseline) error { return errStorage } },
			want:    join(reads, record, commit[:1]),
			wantErr: errStorage,
		},
		{
			name: "the first cursor not saved: the others stay too",
			change: func(r *roles, _ *finder) {
				r.saveCursor = func(state.Cursor) (state.Cursor, error) { return state.Cursor{}, errStorage }
			},
			want:    join(reads, record, commit[:3]),
			wantErr: errStorage,
		},
		{
			name: "a cursor another invocation moved first: not a failure",
			change: func(r *roles, _ *finder) {
				save := r.saveCursor
				r.saveCursor = func(c state.Cursor) (state.Cursor, error) {
					if c.Name == "delta-servicePrincipals" {
						return state.Cursor{}, fmt.Errorf("store: save cursor: %w", tenant.ErrConflict)
					}
					return save(c)
				}
			},
			want: join(reads, record, commit),
		},
		{
			name:     "a detector failed: what the others found is stored, the round advances, the failure is reported",
			change:   func(_ *roles, d *finder) { d.err = errDetector },
			want:     join(reads, record, commit),
			wantErr:  errDetector,
			wantSave: true,
		},
		{
			name: "nothing to judge: baselines and cursors only",
			change: func(r *roles, _ *finder) {
				dir := r.directory
				r.directory = func(from collect.DirectoryFrom, w collect.Window) (*collect.DirectoryUpdate, error) {
					u, err := dir(from, w)
					u.Snapshot = nil
					return u, err
				}
			},
			want:     join(reads, commit),
			wantSave: true,
		},
		{
			name: "installing: findings recorded as baseline, no alert",
			change: func(r *roles, _ *finder) {
				cur := r.cursor
				r.cursor = func(name string) (state.Cursor, error) {
					if name == "audits" {
						return state.Cursor{Name: name}, nil
					}
					return cur(name)
				}
			},
			want: join(reads, []string{"RecordFindings 1 baseline"}, commit),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, d := directoryRoles(t), &finder{findings: []tenant.Finding{orderFinding}}
			if tc.change != nil {
				tc.change(r, d)
			}
			var from collect.DirectoryFrom
			var window collect.Window
			dir := r.directory
			r.directory = func(f collect.DirectoryFrom, w collect.Window) (*collect.DirectoryUpdate, error) {
				from, window = f, w
				return dir(f, w)
			}
			saved := make(map[string]state.Cursor)
			save := r.saveCursor
			r.saveCursor = func(c state.Cursor) (state.Cursor, error) {
				got, err := save(c)
				if err == nil {
					saved[c.Name] = c
				}
				return got, err
			}
			cfg := config.Config{NotificationURL: "https://app.example/api/GraphNotifications?code=k", AuditOverlap: 15 * time.Minute}
			app, err := watch.New(r.deps(), &watch.Options{Config: cfg, Detectors: []detect.Detector{*d}, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			err = app.PollDirectory(t.Context())
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("PollDirectory: %v, want success", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("PollDirectory: %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, r.log()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			wantFrom := collect.DirectoryFrom{ServicePrincipals: "delta-servicePrincipals-link", Applications: "delta-applications-link", HistoryFrom: t0.Add(-15 * 24 * time.Hour)}
			if from != wantFrom || window.Round != "PollDirectory" || !window.Now.Equal(t0) {
				t.Errorf("the round read from %+v in %+v, want %+v at %v", from, window, wantFrom, t0)
			}
			if !tc.wantSave {
				return
			}
			if saved["delta-servicePrincipals"].DeltaLink != "sp-next" || saved["delta-applications"].DeltaLink != "app-next" ||
				!saved["audits"].Watermark.Equal(t0) || saved["audits"].ETag != "etag-audits" {
				t.Errorf("cursors saved %+v: want the round's links, the audit watermark at the round's time, under the ETags read", saved)
			}
		})
	}
}

// TestPollSignInsUnreadable: a sign-in log that cannot be read (no P1/P2
// licence, or no permission) is no failure and writes nothing: no
// finding, no history, and the cursor stays, so the first readable round
// reads from where the history stopped.
func TestPollSignInsUnreadable(t *testing.T) {
	t.Parallel()
	r := &roles{
		t: t,
		cursor: func(name string) (state.Cursor, error) {
			return state.Cursor{Name: name, Watermark: t0.Add(-5 * time.Minute), ETag: "e"}, nil
		},
		signIns: func(w collect.Window) (*collect.SignInsUpdate, error) {
			s := &tenant.Snapshot{CollectedAt: w.Now, Since: w.Since}
			s.MarkUnavailable(tenant.SourceSignIns, "GET /auditLogs/signIns: 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant")
			return &collect.SignInsUpdate{Snapshot: s}, nil
		},
	}
	app, err := watch.New(r.deps(), &watch.Options{Config: config.Config{SignInOverlap: 15 * time.Minute}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.PollSignIns(t.Context()); err != nil {
		t.Errorf("PollSignIns: %v, want success", err)
	}
	if diff := cmp.Diff([]string{"Cursor signins", "SignIns"}, r.log()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestNewNeedsEveryRole: a role left out is a wiring mistake, named at
// once rather than found by the first function that needs it.
func TestNewNeedsEveryRole(t *testing.T) {
	t.Parallel()
	d := (&roles{t: t}).deps()
	d.Findings, d.Reports = nil, nil
	_, err := watch.New(d, nil)
	if err == nil {
		t.Fatal("New succeeded without Findings and Reports")
	}
	for _, role := range []string{"Deps.Findings", "Deps.Reports"} {
		if !strings.Contains(err.Error(), role) {
			t.Errorf("error %q does not name %s", err, role)
		}
	}
}

// TestPollSignInsOrder: a sign-in round records its findings and queues
// their alerts, then stores its failure tallies and adds the sign-in times
// to the history, and moves its watermark last (pruning the aggregate's
// old buckets after it); failed detectors are reported once the rest is
// stored.
func TestPollSignInsOrder(t *testing.T) {
	t.Parallel()
	errDetector := errors.New("detector broke")
	for _, detErr := range []error{nil, errDetector} {
		t.Run(fmt.Sprint("detector error ", detErr), func(t *testing.T) {
			t.Parallel()
			var keepAfter, pruned time.Time
			var saved state.Cursor
			var fails tenant.SignInFailures
			fails.Add(tenant.SignIn{UserID: "u2", IP: "203.0.113.1", ErrorCode: 50126, Time: t0.Add(-2 * time.Minute)})
			r := &roles{
				t: t,
				cursor: func(name string) (state.Cursor, error) {
					return state.Cursor{Name: name, Watermark: t0.Add(-5 * time.Minute), ETag: "e"}, nil
				},
				signIns: func(w collect.Window) (*collect.SignInsUpdate, error) {
					if want := t0.Add(-20 * time.Minute); !w.Since.Equal(want) {
						t.Errorf("window from %v, want the watermark less the overlap, %v", w.Since, want)
					}
					s := &tenant.Snapshot{CollectedAt: w.Now, Since: w.Since, SignIns: []tenant.SignIn{{UserID: "u1", Time: t0.Add(-time.Minute)}}}
					s.SignInFailures = &fails
					return &collect.SignInsUpdate{Snapshot: s, ByUser: map[string][]time.Time{"u1": {t0.Add(-time.Minute)}}, Failures: &fails,
						Chain: []tenant.SignIn{{ID: "c1", UserID: "u1", AuthProtocol: "deviceCode"}}}, nil
				},
				record:      func(fs []tenant.Finding, _ state.FindingStatus) ([]tenant.Finding, error) { return fs, nil },
				enqueue:     func(items []state.OutboxItem) ([]state.OutboxItem, error) { return items, nil },
				addFailures: func(*tenant.SignInFailures) error { return nil },
				addChain:    func([]tenant.SignIn) error { return nil },
				pruneChain:  func(time.Time) (int, error) { return 0, nil },
				pruneFailures: func(before time.Time) (int, error) {
					pruned = before
					return 0, nil
				},
				addSignIns: func(_ map[string][]time.Time, after time.Time) error {
					keepAfter = after
					return nil
				},
				saveCursor: func(c state.Cursor) (state.Cursor, error) {
					saved = c
					return c, nil
				},
			}
			d := finder{findings: []tenant.Finding{orderFinding}, err: detErr}
			app, err := watch.New(r.deps(), &watch.Options{Config: config.Config{SignInOverlap: 15 * time.Minute},
				Detectors: []detect.Detector{d}, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			err = app.PollSignIns(t.Context())
			if !errors.Is(err, detErr) {
				t.Errorf("PollSignIns: %v, want %v", err, detErr)
			}
			want := []string{"Cursor signins", "SignIns", "RecordFindings 1 queued", "EnqueueOutbox 1", "AddSignInFailures 3", "AddChainSignIns 1",
				"AddSignIns 1", "SaveCursor signins", "PruneSignInFailures", "PruneChainSignIns"}
			if diff := cmp.Diff(want, r.log()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if !keepAfter.Equal(t0.Add(-15*24*time.Hour)) || !saved.Watermark.Equal(t0) || !pruned.Equal(t0.Add(-2*time.Hour)) {
				t.Errorf("history kept after %v, watermark saved at %v, failures pruned before %v", keepAfter, saved.Watermark, pruned)
			}
		})
	}
}
