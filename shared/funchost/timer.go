package funchost

import (
	"time"
)

// timerData is Data[<timer binding>] as the host sends it.
type timerData struct {
	Schedule       timerSchedule   `json:"Schedule"`
	ScheduleStatus *scheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

type timerSchedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

type scheduleStatus struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// monitored reports whether the timer has a schedule status: useMonitor
// when set, else true for schedules recurring at most once a minute.
func (h *Host) monitored(f *hostFunction) bool {
	if f.trigger.UseMonitor != nil {
		return *f.trigger.UseMonitor
	}
	return f.schedule.period(h.now()) >= time.Minute
}

// timerInfo builds the timer value for an occurrence. ScheduleStatus is
// kept in memory (Last is the previous occurrence this host ran, the zero
// time before the first); IsPastDue reports pastDue, which is always false
// from funchost since no status survives a restart to show missed runs.
func (h *Host) timerInfo(f *hostFunction, scheduled, now time.Time, pastDue bool) timerData {
	td := timerData{Schedule: timerSchedule{AdjustForDST: true}, IsPastDue: pastDue}
	if h.monitored(f) {
		f.mu.Lock()
		last := f.lastRun
		f.mu.Unlock()
		td.ScheduleStatus = &scheduleStatus{
			Last:        last.UTC().Format(time.RFC3339),
			Next:        f.schedule.Next(scheduled).Format(time.RFC3339),
			LastUpdated: now.UTC().Format(time.RFC3339Nano),
		}
	}
	return td
}

// runTimer fires f on its schedule (and once at start with runOnStartup)
// until the host closes.
func (h *Host) runTimer(f *hostFunction) {
	defer h.listeners.Done()
	if f.trigger.RunOnStartup {
		h.fireTimer(f, h.now().UTC(), "startup")
	}
	from := h.now().UTC()
	for {
		next := f.schedule.Next(from)
		if next.IsZero() {
			h.log.Warn("timer has no further occurrence", "function", f.Name, "schedule", f.schedule.String())
			return
		}
		t := time.NewTimer(max(next.Sub(h.now()), 0))
		select {
		case <-h.listenCtx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		h.fireTimer(f, next, "schedule")
		from = next
		if now := h.now().UTC(); now.After(from) {
			from = now // missed occurrences (a suspended machine) fire once
		}
	}
}

// fireTimer starts one run unless the previous one is still going: timers
// are singletons, and an overlapping tick is skipped and logged.
func (h *Host) fireTimer(f *hostFunction, scheduled time.Time, reason string) {
	if !f.running.CompareAndSwap(false, true) {
		h.count(f.Name, func(s *FunctionStats) { s.Skipped++ })
		h.log.Warn("timer tick skipped: the previous run is still going", "function", f.Name, "scheduled", scheduled.Format(time.RFC3339))
		return
	}
	h.inflight.Add(1)
	go func() {
		defer h.inflight.Done()
		defer f.running.Store(false)
		h.log.Debug("timer fired", "function", f.Name, "reason", reason, "scheduled", scheduled.Format(time.RFC3339))
		data := map[string]any{f.trigger.Name: h.timerInfo(f, scheduled, h.now(), false)}
		_, _ = h.invoke(h.runCtx, f, data, nil) // failures are logged by invoke; the next tick is the retry
		f.mu.Lock()
		f.lastRun = scheduled
		f.mu.Unlock()
	}()
}
