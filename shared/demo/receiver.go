package demo

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Card is one message the webhook receiver accepted: a finding card, an
// incident card (an incident's first card or a follow-up) or a digest, as
// Teams would show it.
type Card struct {
	At       time.Time
	Title    string
	Rule     string // finding cards
	ObjectID string // finding cards
	Subject  string // finding cards: the subject's name
	Digest   bool
	// Incident is the incident id of an incident card; FollowUp says it
	// is a follow-up ("Incident update"), not the incident's first card.
	Incident string
	FollowUp bool
	// Steps are an incident card's timeline steps (a follow-up's: its new
	// steps).
	Steps []CardStep
	Lines []string // the paragraphs after the title, as Teams shows them
	Body  []byte
}

// CardStep is one step of an incident card: the rule and object id of a
// finding, and whether the card announces it (marked new, or listed by a
// follow-up).
type CardStep struct {
	Rule, ObjectID string
	New            bool
}

// Announces reports whether c alerts the finding of rule on objectID: a
// finding card for it, or an incident card that announces it as a new
// step.
func (c Card) Announces(rule, objectID string) bool {
	if c.Rule != "" {
		return c.Rule == rule && strings.EqualFold(c.ObjectID, objectID)
	}
	for _, s := range c.Steps {
		if s.New && s.Rule == rule && strings.EqualFold(s.ObjectID, objectID) {
			return true
		}
	}
	return false
}

// Receiver is a local stand-in for a Teams Workflows webhook: it accepts
// Adaptive Card messages, records them and can answer with failures first
// (429, 500) to show that delivery retries.
type Receiver struct {
	srv  *http.Server
	ln   net.Listener
	mu   sync.Mutex
	got  []Card
	hits int
	// Fail, when set, is asked for the status of request n (1-based); 0
	// accepts the card.
	fail   func(n int) int
	notify chan struct{}
	now    func() time.Time
}

// NewReceiver listens on a free loopback port.
func NewReceiver(fail func(n int) int) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{ln: ln, fail: fail, notify: make(chan struct{}, 1), now: time.Now}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL is the webhook URL to configure (with a sig= parameter, as Workflows
// URLs have).
func (r *Receiver) URL() string {
	return "http://" + r.ln.Addr().String() + "/workflows/demo/triggers/manual/paths/invoke?sig=local-demo-signature"
}

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

// Hits is the number of POSTs received, failed ones included.
func (r *Receiver) Hits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits
}

// Cards returns the cards accepted so far.
func (r *Receiver) Cards() []Card {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Card(nil), r.got...)
}

// Changed is signalled after each accepted card.
func (r *Receiver) Changed() <-chan struct{} { return r.notify }

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.hits++
	n := r.hits
	r.mu.Unlock()
	if r.fail != nil {
		if code := r.fail(n); code != 0 {
			if code == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
	}
	if len(body) > 28*1024 {
		http.Error(w, "Request entity too large", http.StatusRequestEntityTooLarge)
		return
	}
	c, err := parseCard(body)
	if err != nil {
		http.Error(w, "not an Adaptive Card message: "+err.Error(), http.StatusBadRequest)
		return
	}
	c.At = r.now()
	r.mu.Lock()
	r.got = append(r.got, c)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusAccepted) // what Workflows answers
}

// message is the Teams message shape the receiver accepts.
type message struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string `json:"contentType"`
		Content     struct {
			Type    string            `json:"type"`
			Version string            `json:"version"`
			Body    []json.RawMessage `json:"body"`
		} `json:"content"`
	} `json:"attachments"`
}

// element is a body element: a RichTextBlock of TextRuns, as the card
// builders write (a TextBlock's Markdown text is read too). The paragraphs
// that carry the subject, rule id and object id have ids.
type element struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Text    string `json:"text"`
	Inlines []struct {
		Text string `json:"text"`
	} `json:"inlines"`
}

func parseCard(b []byte) (Card, error) {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return Card{}, err
	}
	if m.Type != "message" || len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		m.Attachments[0].Content.Type != "AdaptiveCard" {
		return Card{}, errBadCard
	}
	c := Card{Body: b}
	for i, raw := range m.Attachments[0].Content.Body {
		var e element
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		var text, value string // value: the text after a "label: " run
		switch e.Type {
		case "TextBlock":
			text = unescape(e.Text)
		case "RichTextBlock":
			var parts []string
			for _, in := range e.Inlines {
				parts = append(parts, in.Text)
			}
			text = strings.Join(parts, "")
			if len(parts) > 1 {
				value = strings.Join(parts[1:], "")
			}
		default:
			continue
		}
		switch {
		case i == 0:
			c.Title = text
			c.FollowUp = strings.HasPrefix(text, "Incident update: ")
			continue
		case e.ID == "incident":
			c.Incident = value
		case strings.HasPrefix(e.ID, "step-"):
			isNew := c.FollowUp
			for _, in := range e.Inlines {
				isNew = isNew || in.Text == "new "
			}
			c.Steps = append(c.Steps, CardStep{New: isNew})
		case strings.HasPrefix(e.ID, "stepref-") && len(c.Steps) > 0 && len(e.Inlines) == 4:
			c.Steps[len(c.Steps)-1].Rule = e.Inlines[1].Text
			c.Steps[len(c.Steps)-1].ObjectID = e.Inlines[3].Text
		case e.ID == "subject":
			c.Subject = value
		case e.ID == "rule":
			c.Rule = value
		case e.ID == "objectId":
			c.ObjectID = value
		}
		c.Lines = append(c.Lines, text)
	}
	c.Digest = c.Rule == "" && c.Incident == ""
	return c, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errBadCard = constError("not a Teams message with one Adaptive Card")

// unescape undoes the Markdown escaping of card text.
func unescape(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		if r == '\\' && !esc {
			esc = true
			continue
		}
		esc = false
		b.WriteRune(r)
	}
	return b.String()
}
