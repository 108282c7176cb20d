package funchost

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// minPollInterval is the queue listener's first back-off step (the
// WebJobs SDK's minimum polling interval).
const minPollInterval = 100 * time.Millisecond

// poisonSuffix names the queue failed messages end in.
const poisonSuffix = "-poison"

// runQueue polls f's queue until the host closes: it fetches up to
// batchSize messages when no more than newBatchThreshold are in flight,
// backs off exponentially (with jitter) up to maxPollingInterval while the
// queue is empty or storage fails, and runs each message in its own
// goroutine.
func (h *Host) runQueue(f *hostFunction) {
	defer h.listeners.Done()
	opts := h.app.Host.Queues
	queue := f.trigger.QueueName
	q := h.storage.queues.NewQueueClient(queue)
	ctx := h.listenCtx
	var inflight atomic.Int64
	wake := make(chan struct{}, 1)
	delay := minPollInterval
	failing := false
	sleep := func(d time.Duration) bool {
		d = d/2 + rand.N(d/2+1) // jitter, as the SDK's randomised back-off
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	backoff := func() { delay = min(2*delay, opts.MaxPollingInterval) }
	for {
		for inflight.Load() > int64(opts.NewBatchThreshold) {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
		}
		n := int32(opts.BatchSize)
		vis := int32(h.lease().Seconds())
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if queueerror.HasCode(err, queueerror.QueueNotFound) {
				h.storage.remember("queue/"+queue, false)
				if cerr := h.storage.ensureQueue(ctx, queue); cerr == nil {
					continue
				}
			}
			if !failing {
				h.log.Warn("queue poll failed: retrying with back-off", "function", f.Name, "queue", queue, "err", err)
				failing = true
			} else {
				h.log.Debug("queue poll failed", "function", f.Name, "queue", queue, "err", err)
			}
			if !sleep(delay) {
				return
			}
			backoff()
			continue
		}
		if failing {
			h.log.Info("queue poll recovered", "function", f.Name, "queue", queue)
			failing = false
		}
		if len(resp.Messages) == 0 {
			if !sleep(delay) {
				return
			}
			backoff()
			continue
		}
		delay = minPollInterval
		for _, m := range resp.Messages {
			if m == nil || m.MessageID == nil || m.PopReceipt == nil {
				continue
			}
			inflight.Add(1)
			h.inflight.Add(1)
			go func(m *azqueue.DequeuedMessage) {
				defer h.inflight.Done()
				h.processMessage(f, q, m)
				inflight.Add(-1)
				select {
				case wake <- struct{}{}:
				default:
				}
			}(m)
		}
	}
}

// lease is how long a dequeued message stays invisible while it runs: the
// function timeout plus a minute, or 10 minutes without one.
func (h *Host) lease() time.Duration {
	if t := h.app.Host.FunctionTimeout; t > 0 {
		return min(t+time.Minute, 7*24*time.Hour)
	}
	return 10 * time.Minute
}

// processMessage runs one message: success deletes it; failure makes it
// visible again after visibilityTimeout, or, at maxDequeueCount, moves it
// to <queue>-poison.
func (h *Host) processMessage(f *hostFunction, q *azqueue.QueueClient, m *azqueue.DequeuedMessage) {
	opts := h.app.Host.Queues
	ctx := h.runCtx
	queue := f.trigger.QueueName
	id, pop := *m.MessageID, *m.PopReceipt
	raw := deref(m.MessageText)
	count := int64(0)
	if m.DequeueCount != nil {
		count = *m.DequeueCount
	}
	log := h.log.With("function", f.Name, "queue", queue, "message_id", id, "dequeue_count", count)
	if count > int64(opts.MaxDequeueCount) {
		log.Warn("message dequeued more often than maxDequeueCount: moving it to the poison queue")
		h.poison(ctx, f, q, m, log)
		return
	}
	text, err := h.decodeMessage(raw)
	if err != nil {
		log.Error("undecodable message: moving it to the poison queue", "err", err)
		h.poison(ctx, f, q, m, log)
		return
	}
	md := map[string]any{
		"DequeueCount":    count,
		"Id":              id,
		"PopReceipt":      pop,
		"InsertionTime":   fmtTimePtr(m.InsertionTime),
		"ExpirationTime":  fmtTimePtr(m.ExpirationTime),
		"NextVisibleTime": fmtTimePtr(m.TimeNextVisible),
	}
	data := map[string]any{f.trigger.Name: triggerString(text)}
	_, err = h.invoke(ctx, f, data, md)
	// Settle the message even when the host is closing.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err == nil {
		if _, derr := q.DeleteMessage(sctx, id, pop, nil); derr != nil {
			log.Warn("delete after success failed: the message will run again", "err", derr)
		}
		return
	}
	if count >= int64(opts.MaxDequeueCount) {
		log.Warn("message failed maxDequeueCount times: moving it to the poison queue", "max_dequeue_count", opts.MaxDequeueCount)
		h.poison(sctx, f, q, m, log)
		return
	}
	vis := int32(opts.VisibilityTimeout / time.Second)
	if _, uerr := q.UpdateMessage(sctx, id, pop, raw, &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis}); uerr != nil {
		log.Warn("releasing the failed message failed: it returns when its lease ends", "err", uerr)
	}
}

// poison copies the message, as stored, to <queue>-poison and deletes it.
func (h *Host) poison(ctx context.Context, f *hostFunction, q *azqueue.QueueClient, m *azqueue.DequeuedMessage, log *slog.Logger) {
	target := f.trigger.QueueName + poisonSuffix
	if len(target) > 63 {
		target = target[:63]
	}
	if err := h.storage.enqueue(ctx, target, deref(m.MessageText)); err != nil {
		log.Warn("moving to the poison queue failed: the message will return", "poison_queue", target, "err", err)
		return
	}
	h.count(f.Name, func(s *FunctionStats) { s.Poisoned++ })
	if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
		log.Warn("delete after moving to the poison queue failed", "err", err)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
