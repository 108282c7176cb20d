package watch

import (
	"context"
	"errors"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The App's collaborators, one small interface per role, declared here by
// their consumer. In production *collect.Rounds reads the tenant,
// *graph.Client subscribes, *store.Tables plays every storage role and
// *blobstore.Container keeps the reports; a test may fake any one of them.

// TenantReader reads the tenant: every read the functions make, the daily
// sweep's full snapshot included. *collect.Rounds satisfies it.
type TenantReader interface {
	Users(ctx context.Context, link string, w collect.Window) (*collect.UsersUpdate, error)
	Directory(ctx context.Context, from collect.DirectoryFrom, w collect.Window) (*collect.DirectoryUpdate, error)
	SignIns(ctx context.Context, w collect.Window) (*collect.SignInsUpdate, error)
	Snapshot(ctx context.Context, opts *collect.SnapshotOptions) (*tenant.Snapshot, error)
	// Federation compares the sweep's domains with the stored federation
	// baseline and adds the changes to the snapshot.
	Federation(ctx context.Context, s *tenant.Snapshot) (*collect.FederationUpdate, error)
}

// Subscriber manages the app's Graph change-notification subscriptions.
// *graph.Client satisfies it; a subscription that no longer exists is an
// error wrapping tenant.ErrNotFound.
type Subscriber interface {
	CreateSubscription(ctx context.Context, s state.Subscription) (state.Subscription, error)
	RenewSubscription(ctx context.Context, id string, expires time.Time) (state.Subscription, error)
	ReauthorizeSubscription(ctx context.Context, id string) error
	DeleteSubscription(ctx context.Context, id string) error
	ListSubscriptions(ctx context.Context) ([]state.Subscription, error)
}

// CursorStore keeps where each stream resumes.
type CursorStore interface {
	// Cursor returns the named cursor; one never saved comes back with
	// its name alone (Exists false).
	Cursor(ctx context.Context, name string) (state.Cursor, error)
	// SaveCursor inserts a cursor that does not exist yet, or replaces the
	// one read under its ETag, and returns it with its new ETag. Losing
	// the race to another invocation is an error wrapping
	// tenant.ErrConflict.
	SaveCursor(ctx context.Context, c state.Cursor) (state.Cursor, error)
}

// BaselineStore stores what the delta rounds compare (collect reads it
// back).
type BaselineStore interface {
	PutBaselines(ctx context.Context, bs []state.Baseline) error
	DeleteBaselines(ctx context.Context, typ tenant.SubjectType, ids []string) error
}

// FindingStore is the record of the findings already reported: dedupe.
type FindingStore interface {
	// RecordFindings records fs and returns those that are new, as
	// state.DecideDedupe decides for each: never recorded, or resolved.
	// New ones are stored with status; of two concurrent calls recording
	// the same new finding, exactly one returns it.
	RecordFindings(ctx context.Context, fs []tenant.Finding, status state.FindingStatus, now time.Time) ([]tenant.Finding, error)
	// Findings streams every recorded finding.
	Findings(ctx context.Context, fn func(state.FindingRecord) error) error
	// SetFindingStatus sets the status of the recorded findings with keys.
	SetFindingStatus(ctx context.Context, keys []string, status state.FindingStatus) error
	// ResolveFindings resolves the recorded findings of rules that a sweep
	// begun at now did not see (state.Resolves), and says how many.
	ResolveFindings(ctx context.Context, rules []string, seen map[string]bool, now time.Time) (int, error)
}

// OutboxStore is the Teams outbox: written by notify.Outbox, drained by
// notify.Deliver, listed and pruned by the reconciliation of DeliverAlerts.
type OutboxStore interface {
	notify.OutboxStore
	notify.DeliveryStore
	// Outbox streams every item, oldest first.
	Outbox(ctx context.Context, fn func(state.OutboxItem) error) error
	// PruneOutbox deletes the items delivered before deliveredBefore and
	// says how many.
	PruneOutbox(ctx context.Context, deliveredBefore time.Time) (int, error)
}

// SubscriptionStore keeps the subscriptions the app made, one per watched
// resource, with their client states.
type SubscriptionStore interface {
	Subscriptions(ctx context.Context) ([]state.Subscription, error)
	SubscriptionByID(ctx context.Context, id string) (state.Subscription, bool, error)
	// SaveSubscription stores s by resource under its ETag; losing a race
	// is an error wrapping tenant.ErrConflict.
	SaveSubscription(ctx context.Context, s state.Subscription) (state.Subscription, error)
}

// SignInStore keeps what the sign-in round leaves for later rounds: each
// user's recent successful sign-in times, the history collect reads for
// mfa.dormant-registration, the failed-sign-in aggregate collect reads
// back for signin.password-spray, and the sign-ins that start a device
// chain, which the directory polls join.
type SignInStore interface {
	// AddSignIns merges byUser (lower-case user id → times) into the
	// history, keeping at most max times after keepAfter per user.
	AddSignIns(ctx context.Context, byUser map[string][]time.Time, keepAfter time.Time, max int) error
	// AddSignInFailures merges a round's failed-sign-in tallies into the
	// stored aggregate (members united: storing the same failures twice
	// adds no member).
	AddSignInFailures(ctx context.Context, f *tenant.SignInFailures) error
	// PruneSignInFailures deletes the buckets that start before before,
	// and says how many rows went.
	PruneSignInFailures(ctx context.Context, before time.Time) (int, error)
	// AddChainSignIns keeps the first steps of the device chains (by
	// sign-in id) that collect reads back for the directory polls;
	// PruneChainSignIns deletes those before before.
	AddChainSignIns(ctx context.Context, ss []tenant.SignIn) error
	PruneChainSignIns(ctx context.Context, before time.Time) (int, error)
}

// Reports writes the daily sweep's dated reports and reads back the one
// a day's report is compared with. *blobstore.Container satisfies it.
type Reports interface {
	WriteReports(ctx context.Context, d *report.Document, day time.Time) (report.Written, error)
	// ReadPreviousReport reads the latest report dated before day (found
	// false when there is none).
	ReadPreviousReport(ctx context.Context, day time.Time) (d *report.Document, found bool, err error)
}

// Deps are an App's collaborators, one per role. Every one is required
// but Incidents.
type Deps struct {
	Tenant        TenantReader
	Subscriber    Subscriber
	Cursors       CursorStore
	Baselines     BaselineStore
	Findings      FindingStore
	Outbox        OutboxStore
	Subscriptions SubscriptionStore
	SignIns       SignInStore
	Reports       Reports
	// Incidents keeps the carded incidents and reads the findings
	// correlation joins. Optional: without it every new finding gets its
	// own card, as before incidents.
	Incidents IncidentStore
}

// check names the roles d lacks.
func (d Deps) check() error {
	var missing []error
	for _, r := range []struct {
		name string
		set  bool
	}{
		{"Tenant", d.Tenant != nil}, {"Subscriber", d.Subscriber != nil}, {"Cursors", d.Cursors != nil},
		{"Baselines", d.Baselines != nil}, {"Findings", d.Findings != nil}, {"Outbox", d.Outbox != nil},
		{"Subscriptions", d.Subscriptions != nil}, {"SignIns", d.SignIns != nil}, {"Reports", d.Reports != nil},
	} {
		if !r.set {
			missing = append(missing, errors.New("watch: Deps."+r.name+" is required"))
		}
	}
	return errors.Join(missing...)
}
