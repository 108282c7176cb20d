package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tenantwatch/tenantwatch/shared/state"
)

// t0 is the virtual clock's start.
var t0 = time.Date(2024, 5, 1, 2, 30, 0, 0, time.UTC)

// clock is a virtual clock: Sleep advances it instantly.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

// memStore is an in-memory DeliveryStore and OutboxStore test double. The
// real store is tested against Azurite in shared/store.
type memStore struct {
	mu        sync.Mutex
	items     map[string]state.OutboxItem
	completes []string
	retries   []string
	// ignoreDue makes ClaimOutbox return every item, due or not, delivered
	// or not (a broken store), to check that Deliver still terminates and
	// never re-sends.
	ignoreDue    bool
	completeErr  error
	enqueueErr   error
	enqueueCalls int
}

func newMemStore(items ...state.OutboxItem) *memStore {
	m := &memStore{items: make(map[string]state.OutboxItem)}
	for _, it := range items {
		m.items[it.ID] = it
	}
	return m
}

func (m *memStore) EnqueueOutbox(_ context.Context, items []state.OutboxItem) ([]state.OutboxItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enqueueCalls++
	if m.enqueueErr != nil {
		return nil, m.enqueueErr
	}
	for _, it := range items {
		m.items[it.ID] = it
	}
	return items, nil
}

func (m *memStore) ClaimOutbox(_ context.Context, now time.Time, lease time.Duration, max int) ([]state.OutboxItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, it := range m.items {
		if m.ignoreDue || (it.Delivered.IsZero() && !it.NextAttempt.After(now) && !it.LeaseUntil.After(now)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []state.OutboxItem
	for _, id := range ids[:min(len(ids), max)] {
		it := m.items[id]
		it.LeaseUntil = now.Add(lease)
		m.items[id] = it
		out = append(out, it)
	}
	return out, nil
}

func (m *memStore) CompleteOutbox(_ context.Context, it state.OutboxItem, delivered time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.completes = append(m.completes, it.ID)
	if m.completeErr != nil {
		return m.completeErr
	}
	s := m.items[it.ID]
	s.Delivered, s.LeaseUntil = delivered, time.Time{}
	m.items[it.ID] = s
	return nil
}

func (m *memStore) RetryOutbox(_ context.Context, it state.OutboxItem, next time.Time, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retries = append(m.retries, it.ID)
	s := m.items[it.ID]
	s.Attempts, s.NextAttempt, s.LastError, s.LeaseUntil = it.Attempts, next, lastErr, time.Time{}
	m.items[it.ID] = s
	return nil
}

func (m *memStore) get(id string) state.OutboxItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.items[id]
}

// item is a due outbox item whose payload names it.
func item(id string) state.OutboxItem {
	return state.OutboxItem{ID: id, Kind: state.OutboxCard, Payload: []byte(`{"item":"` + id + `"}`), Created: t0, NextAttempt: t0}
}

// reply is one scripted webhook answer.
type reply struct {
	status int
	header map[string]string
	body   string
}

// request is one request the webhook double received.
type request struct {
	body        string
	contentType string
	method      string
	at          time.Time // virtual time
}

// webhook is a Teams Workflows webhook double: it answers from a script
// (then 202 Accepted) and records requests at the virtual clock's time.
type webhook struct {
	srv    *httptest.Server
	clock  *clock
	mu     sync.Mutex
	script []reply
	reqs   []request
}

// secretSig is the webhook's credential; it must never reach a log or an
// error.
const secretSig = "SuperSecretSig0123456789abcdef"

const webhookPath = "/workflows/0123abcd/triggers/manual/paths/invoke"

func newWebhook(t *testing.T, c *clock, script ...reply) *webhook {
	t.Helper()
	w := &webhook{clock: c, script: script}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		var at time.Time
		if c != nil {
			at = c.Now()
		}
		w.reqs = append(w.reqs, request{body: string(b), contentType: r.Header.Get("Content-Type"), method: r.Method, at: at})
		rep := reply{status: http.StatusAccepted}
		if len(w.script) > 0 {
			rep, w.script = w.script[0], w.script[1:]
		}
		w.mu.Unlock()
		for k, v := range rep.header {
			rw.Header().Set(k, v)
		}
		rw.WriteHeader(rep.status)
		io.WriteString(rw, rep.body)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// URL is the webhook's secret URL.
func (w *webhook) URL() string {
	return w.srv.URL + webhookPath + "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + secretSig
}

func (w *webhook) requests() []request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

// logBuffer returns a debug-level JSON logger writing into a buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewJSONHandler(&syncWriter{w: &b}, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// --- card checks -----------------------------------------------------------

// templateRe matches an Adaptive Card date/time function opener.
var templateRe = regexp.MustCompile(`(?i)\{\s*\{\s*(date|time)\s*\(`)

// hiddenRune reports characters that must never reach a card.
func hiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, r == 0x2028, r == 0x2029, r == 0x200B, r == 0xFEFF:
		return true
	}
	return false
}

// textSafe checks text for any card field: valid UTF-8, no hidden
// characters, no date/time function.
func textSafe(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid UTF-8 in %q", s)
	}
	for _, r := range s {
		if hiddenRune(r) {
			return fmt.Errorf("hidden character %U in %q", r, s)
		}
	}
	if templateRe.MatchString(s) {
		return fmt.Errorf("date/time function in %q", s)
	}
	return nil
}

// linkRe matches what a client could turn into a link: "://", "mailto:"
// and "www." hosts, with the fullwidth and small colon, dot and slash forms
// and a backslash for a slash.
var linkRe = regexp.MustCompile(`(?i)[:：﹕︓∶꞉][/／\\∕⁄][/／\\∕⁄]|(mailto|ｍａｉｌｔｏ)[:：﹕︓∶꞉]|(www|ｗｗｗ)[.．。｡]`)

// runSafe checks a TextRun's text: textSafe, and nothing a client could
// link.
func runSafe(s string) error {
	if err := textSafe(s); err != nil {
		return err
	}
	if m := linkRe.FindString(s); m != "" {
		return fmt.Errorf("link pattern %q in %q", m, s)
	}
	return nil
}

// cardProblems parses a Teams message and lists every way it breaks the
// card rules: the message shape, element types other than the few the
// builders use (RichTextBlocks of TextRuns: no field that renders Markdown,
// so there is nothing to escape), a TextRun text that a client could link,
// hidden characters or date/time functions anywhere, and any URL other than
// reportURL in an Action.OpenUrl (or anywhere else).
func cardProblems(payload []byte, reportURL string) []string {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	root, _ := doc.(map[string]any)
	atts, _ := root["attachments"].([]any)
	if root["type"] != "message" || len(atts) != 1 {
		add("not a message with one attachment")
		return probs
	}
	att, _ := atts[0].(map[string]any)
	content, _ := att["content"].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" || content["type"] != "AdaptiveCard" || content["version"] != "1.4" {
		add("attachment is not an Adaptive Card 1.4")
	}

	allowed := map[string]bool{"message": true, "AdaptiveCard": true, "RichTextBlock": true, "TextRun": true, "Action.OpenUrl": true}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			typ, _ := x["type"].(string)
			if _, has := x["type"]; has && !allowed[typ] {
				add("%s: element type %q", path, typ)
			}
			switch typ {
			case "TextRun":
				s, _ := x["text"].(string)
				if err := runSafe(s); err != nil {
					add("%s.text: %v", path, err)
				}
			case "Action.OpenUrl":
				if x["url"] != reportURL || reportURL == "" {
					add("%s: action opens %v, want only the report URL %q", path, x["url"], reportURL)
				}
			}
			for k, e := range x {
				switch k {
				case "selectAction", "href":
					add("%s.%s: links are not allowed", path, k)
				case "url":
					if typ != "Action.OpenUrl" {
						add("%s.url outside an Action.OpenUrl", path)
					}
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			if err := textSafe(x); err != nil {
				add("%s: %v", path, err)
			}
		}
	}
	walk("$", doc)
	return probs
}
