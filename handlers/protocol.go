package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graph/webhook"
)

// This file holds the custom-handler protocol (see doc.go): what the
// host sends, what it expects back, and the loose decoding its payloads need.

// InvokeRequest is the body the host POSTs to /{FunctionName}: Data holds
// one value per input binding (by binding name), Metadata the trigger's
// binding data (queue message id, dequeue count, sys, …).
type InvokeRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvokeResponse is the body the handler answers with. Outputs holds one
// value per output binding (by binding name); Logs become invocation log
// lines in the host; ReturnValue feeds a $return binding (unused here).
type InvokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// HTTPRequest is the value of an httpTrigger input. The host sends Query as
// an object, or (older hosts, and the documentation's example) as a JSON
// string holding the object or "{}"; its values are already URL-decoded.
// URL keeps the query string as received (still encoded). Headers values may
// arrive as arrays or single strings. Body is the raw body text; a JSON
// string is taken as is, never unwrapped.
type HTTPRequest struct {
	URL        string
	Method     string
	Query      map[string]string
	Headers    map[string][]string
	Params     map[string]string
	Body       string
	Identities json.RawMessage
}

// UnmarshalJSON decodes the host's request object, tolerating the shape
// variations described on HTTPRequest. Only a request that is not an object
// or whose Url, Method or Body has the wrong type is an error; an
// unreadable Query, Headers or Params is left empty.
func (r *HTTPRequest) UnmarshalJSON(b []byte) error {
	var w struct {
		URL        string                     `json:"Url"`
		Method     string                     `json:"Method"`
		Query      json.RawMessage            `json:"Query"`
		Headers    map[string]json.RawMessage `json:"Headers"`
		Params     json.RawMessage            `json:"Params"`
		Body       json.RawMessage            `json:"Body"`
		Identities json.RawMessage            `json:"Identities"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = HTTPRequest{URL: w.URL, Method: w.Method, Identities: w.Identities}
	r.Query = looseStringMap(w.Query)
	r.Params = looseStringMap(w.Params)
	if len(w.Headers) > 0 {
		r.Headers = make(map[string][]string, len(w.Headers))
		for k, v := range w.Headers {
			var many []string
			if json.Unmarshal(v, &many) == nil {
				r.Headers[k] = many
				continue
			}
			var one string
			if json.Unmarshal(v, &one) == nil {
				r.Headers[k] = []string{one}
			}
		}
	}
	switch body := bytes.TrimSpace(w.Body); {
	case len(body) == 0 || string(body) == "null":
	case body[0] == '"':
		if err := json.Unmarshal(body, &r.Body); err != nil {
			return err
		}
	default: // a host that parsed a JSON body: keep its text
		r.Body = string(body)
	}
	return nil
}

// looseStringMap decodes an object (or a JSON string holding one) into a
// string map; non-string values keep their JSON text. Anything else → nil.
func looseStringMap(raw json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if decodeLoose(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	return out
}

// ValidationToken returns Graph's validation token, decoded exactly once:
// from the raw query string of URL when it carries one, otherwise from Query
// (which the host has already decoded, so it is not decoded again).
func (r *HTTPRequest) ValidationToken() (string, bool) {
	if u, err := url.Parse(r.URL); err == nil && u.RawQuery != "" {
		if tok, ok := webhook.ValidationToken(u.RawQuery); ok {
			return tok, true
		}
	}
	tok := r.Query["validationToken"]
	return tok, tok != ""
}

// HTTPResponse is the value of an http output binding. StatusCode is a
// string, as in Microsoft's sample; the host's HttpOutputBindingResponse
// requires statusCode, status, body and headers all present, so Status
// repeats the code and Headers is never nil.
type HTTPResponse struct {
	StatusCode string            `json:"statusCode"`
	Status     string            `json:"status"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// textResponse is a plain-text HTTP response; nosniff keeps a browser from
// reading a reflected validation token as anything but text.
func textResponse(code int, body string) HTTPResponse {
	c := strconv.Itoa(code)
	return HTTPResponse{StatusCode: c, Status: c, Body: body, Headers: map[string]string{
		"Content-Type":           "text/plain",
		"X-Content-Type-Options": "nosniff",
	}}
}

// TimerInfo is the value of a timerTrigger input. ScheduleStatus is nil when
// the schedule is not monitored.
type TimerInfo struct {
	Schedule       TimerSchedule        `json:"Schedule"`
	ScheduleStatus *TimerScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool                 `json:"IsPastDue"`
}

// TimerSchedule describes the schedule of a timer trigger.
type TimerSchedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

// TimerScheduleStatus is the monitored state of a schedule, in UTC. A time
// the host formats unexpectedly is left zero.
type TimerScheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// UnmarshalJSON reads the three times as strings (with or without a zone;
// none means UTC) and never fails on their format.
func (s *TimerScheduleStatus) UnmarshalJSON(b []byte) error {
	var w struct{ Last, Next, LastUpdated json.RawMessage }
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = TimerScheduleStatus{Last: looseTime(w.Last), Next: looseTime(w.Next), LastUpdated: looseTime(w.LastUpdated)}
	return nil
}

// QueueMetadata is the binding data of a queueTrigger invocation.
// PopReceipt is a capability (it deletes the message): never log it.
type QueueMetadata struct {
	ID              string
	DequeueCount    int
	PopReceipt      string
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
}

// queueMetadata reads the queue binding data loosely: the host may send a
// number or a string for DequeueCount, and strings or JSON-encoded strings
// for the others. Missing or unreadable values stay zero.
func queueMetadata(md map[string]json.RawMessage) QueueMetadata {
	get := func(key string) json.RawMessage {
		if v, ok := md[key]; ok {
			return v
		}
		for k, v := range md {
			if strings.EqualFold(k, key) {
				return v
			}
		}
		return nil
	}
	var q QueueMetadata
	_ = decodeLoose(get("Id"), &q.ID)
	_ = decodeLoose(get("DequeueCount"), &q.DequeueCount)
	_ = decodeLoose(get("PopReceipt"), &q.PopReceipt)
	q.InsertionTime = looseTime(get("InsertionTime"))
	q.ExpirationTime = looseTime(get("ExpirationTime"))
	q.NextVisibleTime = looseTime(get("NextVisibleTime"))
	return q
}

// hostTimeLayouts: Newtonsoft writes DateTimeOffset with an offset and
// DateTime without one (read as UTC).
var hostTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// looseTime reads a (possibly JSON-encoded) time string as UTC; zero if
// absent or unreadable.
func looseTime(raw json.RawMessage) time.Time {
	var s string
	if len(raw) == 0 || decodeLoose(raw, &s) != nil {
		return time.Time{}
	}
	for _, layout := range hostTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// maxUnwrap is how many layers of JSON string encoding decodeLoose removes.
const maxUnwrap = 2

// decodeLoose decodes raw into v (a non-nil pointer), accepting the value
// itself or the value serialised as a JSON string, once or twice (the host
// re-serialises values it cannot turn into objects: a queue message whose
// text is JSON arrives as "\"{...}\""). A string layer is unwrapped only when
// its content is itself JSON; the innermost layer is tried first, so a
// struct target gets the object and a string target the text without extra
// quotes. v is reset before each attempt; the innermost error is returned.
func decodeLoose(raw json.RawMessage, v any) error {
	layers := []json.RawMessage{bytes.TrimSpace(raw)}
	for range maxUnwrap {
		last := layers[len(layers)-1]
		if len(last) == 0 || last[0] != '"' {
			break
		}
		var s string
		if json.Unmarshal(last, &s) != nil {
			break
		}
		inner := json.RawMessage(strings.TrimSpace(s))
		if !json.Valid(inner) {
			break
		}
		layers = append(layers, inner)
	}
	target := reflect.ValueOf(v).Elem()
	var firstErr error
	for i := len(layers) - 1; i >= 0; i-- {
		target.SetZero()
		err := json.Unmarshal(layers[i], v)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// writeResult sends resp to the host with the given status.
func writeResult(w http.ResponseWriter, log *slog.Logger, status int, resp InvokeResponse) {
	if resp.Outputs == nil {
		resp.Outputs = map[string]any{}
	}
	if resp.Logs == nil {
		resp.Logs = []string{}
	}
	b, err := json.Marshal(resp)
	if err != nil { // only values this package builds are marshalled
		log.Error("encode invocation result", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"Outputs":{},"Logs":["encode invocation result failed"],"ReturnValue":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
