package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Rows of the findings table: PartitionKey key(Finding.Rule), RowKey
// key(Finding.Key) (base64url of the key, or its SHA-256 when long); Key
// repeats the original key when it is at most maxKeyProperty bytes, Finding
// holds the finding as JSON, Status/FirstSeen/LastSeen the record, Nonce
// the random token of the call that last inserted or re-opened the row.

const (
	// maxFindingJSON caps a stored finding (one binary property).
	maxFindingJSON = maxPart
	// maxKeyProperty is the longest key copied into the Key property.
	maxKeyProperty = 8 << 10
	// maxAttempts bounds optimistic-concurrency retries of one row.
	maxAttempts = 8
)

// EvidenceDropped is the evidence key that replaces a finding's evidence
// when the finding's JSON would exceed the 64 KiB a table property holds;
// its value says how many bytes were dropped.
const EvidenceDropped = "evidenceDropped"

// RecordFindings records fs with status and returns those that are new, in
// input order. What recording does to each stored record is
// state.DecideDedupe's decision, applied under the record's ETag: absent
// from the store, it is stored with FirstSeen = LastSeen = now; stored as
// state.FindingResolved, it is re-opened with status, keeping FirstSeen;
// both are new. A finding already recorded otherwise only gets LastSeen =
// now and is not returned. Findings are matched by Key; a key
// repeated in fs counts once. When two calls record the same new finding
// at the same time, exactly one of them returns it. The stored finding's
// JSON is capped at 64 KiB: larger evidence is replaced by
// {EvidenceDropped: …}. From bulkFindings findings of one rule on, the
// rule's rows are read in one listing and written in transactions.
func (t *Tables) RecordFindings(ctx context.Context, fs []tenant.Finding, status state.FindingStatus, now time.Time) ([]tenant.Finding, error) {
	const what = "record findings"
	if status == "" {
		return nil, fmt.Errorf("store: %s: empty status", what)
	}
	now = norm(now)
	r := &recorder{t: t, status: status, now: now, nonce: newNonce()}
	seen := make(map[string]bool, len(fs))
	byRule := make(map[string][]int) // partition → indices into r.fs
	var rules []string
	for i, f := range fs {
		if f.Key == "" || f.Rule == "" {
			return nil, fmt.Errorf("store: %s: finding %d has no key or rule", what, i)
		}
		if seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		data, err := t.findingJSON(f)
		if err != nil {
			return nil, &opError{op: fmt.Sprintf("record finding %.200q", f.Key), err: err}
		}
		pk := key(f.Rule)
		if _, ok := byRule[pk]; !ok {
			rules = append(rules, pk)
		}
		byRule[pk] = append(byRule[pk], len(r.fs))
		r.fs = append(r.fs, f)
		r.data = append(r.data, data)
	}
	r.isNew = make([]bool, len(r.fs))
	var single []int
	for _, pk := range rules {
		idx := byRule[pk]
		if len(idx) < bulkFindings {
			single = append(single, idx...)
			continue
		}
		rest, err := r.bulk(ctx, pk, idx)
		if err != nil {
			return nil, wrap(what, err)
		}
		single = append(single, rest...)
	}
	err := t.each(ctx, len(single), func(ctx context.Context, j int) error {
		n, err := r.one(ctx, single[j])
		r.isNew[single[j]] = n
		return err
	})
	if err != nil {
		return nil, wrap(what, err)
	}
	var fresh []tenant.Finding
	for i, f := range r.fs {
		if r.isNew[i] {
			fresh = append(fresh, f)
		}
	}
	return fresh, nil
}

// bulkFindings is the number of findings of one rule from which
// RecordFindings lists the rule's rows instead of reading them one by one.
const bulkFindings = 50

// recorder is one RecordFindings call.
type recorder struct {
	t      *Tables
	status state.FindingStatus
	now    time.Time
	nonce  string // marks the rows this call inserted or re-opened
	fs     []tenant.Finding
	data   [][]byte // fs[i] as stored JSON
	isNew  []bool
}

// entity is the full row of fs[i].
func (r *recorder) entity(i int, firstSeen time.Time) entity {
	f := r.fs[i]
	e := newEntity(key(f.Rule), key(f.Key))
	e.str("Rule", f.Rule)
	if len(f.Key) <= maxKeyProperty {
		e.str("Key", f.Key)
	}
	e.str("Status", string(r.status))
	e.time("FirstSeen", firstSeen)
	e.time("LastSeen", r.now)
	e.str("Nonce", r.nonce)
	_ = e.binary("Finding", r.data[i]) // fits one property: findingJSON
	return e
}

// bulk records the findings idx of partition pk from one listing of the
// partition: absent ones inserted, seen ones' LastSeen merged, both in
// transactions. It returns the findings left to record one by one: those
// stored as resolved and those of a transaction that a concurrent change
// refused.
func (r *recorder) bulk(ctx context.Context, pk string, idx []int) ([]int, error) {
	type listed struct {
		status, etag string
		last         time.Time
	}
	stored := make(map[string]listed)
	err := r.t.list(ctx, tableFindings, partitionFilter(pk), "RowKey,Status,LastSeen", func(w row) error {
		last, err := w.time("LastSeen")
		if err != nil {
			return &opError{op: "list findings of " + pk, err: err}
		}
		stored[w.str("RowKey")] = listed{w.str("Status"), w.etag, last}
		return nil
	})
	if err := listErr("list findings of "+pk, err); err != nil {
		return nil, err
	}
	var single, addIdx, mergeIdx []int
	var adds, merges []op
	for _, i := range idx {
		rk := key(r.fs[i].Key)
		var rec *state.FindingRecord
		s, ok := stored[rk]
		if ok {
			rec = &state.FindingRecord{Status: state.FindingStatus(s.status), LastSeen: s.last}
		}
		switch state.DecideDedupe(rec, r.now) {
		case state.DedupeInsert:
			addIdx, adds = append(addIdx, i), append(adds, addOp(r.entity(i, r.now)))
		case state.DedupeReopen:
			single = append(single, i) // keeps FirstSeen, which the listing did not read
		case state.DedupeTouch:
			e := newEntity(pk, rk)
			e.time("LastSeen", r.now)
			mergeIdx, merges = append(mergeIdx, i), append(merges, mergeOp(e, s.etag))
		}
	}
	refused, err := r.t.submitChunks(ctx, tableFindings, adds)
	if err != nil {
		return nil, err
	}
	for j, i := range addIdx {
		if refused[j] {
			single = append(single, i)
		} else {
			r.isNew[i] = true
		}
	}
	refused, err = r.t.submitChunks(ctx, tableFindings, merges)
	if err != nil {
		return nil, err
	}
	for j, i := range mergeIdx {
		if refused[j] {
			single = append(single, i)
		}
	}
	return single, nil
}

// one records fs[i] on its own and reports whether it was new.
func (r *recorder) one(ctx context.Context, i int) (bool, error) {
	f := r.fs[i]
	pk, rk := key(f.Rule), key(f.Key)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		w, ok, err := r.t.get(ctx, tableFindings, pk, rk)
		if err != nil {
			return false, err
		}
		if ok && w.str("Nonce") == r.nonce {
			// This call inserted or re-opened it, although an answer said
			// otherwise (a retried request, a transaction retried after
			// its answer was lost).
			return true, nil
		}
		var rec *state.FindingRecord
		if ok {
			rec = &state.FindingRecord{Status: state.FindingStatus(w.str("Status"))}
			rec.LastSeen, _ = w.time("LastSeen")
		}
		switch state.DecideDedupe(rec, r.now) {
		case state.DedupeInsert:
			_, err = r.t.add(ctx, tableFindings, r.entity(i, r.now))
		case state.DedupeReopen:
			first, terr := w.time("FirstSeen")
			if terr != nil || first.IsZero() {
				first = r.now
			}
			_, err = r.t.replace(ctx, tableFindings, r.entity(i, first), w.etag)
		case state.DedupeTouch:
			e := newEntity(pk, rk)
			e.time("LastSeen", r.now)
			if _, err = r.t.merge(ctx, tableFindings, e, w.etag); err == nil {
				return false, nil
			}
		default: // DedupeKeep
			return false, nil
		}
		if err == nil {
			return true, nil
		}
		if !isStatus(err, 404, 409, 412) {
			return false, err
		}
		r.t.log.Debug("finding changed concurrently; retrying", "key", truncateText(f.Key, 200), "attempt", attempt+1)
	}
	return false, wrapAs(fmt.Sprintf("record finding %.200q: gave up after %d attempts", f.Key, maxAttempts), ErrConflict, nil)
}

// findingJSON encodes f for storage, dropping its evidence (and then
// shortening its title and subject name) when the JSON exceeds one
// property.
func (t *Tables) findingJSON(f tenant.Finding) ([]byte, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	if len(data) <= maxFindingJSON {
		return data, nil
	}
	c := f
	c.Evidence = map[string]any{EvidenceDropped: fmt.Sprintf("%d bytes of evidence dropped: over the 64 KiB table property limit", len(data))}
	t.log.Warn("finding too large to store whole: evidence dropped", "rule", f.Rule, "key", truncateText(f.Key, 200), "bytes", len(data))
	if data, err = json.Marshal(c); err == nil && len(data) <= maxFindingJSON {
		return data, nil
	}
	c.Title = truncateText(c.Title, 1024)
	c.Subject.Name = truncateText(c.Subject.Name, 1024)
	if len(c.MITRE) > 32 {
		c.MITRE = c.MITRE[:32]
	}
	if data, err = json.Marshal(c); err == nil && len(data) <= maxFindingJSON {
		return data, nil
	}
	return nil, fmt.Errorf("finding of %d bytes does not fit a row even without evidence", len(data))
}

// truncateText cuts s to at most n bytes at a rune boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func newNonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func findingFromRow(r row) (state.FindingRecord, error) {
	data, err := r.binary("Finding")
	if err != nil {
		return state.FindingRecord{}, err
	}
	var rec state.FindingRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&rec.Finding); err != nil {
		return state.FindingRecord{}, fmt.Errorf("decode finding %s: %w", r.str("RowKey"), err)
	}
	var err1, err2 error
	rec.FirstSeen, err1 = r.time("FirstSeen")
	rec.LastSeen, err2 = r.time("LastSeen")
	rec.Status = state.FindingStatus(r.str("Status"))
	rec.ETag = r.etag
	return rec, errors.Join(err1, err2)
}

// SetFindingStatus sets the status of the recorded findings with keys.
// Keys that are not recorded are ignored.
func (t *Tables) SetFindingStatus(ctx context.Context, keys []string, status state.FindingStatus) error {
	const what = "set finding status"
	if status == "" {
		return fmt.Errorf("store: %s: empty status", what)
	}
	keys = unique(keys)
	err := t.each(ctx, len(keys), func(ctx context.Context, i int) error {
		return t.setStatus(ctx, keys[i], status)
	})
	return wrap(what, err)
}

func (t *Tables) setStatus(ctx context.Context, k string, status state.FindingStatus) error {
	rk := key(k)
	pk, found, err := t.findingPartition(ctx, k)
	if err != nil || !found {
		if err == nil {
			t.log.Debug("status of an unrecorded finding not set", "key", k)
		}
		return err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, ok, err := t.get(ctx, tableFindings, pk, rk)
		if err != nil || !ok {
			return err
		}
		if r.str("Status") == string(status) {
			return nil
		}
		e := newEntity(pk, rk)
		e.str("Status", string(status))
		_, err = t.merge(ctx, tableFindings, e, r.etag)
		if err == nil || isEntityNotFound(err) {
			return nil
		}
		if !isStatus(err, 412) {
			return err
		}
	}
	return wrapAs(fmt.Sprintf("set status of finding %.200q: gave up after %d attempts", k, maxAttempts), ErrConflict, nil)
}

// findingPartition finds the partition (rule) of a recorded key: first the
// rule the key starts with ("rule:…", as the detectors build keys), else a
// query across partitions.
func (t *Tables) findingPartition(ctx context.Context, k string) (string, bool, error) {
	rk := key(k)
	if rule, _, ok := strings.Cut(k, ":"); ok && rule != "" {
		_, found, err := t.get(ctx, tableFindings, key(rule), rk)
		if err != nil || found {
			return key(rule), found, err
		}
	}
	var pk string
	err := t.list(ctx, tableFindings, "RowKey eq "+quote(rk), "PartitionKey,RowKey", func(r row) error {
		pk = r.str("PartitionKey")
		return errStop
	})
	if err = listErr("find finding", err); err != nil {
		return "", false, err
	}
	return pk, pk != "", nil
}

func unique(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Findings streams every recorded finding to fn (ordered by rule, then by
// encoded key). An error from fn stops the stream and is returned as is.
func (t *Tables) Findings(ctx context.Context, fn func(state.FindingRecord) error) error {
	const what = "list findings"
	err := t.list(ctx, tableFindings, "", "", func(r row) error {
		rec, err := findingFromRow(r)
		if err != nil {
			return &opError{op: what, err: err}
		}
		return fn(rec)
	})
	return listErr(what, err)
}

// RecentFindings streams the recorded findings of rules last seen at or
// after since: one query per rule, on its partition (a rule ending in "*"
// is a prefix: "mfa.*" reads every partition from "mfa." up to the next
// prefix), never the whole table. The cross-poll joins read it.
func (t *Tables) RecentFindings(ctx context.Context, rules []string, since time.Time, fn func(state.FindingRecord) error) error {
	const what = "list recent findings"
	stamp := "LastSeen ge datetime'" + norm(since).Format(timeLayout) + "'"
	for _, rule := range unique(rules) {
		var filter string
		if prefix, ok := strings.CutSuffix(rule, "*"); ok {
			if prefix == "" || !plainKey(prefix) {
				return fmt.Errorf("store: %s: rule prefix %q is not a plain key", what, rule)
			}
			// The partitions of plain rule ids are the ids themselves; the
			// next prefix is the last byte incremented.
			next := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
			filter = "PartitionKey ge " + quote(prefix) + " and PartitionKey lt " + quote(next)
		} else {
			filter = partitionFilter(key(rule))
		}
		err := t.list(ctx, tableFindings, filter+" and "+stamp, "", func(r row) error {
			rec, err := findingFromRow(r)
			if err != nil {
				return &opError{op: what, err: err}
			}
			return fn(rec)
		})
		if err := listErr(what, err); err != nil {
			return err
		}
	}
	return nil
}

// ResolveFindings marks as state.FindingResolved every recorded finding of
// rules that is not already resolved, whose key is not in seen and that was
// not seen after now (a concurrent round may have recorded it since the
// sweep began): state.Resolves decides, under each record's ETag. It
// returns how many it resolved.
func (t *Tables) ResolveFindings(ctx context.Context, rules []string, seen map[string]bool, now time.Time) (int, error) {
	const what = "resolve findings"
	now = norm(now)
	type target struct{ pk, rk string }
	var targets []target
	stale := func(r row) (bool, error) {
		if r.str("Status") == string(state.FindingResolved) {
			return false, nil // not decoded: resolved is never resolved again
		}
		rec, err := findingFromRow(r)
		if err != nil {
			return false, err
		}
		return state.Resolves(rec, seen[rec.Finding.Key], now), nil
	}
	for _, rule := range unique(rules) {
		filter := partitionFilter(key(rule)) + " and Status ne " + quote(string(state.FindingResolved))
		err := t.list(ctx, tableFindings, filter, "", func(r row) error {
			ok, err := stale(r)
			if ok {
				targets = append(targets, target{r.str("PartitionKey"), r.str("RowKey")})
			}
			return err
		})
		if err != nil {
			return 0, listErr(what, err)
		}
	}
	var (
		mu sync.Mutex
		n  int
	)
	err := t.each(ctx, len(targets), func(ctx context.Context, i int) error {
		tg := targets[i]
		for attempt := 0; attempt < maxAttempts; attempt++ {
			r, ok, err := t.get(ctx, tableFindings, tg.pk, tg.rk)
			if err != nil || !ok {
				return err
			}
			if ok, err := stale(r); err != nil || !ok {
				return err
			}
			e := newEntity(tg.pk, tg.rk)
			e.str("Status", string(state.FindingResolved))
			_, err = t.merge(ctx, tableFindings, e, r.etag)
			if err == nil {
				mu.Lock()
				n++
				mu.Unlock()
				return nil
			}
			if isEntityNotFound(err) {
				return nil
			}
			if !isStatus(err, 412) {
				return err
			}
		}
		return wrapAs("resolve finding: gave up after retries", ErrConflict, nil)
	})
	return n, wrap(what, err)
}
