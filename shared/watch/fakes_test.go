package watch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// roles is a function-field double of every role of watch.Deps, for the
// tests of how the app orders its work: each call is logged in order, and
// a call whose function is left nil fails the test. The end-to-end tests
// use the real parts (graphsim, Azurite) instead.
type roles struct {
	t     *testing.T
	mu    sync.Mutex
	calls []string

	directory       func(from collect.DirectoryFrom, w collect.Window) (*collect.DirectoryUpdate, error)
	signIns         func(w collect.Window) (*collect.SignInsUpdate, error)
	cursor          func(name string) (state.Cursor, error)
	saveCursor      func(c state.Cursor) (state.Cursor, error)
	putBaselines    func(bs []state.Baseline) error
	deleteBaselines func(typ tenant.SubjectType, ids []string) error
	record          func(fs []tenant.Finding, status state.FindingStatus) ([]tenant.Finding, error)
	enqueue         func(items []state.OutboxItem) ([]state.OutboxItem, error)
	subscriptions   func() ([]state.Subscription, error)
	addSignIns      func(byUser map[string][]time.Time, keepAfter time.Time) error
	addFailures     func(f *tenant.SignInFailures) error
	pruneFailures   func(before time.Time) (int, error)
	addChain        func(ss []tenant.SignIn) error
	pruneChain      func(before time.Time) (int, error)
}

var (
	_ watch.TenantReader      = (*roles)(nil)
	_ watch.Subscriber        = (*roles)(nil)
	_ watch.CursorStore       = (*roles)(nil)
	_ watch.BaselineStore     = (*roles)(nil)
	_ watch.FindingStore      = (*roles)(nil)
	_ watch.OutboxStore       = (*roles)(nil)
	_ watch.SubscriptionStore = (*roles)(nil)
	_ watch.SignInStore       = (*roles)(nil)
	_ watch.Reports           = (*roles)(nil)
)

// deps plays every role with r.
func (r *roles) deps() watch.Deps {
	return watch.Deps{Tenant: r, Subscriber: r, Cursors: r, Baselines: r, Findings: r, Outbox: r, Subscriptions: r, SignIns: r, Reports: r}
}

var errUnexpected = errors.New("unexpected call")

// call logs a call and fails the test when its function is not set.
func (r *roles) call(set bool, format string, args ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := fmt.Sprintf(format, args...)
	r.calls = append(r.calls, c)
	if !set {
		r.t.Errorf("unexpected call %s", c)
		return fmt.Errorf("%s: %w", c, errUnexpected)
	}
	return nil
}

// log returns the calls so far.
func (r *roles) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *roles) Users(context.Context, string, collect.Window) (*collect.UsersUpdate, error) {
	return nil, r.call(false, "Users")
}

func (r *roles) Directory(_ context.Context, from collect.DirectoryFrom, w collect.Window) (*collect.DirectoryUpdate, error) {
	if err := r.call(r.directory != nil, "Directory"); err != nil {
		return nil, err
	}
	return r.directory(from, w)
}

func (r *roles) SignIns(_ context.Context, w collect.Window) (*collect.SignInsUpdate, error) {
	if err := r.call(r.signIns != nil, "SignIns"); err != nil {
		return nil, err
	}
	return r.signIns(w)
}

func (r *roles) Snapshot(context.Context, *collect.SnapshotOptions) (*tenant.Snapshot, error) {
	return nil, r.call(false, "Snapshot")
}

func (r *roles) Federation(context.Context, *tenant.Snapshot) (*collect.FederationUpdate, error) {
	return nil, r.call(false, "Federation")
}

func (r *roles) CreateSubscription(context.Context, state.Subscription) (state.Subscription, error) {
	return state.Subscription{}, r.call(false, "CreateSubscription")
}

func (r *roles) RenewSubscription(context.Context, string, time.Time) (state.Subscription, error) {
	return state.Subscription{}, r.call(false, "RenewSubscription")
}

func (r *roles) ReauthorizeSubscription(context.Context, string) error {
	return r.call(false, "ReauthorizeSubscription")
}

func (r *roles) DeleteSubscription(context.Context, string) error {
	return r.call(false, "DeleteSubscription")
}

func (r *roles) ListSubscriptions(context.Context) ([]state.Subscription, error) {
	return nil, r.call(false, "ListSubscriptions")
}

func (r *roles) Cursor(_ context.Context, name string) (state.Cursor, error) {
	if err := r.call(r.cursor != nil, "Cursor %s", name); err != nil {
		return state.Cursor{}, err
	}
	return r.cursor(name)
}

func (r *roles) SaveCursor(_ context.Context, c state.Cursor) (state.Cursor, error) {
	if err := r.call(r.saveCursor != nil, "SaveCursor %s", c.Name); err != nil {
		return state.Cursor{}, err
	}
	return r.saveCursor(c)
}

func (r *roles) PutBaselines(_ context.Context, bs []state.Baseline) error {
	if err := r.call(r.putBaselines != nil, "PutBaselines %d", len(bs)); err != nil {
		return err
	}
	return r.putBaselines(bs)
}

func (r *roles) DeleteBaselines(_ context.Context, typ tenant.SubjectType, ids []string) error {
	if err := r.call(r.deleteBaselines != nil, "DeleteBaselines %s %v", typ, ids); err != nil {
		return err
	}
	return r.deleteBaselines(typ, ids)
}

func (r *roles) RecordFindings(_ context.Context, fs []tenant.Finding, status state.FindingStatus, _ time.Time) ([]tenant.Finding, error) {
	if err := r.call(r.record != nil, "RecordFindings %d %s", len(fs), status); err != nil {
		return nil, err
	}
	return r.record(fs, status)
}

func (r *roles) Findings(context.Context, func(state.FindingRecord) error) error {
	return r.call(false, "Findings")
}

func (r *roles) SetFindingStatus(context.Context, []string, state.FindingStatus) error {
	return r.call(false, "SetFindingStatus")
}

func (r *roles) ResolveFindings(context.Context, []string, map[string]bool, time.Time) (int, error) {
	return 0, r.call(false, "ResolveFindings")
}

func (r *roles) EnqueueOutbox(_ context.Context, items []state.OutboxItem) ([]state.OutboxItem, error) {
	if err := r.call(r.enqueue != nil, "EnqueueOutbox %d", len(items)); err != nil {
		return nil, err
	}
	return r.enqueue(items)
}

func (r *roles) ClaimOutbox(context.Context, time.Time, time.Duration, int) ([]state.OutboxItem, error) {
	return nil, r.call(false, "ClaimOutbox")
}

func (r *roles) CompleteOutbox(context.Context, state.OutboxItem, time.Time) error {
	return r.call(false, "CompleteOutbox")
}

func (r *roles) RetryOutbox(context.Context, state.OutboxItem, time.Time, string) error {
	return r.call(false, "RetryOutbox")
}

func (r *roles) Outbox(context.Context, func(state.OutboxItem) error) error {
	return r.call(false, "Outbox")
}

func (r *roles) PruneOutbox(context.Context, time.Time) (int, error) {
	return 0, r.call(false, "PruneOutbox")
}

func (r *roles) Subscriptions(context.Context) ([]state.Subscription, error) {
	if err := r.call(r.subscriptions != nil, "Subscriptions"); err != nil {
		return nil, err
	}
	return r.subscriptions()
}

func (r *roles) SubscriptionByID(context.Context, string) (state.Subscription, bool, error) {
	return state.Subscription{}, false, r.call(false, "SubscriptionByID")
}

func (r *roles) SaveSubscription(context.Context, state.Subscription) (state.Subscription, error) {
	return state.Subscription{}, r.call(false, "SaveSubscription")
}

func (r *roles) AddSignIns(_ context.Context, byUser map[string][]time.Time, keepAfter time.Time, _ int) error {
	if err := r.call(r.addSignIns != nil, "AddSignIns %d", len(byUser)); err != nil {
		return err
	}
	return r.addSignIns(byUser, keepAfter)
}

func (r *roles) AddSignInFailures(_ context.Context, f *tenant.SignInFailures) error {
	if err := r.call(r.addFailures != nil, "AddSignInFailures %d", f.Len()); err != nil {
		return err
	}
	return r.addFailures(f)
}

func (r *roles) PruneSignInFailures(_ context.Context, before time.Time) (int, error) {
	if err := r.call(r.pruneFailures != nil, "PruneSignInFailures"); err != nil {
		return 0, err
	}
	return r.pruneFailures(before)
}

func (r *roles) AddChainSignIns(_ context.Context, ss []tenant.SignIn) error {
	if err := r.call(r.addChain != nil, "AddChainSignIns %d", len(ss)); err != nil {
		return err
	}
	return r.addChain(ss)
}

func (r *roles) PruneChainSignIns(_ context.Context, before time.Time) (int, error) {
	if err := r.call(r.pruneChain != nil, "PruneChainSignIns"); err != nil {
		return 0, err
	}
	return r.pruneChain(before)
}

func (r *roles) WriteReports(context.Context, *report.Document, time.Time) (report.Written, error) {
	return report.Written{}, r.call(false, "WriteReports")
}

func (r *roles) ReadPreviousReport(context.Context, time.Time) (*report.Document, bool, error) {
	return nil, false, r.call(false, "ReadPreviousReport")
}
