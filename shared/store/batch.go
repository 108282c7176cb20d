package store

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Entity group transaction limits: 100 operations and 4 MiB per request,
// all in one partition.
const (
	maxBatchOps   = 100
	maxBatchBytes = 3 << 20 // leaves room for the multipart framing
)

// op is one operation of a transaction.
type op struct {
	kind aztables.TransactionType
	pk   string
	rk   string
	body []byte // the marshalled entity
	etag string // If-Match for updates and deletes ("" = any)
}

func addOp(e entity) op { return newOp(aztables.TransactionTypeAdd, e, "") }

func upsertOp(e entity) op { return newOp(aztables.TransactionTypeInsertReplace, e, "") }

func replaceOp(e entity, etag string) op {
	return newOp(aztables.TransactionTypeUpdateReplace, e, etag)
}

func mergeOp(e entity, etag string) op {
	return newOp(aztables.TransactionTypeUpdateMerge, e, etag)
}

func deleteOp(pk, rk, etag string) op {
	return newOp(aztables.TransactionTypeDelete, newEntity(pk, rk), etag)
}

func newOp(kind aztables.TransactionType, e entity, etag string) op {
	return op{kind: kind, pk: e["PartitionKey"].(string), rk: e["RowKey"].(string), body: e.marshal(), etag: etag}
}

// chunks splits ops of one partition into transactions: at most 100
// operations and maxBatchBytes of entities each.
func chunks(ops []op) [][]op {
	var out [][]op
	start, size := 0, 0
	for i, o := range ops {
		if i > start && (i-start == maxBatchOps || size+len(o.body) > maxBatchBytes) {
			out = append(out, ops[start:i])
			start, size = i, 0
		}
		size += len(o.body)
	}
	if start < len(ops) {
		out = append(out, ops[start:])
	}
	return out
}

// submit runs ops of one partition as transactions of at most 100. A
// transaction either applies whole or not at all; when one fails because an
// operation in it failed (a conflict, a missing row), it returns that error
// for the caller to decide, with done = the operations applied before it.
func (t *Tables) submit(ctx context.Context, table string, ops []op) (done int, err error) {
	for _, c := range chunks(ops) {
		actions := make([]aztables.TransactionAction, len(c))
		for i, o := range c {
			actions[i] = aztables.TransactionAction{ActionType: o.kind, Entity: o.body}
			if o.kind != aztables.TransactionTypeAdd && o.kind != aztables.TransactionTypeInsertReplace {
				actions[i].IfMatch = etagPtr(o.etag)
			}
		}
		if _, err := t.clients[table].SubmitTransaction(ctx, actions, nil); err != nil {
			return done, err
		}
		done += len(c)
	}
	return done, nil
}

// submitChunks runs ops of one partition as transactions and reports
// which operations belong to a transaction that failed because of one of
// its operations (refused[i]); those were not applied. Any other failure
// is returned.
func (t *Tables) submitChunks(ctx context.Context, table string, ops []op) (refused []bool, err error) {
	refused = make([]bool, len(ops))
	start := 0
	for _, c := range chunks(ops) {
		if _, err := t.submit(ctx, table, c); err != nil {
			if !isBatchEntityFailure(err) {
				return refused, err
			}
			for i := range c {
				refused[start+i] = true
			}
			t.log.Debug("transaction refused", "table", t.names[table], "ops", len(c), "err", causeText(err))
		}
		start += len(c)
	}
	return refused, nil
}

// submitOrEach runs ops as transactions; when a transaction fails because
// of one of its operations, it runs that transaction's operations one by
// one with single, which decides what an individual failure means.
func (t *Tables) submitOrEach(ctx context.Context, table string, ops []op, single func(ctx context.Context, table string, o op) error) error {
	for _, c := range chunks(ops) {
		_, err := t.submit(ctx, table, c)
		if err == nil {
			continue
		}
		if !isBatchEntityFailure(err) {
			return err
		}
		t.log.Debug("transaction failed on one operation; applying one by one", "table", t.names[table], "ops", len(c), "err", causeText(err))
		if err := t.each(ctx, len(c), func(ctx context.Context, i int) error { return single(ctx, table, c[i]) }); err != nil {
			return err
		}
	}
	return nil
}

var (
	innerStatus = regexp.MustCompile(`HTTP/1\.1 (\d{3})`)
	innerCode   = regexp.MustCompile(`"code"\s*:\s*"([A-Za-z]+)"`)
)

// batchFailure returns the status and error code of the operation that
// failed inside a transaction (the service answers 202 and reports it in
// the multipart body), or ok false when err is not such a failure.
func batchFailure(err error) (status int, code string, ok bool) {
	re := responseError(err)
	if re == nil || re.StatusCode != http.StatusAccepted || re.RawResponse == nil {
		return 0, "", false
	}
	body, perr := runtime.Payload(re.RawResponse)
	if perr != nil {
		return 0, "", false
	}
	if m := innerStatus.FindSubmatch(body); m != nil {
		status, _ = strconv.Atoi(string(m[1]))
	}
	if m := innerCode.FindSubmatch(body); m != nil {
		code = string(m[1])
	}
	return status, code, true
}

// isBatchEntityFailure reports a transaction refused because of one of its
// operations (4xx inside a 202), as opposed to the request failing.
func isBatchEntityFailure(err error) bool {
	status, _, ok := batchFailure(err)
	return ok && (status == 0 || (status >= 400 && status < 500))
}

// single applies one operation on its own: inserts and replacements as
// they are, deletes ignoring a missing row.
func (t *Tables) single(ctx context.Context, table string, o op) error {
	c := t.clients[table]
	var err error
	switch o.kind {
	case aztables.TransactionTypeAdd:
		_, err = c.AddEntity(ctx, o.body, nil)
	case aztables.TransactionTypeInsertReplace:
		_, err = c.UpsertEntity(ctx, o.body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	case aztables.TransactionTypeUpdateReplace:
		_, err = c.UpdateEntity(ctx, o.body, &aztables.UpdateEntityOptions{IfMatch: etagPtr(o.etag), UpdateMode: aztables.UpdateModeReplace})
	case aztables.TransactionTypeDelete:
		return t.del(ctx, table, o.pk, o.rk, o.etag)
	default:
		return fmt.Errorf("unsupported operation %s", o.kind)
	}
	return err
}
