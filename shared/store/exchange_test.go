package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestClaimBlob: a blob is claimed once however many rounds race for it;
// a claimed blob is busy within the lease and taken over after it; a done
// blob stays done; a released one can be claimed again.
func TestClaimBlob(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	st := open(t, azurite, newClock(now))
	ctx := t.Context()
	const id = "20260310120000000000001$x$audit_exchange$Audit_Exchange$emea0026"

	var mu sync.Mutex
	won := 0
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := st.ClaimBlob(ctx, id, now, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if c == store.BlobClaimed {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d concurrent claims won, want 1", won)
	}
	if c, err := st.ClaimBlob(ctx, id, now.Add(30*time.Second), time.Minute); err != nil || c != store.BlobBusy {
		t.Errorf("within the lease: %v %v, want busy", c, err)
	}
	if c, err := st.ClaimBlob(ctx, id, now.Add(2*time.Minute), time.Minute); err != nil || c != store.BlobClaimed {
		t.Errorf("after the lease: %v %v, want claimed (taken over)", c, err)
	}
	if err := st.CompleteBlobs(ctx, []string{id}, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c, err := st.ClaimBlob(ctx, id, now.Add(time.Hour), time.Minute); err != nil || c != store.BlobDone {
		t.Errorf("done: %v %v, want done", c, err)
	}
	other := "other-blob"
	if c, _ := st.ClaimBlob(ctx, other, now, time.Minute); c != store.BlobClaimed {
		t.Fatalf("other: %v", c)
	}
	if err := st.ReleaseBlobs(ctx, []string{other, "never-claimed"}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.ClaimBlob(ctx, other, now, time.Minute); err != nil || c != store.BlobClaimed {
		t.Errorf("released: %v %v, want claimed", c, err)
	}
	n, err := st.PruneExchange(ctx, now.Add(8*24*time.Hour), now)
	if err != nil || n != 2 {
		t.Errorf("prune: %d %v, want 2 rows", n, err)
	}
	if c, _ := st.ClaimBlob(ctx, id, now, time.Minute); c != store.BlobClaimed {
		t.Errorf("after prune: %v, want claimed", c)
	}
}

// TestExchangeAdmin: admin records are kept by record id (twice is once),
// read back from a time on, and pruned.
func TestExchangeAdmin(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	st := open(t, azurite, newClock(now))
	ctx := t.Context()
	evs := []tenant.ExchangeAdminEvent{
		{ID: "r1", Time: now.Add(-48 * time.Hour), Cmdlet: "Set-Mailbox", ObjectID: "helena", Parameters: []tenant.Parameter{{Name: "AuditEnabled", Value: "False"}}, Succeeded: true},
		{ID: "r2", Time: now.Add(-time.Hour), Cmdlet: "Set-MailboxAuditBypassAssociation", ObjectID: "tomasz", Succeeded: true},
	}
	if err := st.PutExchangeAdmin(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := st.PutExchangeAdmin(ctx, evs[1:]); err != nil {
		t.Fatal(err)
	}
	got, err := st.ExchangeAdmin(ctx, now.Add(-72*time.Hour))
	if err != nil || len(got) != 2 {
		t.Fatalf("ExchangeAdmin: %v %v", got, err)
	}
	if v, _ := got[0].Param("AuditEnabled"); got[0].ID != "r1" || v != "False" || !got[0].Time.Equal(evs[0].Time) {
		t.Errorf("read back %+v", got[0])
	}
	if got, _ := st.ExchangeAdmin(ctx, now.Add(-2*time.Hour)); len(got) != 1 || got[0].ID != "r2" {
		t.Errorf("since 2h: %+v", got)
	}
	if n, err := st.PruneExchange(ctx, now, now.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Errorf("prune: %d %v", n, err)
	}
}
