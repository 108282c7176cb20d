package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/sync/errgroup"

	"github.com/tenantwatch/tenantwatch/shared/redact"
)

// Tables is the app's incremental state in Azure Table Storage: cursors,
// baselines, findings, the Teams outbox, Graph subscriptions and sign-in
// history, one table each. It is safe for concurrent use, also from
// several processes: every read-modify-write is guarded by ETags.
type Tables struct {
	svc      *aztables.ServiceClient
	names    map[string]string // logical name → table name
	clients  map[string]*aztables.Client
	log      *slog.Logger
	now      func() time.Time
	parallel int
}

// TablesOptions tune Tables. The zero value (or nil) gives the defaults.
type TablesOptions struct {
	// Prefix starts every table name (default "tw": twcursors, twfindings
	// …): letters and digits, starting with a letter, at most 50.
	Prefix string
	// Logger receives retries, truncations and conflicts (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now); stored times are UTC.
	Now func() time.Time
	// Parallelism bounds concurrent requests of one call (default 8).
	Parallelism int
	// MaxRetries bounds the SDK's retries of a request that failed without
	// an answer or with 408/429/5xx (0: the SDK's default of 3; negative:
	// none).
	MaxRetries int
	// RetryDelay is the SDK's first back-off (0: its default, 800 ms).
	RetryDelay time.Duration
	// TryTimeout bounds each HTTP attempt, so that a storage that accepts
	// connections but does not answer fails the attempt instead of
	// holding the call until its context ends (0: no bound).
	TryTimeout time.Duration
}

// Logical table names; the table is Prefix + name.
const (
	tableCursors       = "cursors"
	tableBaselines     = "baselines"
	tableFindings      = "findings"
	tableOutbox        = "outbox"
	tableSubscriptions = "subscriptions"
	tableSignIns       = "signins"
	tableExchange      = "exchange"
	tableFailures      = "failures"
	tableIncidents     = "incidents"
)

func allTables() []string {
	return []string{tableCursors, tableBaselines, tableFindings, tableOutbox, tableSubscriptions, tableSignIns, tableExchange, tableFailures, tableIncidents}
}

var validPrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,49}$`)

// NewTablesFromConnectionString opens the tables of the account in a full
// connection string: AccountName and AccountKey, or a SharedAccessSignature
// (an account SAS for the table service), and, for Azurite or any other
// endpoint, TableEndpoint. It refuses the UseDevelopmentStorage=true
// shortcut, which the SDK does not understand: shared/config expands it. It
// does not touch the network; call Init, then Ping. Errors never quote the
// connection string.
func NewTablesFromConnectionString(conn string, opts *TablesOptions) (*Tables, error) {
	if strings.Contains(strings.ToLower(strings.Join(strings.Fields(conn), "")), "usedevelopmentstorage=true") {
		return nil, errors.New("store: UseDevelopmentStorage=true must be expanded to the full development connection string first")
	}
	o, err := options(opts)
	if err != nil {
		return nil, err
	}
	svc, err := serviceFromConnectionString(conn, clientOptions(o))
	if err != nil {
		return nil, fmt.Errorf("store: malformed connection string: %w", redact.Error(err))
	}
	return newTables(svc, o), nil
}

// serviceFromConnectionString opens the table service of conn. aztables
// (v1.4.1) sends a SAS connection string to
// https://<AccountName>.table.core.windows.net whatever its TableEndpoint
// says, so a string with a SharedAccessSignature and no AccountKey is read
// here: TableEndpoint, or the account's public endpoint, with the SAS as its
// query. Account-key strings are left to the SDK.
func serviceFromConnectionString(conn string, opts *aztables.ClientOptions) (*aztables.ServiceClient, error) {
	kv := make(map[string]string)
	for _, part := range strings.Split(strings.TrimRight(strings.TrimSpace(conn), ";"), ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errors.New("not a list of name=value pairs")
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	sas, hasSAS := kv["sharedaccesssignature"]
	if _, hasKey := kv["accountkey"]; hasKey || !hasSAS {
		return aztables.NewServiceClientFromConnectionString(conn, opts)
	}
	sas = strings.TrimPrefix(sas, "?")
	if sas == "" {
		return nil, errors.New("empty SharedAccessSignature")
	}
	endpoint := kv["tableendpoint"]
	if endpoint == "" {
		if kv["accountname"] == "" {
			return nil, errors.New("a SharedAccessSignature needs TableEndpoint or AccountName")
		}
		endpoint = cmp.Or(kv["defaultendpointsprotocol"], "https") + "://" + kv["accountname"] + ".table." +
			cmp.Or(kv["endpointsuffix"], "core.windows.net")
	}
	return aztables.NewServiceClientWithNoCredential(strings.TrimRight(endpoint, "/")+"/?"+sas, opts)
}

// NewTables opens the tables of the account at serviceURL
// (https://<account>.table.core.windows.net) with an Entra ID credential,
// such as the Function App's managed identity, which needs the Storage
// Table Data Contributor role. It does not touch the network.
func NewTables(serviceURL string, cred azcore.TokenCredential, opts *TablesOptions) (*Tables, error) {
	if serviceURL == "" {
		return nil, errors.New("store: empty table service url")
	}
	if cred == nil {
		return nil, errors.New("store: nil credential")
	}
	o, err := options(opts)
	if err != nil {
		return nil, err
	}
	svc, err := aztables.NewServiceClient(serviceURL, cred, clientOptions(o))
	if err != nil {
		return nil, fmt.Errorf("store: table service url: %w", redact.Error(err))
	}
	return newTables(svc, o), nil
}

func options(opts *TablesOptions) (TablesOptions, error) {
	var o TablesOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "tw"
	}
	if !validPrefix.MatchString(o.Prefix) {
		return o, fmt.Errorf("store: invalid table prefix %q (letters and digits, starting with a letter, at most 50)", o.Prefix)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 8
	}
	return o, nil
}

func clientOptions(o TablesOptions) *aztables.ClientOptions {
	return &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: int32(o.MaxRetries), RetryDelay: o.RetryDelay, TryTimeout: o.TryTimeout},
	}}
}

func newTables(svc *aztables.ServiceClient, o TablesOptions) *Tables {
	t := &Tables{
		svc:      svc,
		names:    make(map[string]string),
		clients:  make(map[string]*aztables.Client),
		log:      o.Logger,
		now:      o.Now,
		parallel: o.Parallelism,
	}
	for _, n := range allTables() {
		t.names[n] = o.Prefix + n
		t.clients[n] = svc.NewClient(o.Prefix + n)
	}
	return t
}

// TableNames returns the names of the tables, for diagnostics.
func (t *Tables) TableNames() []string {
	out := make([]string, 0, len(t.names))
	for _, n := range allTables() {
		out = append(out, t.names[n])
	}
	return out
}

// Init creates the tables that do not exist yet. It is idempotent.
func (t *Tables) Init(ctx context.Context) error {
	for _, n := range allTables() {
		_, err := t.svc.CreateTable(ctx, t.names[n], nil)
		if err != nil && !isStatus(err, http.StatusConflict) {
			return wrap("create table "+t.names[n], err)
		}
	}
	return nil
}

// Ping checks that the storage answers and that Init has run: it reads at
// most one row of every table. An error wraps tenant.ErrUnreachable when
// there was no answer.
func (t *Tables) Ping(ctx context.Context) error {
	top := int32(1)
	for _, n := range allTables() {
		p := t.clients[n].NewListEntitiesPager(&aztables.ListEntitiesOptions{Top: &top, Select: ptr("RowKey")})
		if _, err := p.NextPage(ctx); err != nil {
			return wrap("ping table "+t.names[n], err)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// etagPtr converts an ETag for the SDK; "" means any ("*").
func etagPtr(etag string) *azcore.ETag {
	if etag == "" {
		return ptr(azcore.ETagAny)
	}
	return ptr(azcore.ETag(etag))
}

// get reads one entity; ok is false when it does not exist.
func (t *Tables) get(ctx context.Context, table, pk, rk string) (r row, ok bool, err error) {
	resp, err := t.clients[table].GetEntity(ctx, pk, rk, nil)
	if err != nil {
		if isEntityNotFound(err) {
			return row{}, false, nil
		}
		return row{}, false, err
	}
	r, err = parseRow(resp.Value, string(resp.ETag))
	return r, err == nil, err
}

// add inserts e; it fails with a 409 when the row exists.
func (t *Tables) add(ctx context.Context, table string, e entity) (string, error) {
	resp, err := t.clients[table].AddEntity(ctx, e.marshal(), nil)
	return string(resp.ETag), err
}

// replace replaces the row with e if its ETag is etag ("" = any).
func (t *Tables) replace(ctx context.Context, table string, e entity, etag string) (string, error) {
	resp, err := t.clients[table].UpdateEntity(ctx, e.marshal(), &aztables.UpdateEntityOptions{IfMatch: etagPtr(etag), UpdateMode: aztables.UpdateModeReplace})
	return string(resp.ETag), err
}

// merge writes e's properties into the row if its ETag is etag ("" = any).
func (t *Tables) merge(ctx context.Context, table string, e entity, etag string) (string, error) {
	resp, err := t.clients[table].UpdateEntity(ctx, e.marshal(), &aztables.UpdateEntityOptions{IfMatch: etagPtr(etag), UpdateMode: aztables.UpdateModeMerge})
	return string(resp.ETag), err
}

// del deletes a row if its ETag is etag ("" = any); a missing row is not
// an error.
func (t *Tables) del(ctx context.Context, table, pk, rk, etag string) error {
	_, err := t.clients[table].DeleteEntity(ctx, pk, rk, &aztables.DeleteEntityOptions{IfMatch: etagPtr(etag)})
	if isEntityNotFound(err) {
		return nil
	}
	return err
}

// errStop ends a listing early without an error.
var errStop = errors.New("stop")

// list streams the rows matching filter, page by page (1,000 rows at most
// per page), to fn. An error from fn ends the listing and is returned as
// is; others are the SDK's. sel, when not empty, limits the properties.
func (t *Tables) list(ctx context.Context, table, filter, sel string, fn func(row) error) error {
	o := &aztables.ListEntitiesOptions{}
	if filter != "" {
		o.Filter = &filter
	}
	if sel != "" {
		o.Select = &sel
	}
	p := t.clients[table].NewListEntitiesPager(o)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, b := range page.Entities {
			r, err := parseRow(b, "")
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return &fnError{err}
			}
		}
	}
	return nil
}

// fnError marks an error returned by a caller's callback, which the
// package returns unchanged.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }
func (e *fnError) Unwrap() error { return e.err }

// listErr turns the result of list into what a method returns: the
// callback's error unchanged, errStop as nil, others wrapped for op.
func listErr(op string, err error) error {
	var fe *fnError
	if errors.As(err, &fe) {
		if errors.Is(fe.err, errStop) {
			return nil
		}
		return fe.err
	}
	return wrap(op, err)
}

// each runs fn(ctx, i) for i in [0, n) on at most t.parallel goroutines.
// The first error cancels the others' context, no further call starts,
// and that error is returned. When ctx ends before every call started, the
// calls not started are skipped and ctx's error is returned.
func (t *Tables) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.parallel)
	var stopped error
	for i := range n {
		if gctx.Err() != nil {
			stopped = ctx.Err() // nil when a call failed: Wait returns its error
			break
		}
		g.Go(func() error {
			// A call that failed, or ctx's end, while this one waited
			// for a slot: do not start it.
			if gctx.Err() != nil {
				return context.Cause(gctx)
			}
			return fn(gctx, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return stopped
}
