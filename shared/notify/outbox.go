package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// OutboxStore persists outbox items. It is declared here, by its consumer;
// the Table Storage adapter (shared/store) is meant to satisfy it.
type OutboxStore interface {
	// EnqueueOutbox stores new items and returns them as stored.
	EnqueueOutbox(ctx context.Context, items []state.OutboxItem) ([]state.OutboxItem, error)
}

// OutboxOptions configures an Outbox. A nil *OutboxOptions means the
// defaults.
type OutboxOptions struct {
	// Threshold is the lowest severity that gets a card of its own; findings
	// below it share one digest item. Default (zero or invalid):
	// tenant.SeverityHigh.
	Threshold tenant.Severity
	// Card configures the cards (report URL, tenant name). Its Now defaults
	// to the Outbox's Now.
	Card *CardOptions
	// Now stamps Created and NextAttempt (default time.Now; stored in UTC).
	Now    func() time.Time
	Logger *slog.Logger // default: discard
}

// Outbox turns new findings into outbox items, the durable queue that
// Deliver posts to Teams. It is the notify sink of the pipeline.
type Outbox struct {
	st        OutboxStore
	threshold tenant.Severity
	card      CardOptions
	now       func() time.Time
	log       *slog.Logger
}

// NewOutbox returns an Outbox that stores items in st. Pass nil opts for
// the defaults.
func NewOutbox(st OutboxStore, opts *OutboxOptions) *Outbox {
	var o OutboxOptions
	if opts != nil {
		o = *opts
	}
	if !o.Threshold.Valid() {
		o.Threshold = tenant.SeverityHigh
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	card := o.Card.withDefaults()
	if o.Card == nil || o.Card.Now == nil {
		card.Now = o.Now
	}
	return &Outbox{st: st, threshold: o.Threshold, card: card, now: o.Now, log: o.Logger}
}

// Add enqueues the new findings fs: one OutboxCard item (FindingKeys =
// [Key]) per finding at or above the threshold, in the order given, then,
// if any finding is below it (or has an invalid severity), one OutboxDigest
// item "N new lower-severity findings" listing them all in FindingKeys. It
// builds every payload before storing anything and stores all items in one
// EnqueueOutbox call, returning what the store returned. Nothing is stored
// when fs is empty. Errors wrap the card builder's or the store's.
func (o *Outbox) Add(ctx context.Context, fs []tenant.Finding) ([]state.OutboxItem, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	now := o.now().UTC()
	var items []state.OutboxItem
	var low []tenant.Finding
	for _, f := range fs {
		if !f.Severity.Valid() || f.Severity < o.threshold {
			low = append(low, f)
			continue
		}
		b, err := FindingCard(f, &o.card)
		if err != nil {
			return nil, fmt.Errorf("notify: card for finding %s: %w", f.Key, err)
		}
		items = append(items, newItem(now, len(items), state.OutboxCard, []string{f.Key}, b))
	}
	if len(low) > 0 {
		title := fmt.Sprintf("%d new lower-severity findings", len(low))
		if len(low) == 1 {
			title = "1 new lower-severity finding"
		}
		b, err := DigestCard(Digest{Title: title, Generated: now, Findings: low}, &o.card)
		if err != nil {
			return nil, fmt.Errorf("notify: digest card: %w", err)
		}
		keys := make([]string, 0, len(low))
		for _, f := range low {
			keys = append(keys, f.Key)
		}
		items = append(items, newItem(now, len(items), state.OutboxDigest, keys, b))
	}
	return o.enqueue(ctx, items)
}

// AlertPolicy says, in one sentence for a digest's note, which new findings
// get a card of their own under threshold (the Outbox's Threshold,
// TENANTWATCH_ALERT_SEVERITY; invalid means the default, high) and that the
// others arrive grouped in a digest: what Add does.
func AlertPolicy(threshold tenant.Severity) string {
	if !threshold.Valid() {
		threshold = tenant.SeverityHigh
	}
	if threshold == tenant.SeverityInfo {
		return "From now on, every new finding gets a card of its own."
	}
	var at []string
	for s := threshold; s <= tenant.SeverityCritical; s++ {
		at = append(at, s.String())
	}
	list := at[len(at)-1]
	if len(at) > 1 {
		list = strings.Join(at[:len(at)-1], ", ") + " or " + list
	}
	return "From now on, each new " + list + " finding gets a card of its own; less severe ones arrive grouped in a digest."
}

// AddDigest enqueues one OutboxDigest item carrying d's card, with the keys
// of d.Findings as FindingKeys (all of them, including findings the card
// has no room for). Errors wrap the card builder's or the store's.
func (o *Outbox) AddDigest(ctx context.Context, d Digest) ([]state.OutboxItem, error) {
	now := o.now().UTC()
	b, err := DigestCard(d, &o.card)
	if err != nil {
		return nil, fmt.Errorf("notify: digest card: %w", err)
	}
	var keys []string
	for _, f := range d.Findings {
		keys = append(keys, f.Key)
	}
	return o.enqueue(ctx, []state.OutboxItem{newItem(now, 0, state.OutboxDigest, keys, b)})
}

// IncidentItemID is state.IncidentItemID: the outbox item ID of revision
// rev of incident id's cards.
func IncidentItemID(id string, rev int) string { return state.IncidentItemID(id, rev) }

// AddIncident enqueues the card of revision n.Revision of n.Incident — its
// first card (IncidentCard) for revision 1, a follow-up (FollowUpCard)
// after — as one OutboxIncident item with ID IncidentItemID and
// FindingKeys n.New, the findings it announces. The store refuses an ID it
// holds already: the error then wraps the store's conflict error
// (tenant.ErrConflict for shared/store).
func (o *Outbox) AddIncident(ctx context.Context, n IncidentNote) (state.OutboxItem, error) {
	if n.Incident.ID == "" || n.Revision < 1 {
		return state.OutboxItem{}, fmt.Errorf("notify: incident card: want an incident id and a revision from 1, got %q r%d", n.Incident.ID, n.Revision)
	}
	build := IncidentCard
	if n.Revision > 1 {
		build = FollowUpCard
	}
	b, err := build(n, &o.card)
	if err != nil {
		return state.OutboxItem{}, fmt.Errorf("notify: card for incident %s: %w", n.Incident.ID, err)
	}
	it := newItem(o.now().UTC(), 0, state.OutboxIncident, n.New, b)
	it.ID = IncidentItemID(n.Incident.ID, n.Revision)
	stored, err := o.enqueue(ctx, []state.OutboxItem{it})
	if err != nil {
		return state.OutboxItem{}, err
	}
	return stored[0], nil
}

func (o *Outbox) enqueue(ctx context.Context, items []state.OutboxItem) ([]state.OutboxItem, error) {
	stored, err := o.st.EnqueueOutbox(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("notify: enqueue %d outbox items: %w", len(items), err)
	}
	o.log.Info("outbox items enqueued", "items", len(items))
	return stored, nil
}

// newItem is a pending item due now. Its ID sorts by creation time: UTC
// time to the nanosecond, the item's index in its batch, and 8 random hex
// digits so that two invocations never collide
// ("20240501T023000.000000000Z-000003-1a2b3c4d"). It contains only
// characters Table Storage allows in a RowKey.
func newItem(now time.Time, i int, kind state.OutboxKind, keys []string, payload []byte) state.OutboxItem {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	id := fmt.Sprintf("%s-%06d-%s", now.Format("20060102T150405.000000000Z"), i, hex.EncodeToString(r[:]))
	return state.OutboxItem{ID: id, Kind: kind, FindingKeys: keys, Payload: payload, Created: now, NextAttempt: now}
}
