package watch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// failingSave is an incident store whose SaveIncident fails while fail is
// set (the storage refused the write after the card was queued).
type failingSave struct {
	watch.IncidentStore
	mu   sync.Mutex
	fail bool
}

func (f *failingSave) set(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *failingSave) SaveIncident(ctx context.Context, r state.IncidentRecord) (state.IncidentRecord, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return r, errors.New("injected: incident record not stored")
	}
	return f.IncidentStore.SaveIncident(ctx, r)
}

// TestIncidentCards plays three steps of the takeover on Azurite and the
// simulated tenant. The first makes an incident of its new findings and
// what installation recorded: one incident card, not the findings' own
// (its second round, the sign-in, adds a follow-up). The next two join it:
// follow-ups under the same incident id, naming only their new steps. The
// second's record is not stored (injected): the third finds that revision
// taken in the outbox and takes the next, so no card is queued twice, none
// is lost and no finding is carded twice.
func TestIncidentCards(t *testing.T) {
	t.Parallel()
	fs := &failingSave{}
	e := newEnv(t, envOptions{NoWebhooks: true, Incidents: func(s watch.IncidentStore) watch.IncidentStore {
		fs.IncidentStore = s
		return fs
	}})
	ctx := t.Context()
	e.install()
	e.must("PollSignIns", e.app.PollSignIns(ctx)) // its baseline

	poll := func(step string) graphsim.AttackResult {
		t.Helper()
		e.clk.Advance(2 * time.Minute)
		res := e.attack(step)
		e.clk.Advance(2 * time.Minute)
		e.must("PollDirectory", e.app.PollDirectory(ctx))
		e.must("PollSignIns", e.app.PollSignIns(ctx))
		return res
	}
	incidentItems := func() []state.OutboxItem {
		var out []state.OutboxItem
		for _, it := range e.outbox() {
			if it.Kind == state.OutboxIncident {
				out = append(out, it)
			}
		}
		return out
	}

	first := poll(apt29.StepDormantTakeover) // two rounds: the registration, then the sign-in
	items := incidentItems()
	if len(items) == 0 || !strings.HasSuffix(items[0].ID, "-r0001") {
		t.Fatalf("after %s: incident items %v, want a first card (-r0001)", first.Step, ids(items))
	}
	id := strings.TrimSuffix(items[0].ID, "-r0001")
	afterFirst := len(items)

	fs.set(true)
	second := poll(apt29.StepSPBackdoor)
	fs.set(false)
	if !strings.Contains(e.logs.String(), "incident card queued but its record not stored") {
		t.Fatal("the injected failure did not happen: the test does not exercise a record left behind")
	}
	afterSecond := len(incidentItems())
	third := poll(apt29.StepReplyURL)

	items = incidentItems()
	var want []string
	for i := range items {
		want = append(want, fmt.Sprintf("%s-r%04d", id, i+1))
	}
	if got := ids(items); strings.Join(got, " ") != strings.Join(want, " ") || afterSecond == afterFirst || len(items) == afterSecond {
		t.Fatalf("incident items %v (%d after the first step, %d after the second), want %v: one incident, a first card, then a follow-up per round that adds steps",
			got, afterFirst, afterSecond, want)
	}
	// Each expected finding at or above the alert severity is carried by
	// exactly one outbox item (alerted checks it): its incident's card,
	// never also a card of its own.
	for _, res := range []graphsim.AttackResult{first, second, third} {
		for _, x := range res.Expected {
			if x.Severity == "low" || x.Severity == "info" {
				continue
			}
			rec := e.alerted(x)
			if its := e.carrying(rec.Finding.Key); its[0].Kind != state.OutboxIncident {
				t.Errorf("%s on %s: carried by a %s item, want its incident's card", x.Rule, x.SubjectName, its[0].Kind)
			}
		}
	}
	// What Teams got: one first card and two follow-ups naming the
	// incident, each once.
	var firsts, updates int
	for _, m := range e.teams.Messages() {
		switch {
		case !bytes.Contains(m, []byte("Incident: ")) || !bytes.Contains(m, []byte(id)):
		case bytes.Contains(m, []byte("Incident update: ")):
			updates++
		default:
			firsts++
		}
	}
	if firsts != 1 || updates != len(items)-1 {
		t.Errorf("Teams got %d first cards and %d follow-ups of %s, want 1 and %d", firsts, updates, id, len(items)-1)
	}
	// The record caught up with the third card.
	var rec *state.IncidentRecord
	e.must("incidents", e.st.Incidents(ctx, time.Time{}, func(r state.IncidentRecord) error {
		if r.ID == id {
			rec = &r
		}
		return nil
	}))
	if rec == nil || rec.Revision != len(items) {
		t.Errorf("stored incident %s: %+v, want revision %d", id, rec, len(items))
	}
}

func ids(items []state.OutboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}
