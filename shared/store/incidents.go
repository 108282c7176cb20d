package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

// Rows of the incidents table: PartitionKey "incident", RowKey the
// incident id ("inc-" and 16 hex digits, a plain key); Revision, FirstSeen,
// LastCard, and Members (the member finding keys as JSON, binary).
const incidentPartition = "incident"

// maxIncidentMembers bounds the member keys one incident row keeps.
const maxIncidentMembers = 5000

// Incidents streams the stored incidents whose last card was queued at or
// after since (all of them for the zero time), ordered by id. An error
// from fn stops the stream and is returned as is.
func (t *Tables) Incidents(ctx context.Context, since time.Time, fn func(state.IncidentRecord) error) error {
	const what = "list incidents"
	filter := partitionFilter(incidentPartition)
	if since = norm(since); !since.IsZero() {
		filter += " and LastCard ge datetime'" + since.Format(timeLayout) + "'"
	}
	err := t.list(ctx, tableIncidents, filter, "", func(r row) error {
		rec, err := incidentFromRow(r)
		if err != nil {
			return &opError{op: what, err: err}
		}
		return fn(rec)
	})
	return listErr(what, err)
}

// SaveIncident stores r and returns it with its new ETag. As SaveCursor:
// ETag "" inserts (an existing row is a conflict), otherwise the row is
// replaced only if it still has r.ETag; losing either race is an error
// wrapping ErrConflict. More than 5,000 members is an error.
func (t *Tables) SaveIncident(ctx context.Context, r state.IncidentRecord) (state.IncidentRecord, error) {
	what := fmt.Sprintf("save incident %.100q", r.ID)
	if r.ID == "" || len(r.ID) > maxRawKey || !plainKey(r.ID) {
		return r, fmt.Errorf("store: save incident: invalid id %.100q", r.ID)
	}
	if len(r.Members) > maxIncidentMembers {
		return r, fmt.Errorf("store: %s: %d members, over %d", what, len(r.Members), maxIncidentMembers)
	}
	r.FirstSeen, r.LastCard = norm(r.FirstSeen), norm(r.LastCard)
	e := newEntity(incidentPartition, r.ID)
	e.int32("Revision", r.Revision)
	e.time("FirstSeen", r.FirstSeen)
	e.time("LastCard", r.LastCard)
	members, err := json.Marshal(r.Members)
	if err != nil {
		return r, &opError{op: what, err: err}
	}
	if err := e.binary("Members", members); err != nil {
		return r, &opError{op: what, err: err}
	}
	etag, err := t.saveVersioned(ctx, tableIncidents, e, r.ETag)
	if err != nil {
		return r, wrap(what, err)
	}
	r.ETag = etag
	return r, nil
}

func incidentFromRow(r row) (state.IncidentRecord, error) {
	rec := state.IncidentRecord{ID: r.str("RowKey"), Revision: r.int("Revision"), ETag: r.etag}
	b, err := r.binary("Members")
	if err != nil {
		return rec, err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &rec.Members); err != nil {
			return rec, fmt.Errorf("decode members of incident %s: %w", rec.ID, err)
		}
	}
	var errs [2]error
	rec.FirstSeen, errs[0] = r.time("FirstSeen")
	rec.LastCard, errs[1] = r.time("LastCard")
	return rec, errors.Join(errs[:]...)
}

// OpenFindingsSince streams the recorded findings that are not resolved and
// were last seen at or after since, at most max of them (the listing's
// filter runs in the service; the table is read partition by partition,
// so which max come first is by rule, then key). It reports whether it
// stopped at max with more left. An error from fn stops the stream and is
// returned as is.
func (t *Tables) OpenFindingsSince(ctx context.Context, since time.Time, max int, fn func(state.FindingRecord) error) (truncated bool, err error) {
	const what = "list recent findings"
	if max <= 0 {
		return false, fmt.Errorf("store: %s: max must be positive", what)
	}
	filter := "Status ne " + quote(string(state.FindingResolved))
	if since = norm(since); !since.IsZero() {
		filter += " and LastSeen ge datetime'" + since.Format(timeLayout) + "'"
	}
	n := 0
	err = t.list(ctx, tableFindings, filter, "", func(r row) error {
		if n == max {
			truncated = true
			return errStop
		}
		n++
		rec, err := findingFromRow(r)
		if err != nil {
			return &opError{op: what, err: err}
		}
		return fn(rec)
	})
	return truncated, listErr(what, err)
}
