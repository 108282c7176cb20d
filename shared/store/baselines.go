package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Rows of the baselines table: PartitionKey key(subject type), RowKey
// key(lower-case object id); Data holds the state.Baseline as JSON (split
// over several binary properties when large).

// maxBaselineJSON is the most baseline JSON one row holds.
const maxBaselineJSON = maxPart * maxParts

// Baselines streams every stored baseline of type typ to fn, a page at a
// time (rows sorted by object id). An error from fn stops the stream and is
// returned as is.
func (t *Tables) Baselines(ctx context.Context, typ tenant.SubjectType, fn func(state.Baseline) error) error {
	what := fmt.Sprintf("list %s baselines", typ)
	err := t.list(ctx, tableBaselines, partitionFilter(key(string(typ))), "", func(r row) error {
		b, err := baselineFromRow(r)
		if err != nil {
			return &opError{op: what, err: err}
		}
		return fn(b)
	})
	return listErr(what, err)
}

// BaselinesByID reads the baselines of type typ for ids, keyed by lower-case
// id; ids without a baseline are absent from the map.
func (t *Tables) BaselinesByID(ctx context.Context, typ tenant.SubjectType, ids []string) (map[string]state.Baseline, error) {
	what := fmt.Sprintf("read %s baselines", typ)
	want := lowerUnique(ids)
	out := make(map[string]state.Baseline, len(want))
	var mu sync.Mutex
	err := t.each(ctx, len(want), func(ctx context.Context, i int) error {
		r, ok, err := t.get(ctx, tableBaselines, key(string(typ)), key(want[i]))
		if err != nil || !ok {
			return err
		}
		b, err := baselineFromRow(r)
		if err != nil {
			return &opError{op: fmt.Sprintf("%s: %s", what, want[i]), err: err}
		}
		mu.Lock()
		out[want[i]] = b
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, wrap(what, err)
	}
	return out, nil
}

// lowerUnique returns the non-empty ids lower-cased, without duplicates,
// in first-seen order.
func lowerUnique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.ToLower(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

func baselineFromRow(r row) (state.Baseline, error) {
	data, err := r.binary("Data")
	if err != nil {
		return state.Baseline{}, err
	}
	var b state.Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return state.Baseline{}, fmt.Errorf("decode baseline %s: %w", r.str("RowKey"), err)
	}
	return b, nil
}

// PutBaselines stores bs, replacing earlier baselines of the same objects
// (type and case-insensitive id; the last of duplicates wins). Rows are
// written in transactions of up to 100 per type. A baseline whose JSON
// exceeds what one row holds (about 700 kB, far beyond any real object)
// keeps as many reply URLs, then disabled plans, as fit; the row is marked
// Truncated and a warning logged.
func (t *Tables) PutBaselines(ctx context.Context, bs []state.Baseline) error {
	const what = "put baselines"
	byType := make(map[tenant.SubjectType][]op)
	index := make(map[string]int) // type/id → position in byType[type]
	for _, b := range bs {
		if b.Type == "" || b.ID == "" {
			return fmt.Errorf("store: %s: baseline without type or id (%q, %q)", what, b.Type, b.ID)
		}
		e, err := t.baselineEntity(b)
		if err != nil {
			return fmt.Errorf("store: %s: %s %s: %w", what, b.Type, b.ID, err)
		}
		k := string(b.Type) + "/" + strings.ToLower(b.ID)
		if i, dup := index[k]; dup {
			byType[b.Type][i] = upsertOp(e)
			continue
		}
		index[k] = len(byType[b.Type])
		byType[b.Type] = append(byType[b.Type], upsertOp(e))
	}
	types := make([]tenant.SubjectType, 0, len(byType))
	for typ := range byType {
		types = append(types, typ)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, typ := range types {
		if err := t.submitOrEach(ctx, tableBaselines, byType[typ], t.single); err != nil {
			return wrap(fmt.Sprintf("%s of type %s", what, typ), err)
		}
	}
	return nil
}

// baselineEntity encodes b as its row, trimming it when too large.
func (t *Tables) baselineEntity(b state.Baseline) (entity, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	truncated := false
	if len(data) > maxBaselineJSON {
		data, err = trimBaseline(b)
		if err != nil {
			return nil, err
		}
		truncated = true
		t.log.Warn("baseline too large for one row: trimmed", "type", b.Type, "id", b.ID,
			"replyUrls", len(b.ReplyURLs), "disabledPlans", len(b.DisabledPlans))
	}
	e := newEntity(key(string(b.Type)), key(strings.ToLower(b.ID)))
	e.str("Type", string(b.Type))
	e.str("ID", b.ID)
	e.boolean("Truncated", truncated)
	if err := e.binary("Data", data); err != nil {
		return nil, err
	}
	return e, nil
}

// trimBaseline keeps as many reply URLs (then disabled plans) as fit, in
// their order; credentials are never dropped: an error if they alone do
// not fit.
func trimBaseline(b state.Baseline) ([]byte, error) {
	fits := func(c state.Baseline) ([]byte, bool) {
		d, err := json.Marshal(c)
		return d, err == nil && len(d) <= maxBaselineJSON
	}
	c := b
	c.ReplyURLs = nil
	c.DisabledPlans = nil
	if _, ok := fits(c); !ok {
		return nil, errors.New("baseline credentials alone exceed one row")
	}
	// Largest n of reply URLs that fits, then of disabled plans.
	n := sort.Search(len(b.ReplyURLs)+1, func(n int) bool {
		c.ReplyURLs = b.ReplyURLs[:n]
		_, ok := fits(c)
		return !ok
	}) - 1
	c.ReplyURLs = b.ReplyURLs[:n]
	if n == len(b.ReplyURLs) {
		m := sort.Search(len(b.DisabledPlans)+1, func(m int) bool {
			c.DisabledPlans = b.DisabledPlans[:m]
			_, ok := fits(c)
			return !ok
		}) - 1
		c.DisabledPlans = b.DisabledPlans[:m]
	}
	d, _ := fits(c)
	return d, nil
}

// DeleteBaselines deletes the baselines of type typ for ids, in
// transactions of up to 100; ids without a baseline are ignored.
func (t *Tables) DeleteBaselines(ctx context.Context, typ tenant.SubjectType, ids []string) error {
	want := lowerUnique(ids)
	ops := make([]op, len(want))
	for i, id := range want {
		ops[i] = deleteOp(key(string(typ)), key(id), "")
	}
	return wrap(fmt.Sprintf("delete %s baselines", typ), t.submitOrEach(ctx, tableBaselines, ops, t.single))
}
