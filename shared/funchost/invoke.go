package funchost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Result is the outcome of one invocation.
type Result struct {
	// InvocationID is the X-Azure-Functions-InvocationId sent.
	InvocationID string
	// StatusCode is the handler's HTTP status (0 when it was unreachable).
	StatusCode int
	// Outputs, Logs and ReturnValue are the handler's answer.
	Outputs     map[string]json.RawMessage
	Logs        []string
	ReturnValue json.RawMessage
	// Duration is the time from sending the invocation to having applied
	// its outputs.
	Duration time.Duration
}

// invokeRequest is the body the host sends: {"Data":…,"Metadata":…}.
type invokeRequest struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

// invokeResponse is the body the handler answers.
type invokeResponse struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// Invoke runs one invocation of the function called name (case-insensitive)
// as the host does: POST <handler>/<Name> with {"Data":data,"Metadata":
// metadata plus sys{MethodName,UtcNow,RandGuid}}, the invocation id, host
// version and user agent headers. Values are marshalled to JSON as given
// (trigger strings are sent JSON-serialised once more by the listeners, as
// the host does). The handler's Logs are logged with the invocation id, and
// the queue outputs it returns are written; HTTP outputs
// are left to the caller in Result.Outputs. A non-2xx answer, an
// unreachable handler, an answer that is not the protocol and an output
// that cannot be written fail the invocation: the error wraps
// ErrInvocationFailed and the Result (never nil then) says what is known.
// Unknown names wrap ErrUnknownFunction.
func (h *Host) Invoke(ctx context.Context, name string, data map[string]any, metadata map[string]any) (*Result, error) {
	f, ok := h.byName[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	return h.invoke(ctx, f, data, metadata)
}

func (h *Host) invoke(ctx context.Context, f *hostFunction, data, metadata map[string]any) (*Result, error) {
	id := newUUID()
	res := &Result{InvocationID: id}
	log := h.log.With("function", f.Name, "invocation_id", id)
	md := make(map[string]any, len(metadata)+1)
	for k, v := range metadata {
		md[k] = v
	}
	sys := map[string]any{"MethodName": f.Name, "UtcNow": h.now().UTC().Format(time.RFC3339Nano), "RandGuid": newUUID()}
	md["sys"] = sys
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(invokeRequest{Data: data, Metadata: md})
	if err != nil {
		return res, fmt.Errorf("%w: encode invocation: %v", ErrInvocationFailed, err)
	}
	if t := h.app.Host.FunctionTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	h.count(f.Name, func(s *FunctionStats) { s.Invocations++ })
	log.Debug("executing", "trigger", f.trigger.Type)
	start := time.Now()
	err = h.call(ctx, f, id, body, res, log)
	if err == nil {
		err = h.applyOutputs(ctx, f, res, log)
	}
	res.Duration = time.Since(start)
	if err != nil {
		h.count(f.Name, func(s *FunctionStats) { s.Failures++ })
		log.Warn("invocation failed", "duration", res.Duration.Round(time.Millisecond), "err", err)
		return res, err
	}
	log.Info("invocation succeeded", "duration", res.Duration.Round(time.Millisecond))
	return res, nil
}

// call sends the invocation and decodes the answer into res.
func (h *Host) call(ctx context.Context, f *hostFunction, id string, body []byte, res *Result, log *slog.Logger) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.handlerURL+"/"+f.Name, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvocationFailed, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", id)
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("User-Agent", "Azure-Functions-Host/"+HostVersion)
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvocationFailed, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxHandlerAnswer+1))
	res.StatusCode = resp.StatusCode
	if err != nil {
		return fmt.Errorf("%w: read answer: %v", ErrInvocationFailed, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: handler answered %d %s", ErrInvocationFailed, resp.StatusCode, snippet(raw))
	}
	if len(raw) > maxHandlerAnswer {
		return fmt.Errorf("%w: answer over %d bytes", ErrInvocationFailed, maxHandlerAnswer)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var ir invokeResponse
	if err := json.Unmarshal(raw, &ir); err != nil {
		return fmt.Errorf("%w: answer is not {\"Outputs\",\"Logs\",\"ReturnValue\"}: %v", ErrInvocationFailed, err)
	}
	res.Outputs, res.Logs, res.ReturnValue = ir.Outputs, ir.Logs, ir.ReturnValue
	for _, line := range ir.Logs {
		log.Info(line, "source", "handler")
	}
	return nil
}

// snippet returns the start of an answer for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", s)
}

// applyOutputs writes the queue outputs. As in the host, only output
// bindings declared in function.json are applied, matched by exact name;
// other keys are logged and ignored.
func (h *Host) applyOutputs(ctx context.Context, f *hostFunction, res *Result, log *slog.Logger) error {
	var errs []error
	for _, b := range f.Bindings {
		if b.Direction != DirectionOut || b.Type == TypeHTTP {
			continue
		}
		raw, ok := res.Outputs[b.Name]
		if b.Name == ReturnBinding {
			raw, ok = res.ReturnValue, true
		}
		if !ok || isNullJSON(raw) {
			continue
		}
		if err := h.writeQueue(ctx, b, raw, log); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", b.Name, err))
		}
	}
	for k := range res.Outputs {
		if _, declared := f.outputExact(k); declared {
			continue
		}
		if b, ok := f.Output(k); ok {
			log.Warn("output name differs in case from its binding: the Functions host ignores it", "output", k, "binding", b.Name)
		} else {
			log.Warn("output has no output binding in function.json: ignored", "output", k)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvocationFailed, errors.Join(errs...))
	}
	return nil
}

func (f *hostFunction) outputExact(name string) (Binding, bool) {
	for _, b := range f.Bindings {
		if b.Direction == DirectionOut && b.Name == name {
			return b, true
		}
	}
	return Binding{}, false
}

// bindingValue converts a non-HTTP output value as the host does: a JSON
// string that is valid base64 becomes the decoded bytes (the base64 trap,
// unless dataType is binary), another string its text, and any other JSON
// value its JSON text.
func bindingValue(b Binding, raw json.RawMessage, log *slog.Logger) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return compactJSON(raw)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if !strings.EqualFold(b.DataType, "binary") {
		if dec, ok := dotnetBase64(s); ok {
			if s != "" {
				log.Warn("output string is valid base64 and is written as the decoded bytes, as the Functions host does: emit JSON objects or arrays",
					"binding", b.Name, "value", truncate(s, 40), "bytes", len(dec))
			}
			return dec, nil
		}
	}
	return []byte(s), nil
}

// dotnetBase64 decodes s as .NET's Convert.FromBase64String does: white
// space is ignored, the length must be a multiple of four with correct
// padding.
func dotnetBase64(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	if len(s)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

func compactJSON(raw json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// writeQueue enqueues a string (one message) or an array (one message per
// element; strings in an array are taken as they are, as the host does).
func (h *Host) writeQueue(ctx context.Context, b Binding, raw json.RawMessage, log *slog.Logger) error {
	var msgs [][]byte
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return err
		}
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) == nil {
				msgs = append(msgs, []byte(s))
				continue
			}
			m, err := compactJSON(it)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
	} else {
		m, err := bindingValue(b, trimmed, log)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		content, err := h.encodeMessage(m)
		if err != nil {
			return err
		}
		if err := h.storage.enqueue(ctx, b.QueueName, content); err != nil {
			return err
		}
	}
	return nil
}

// encodeMessage encodes a message body for the queue per
// extensions.queues.messageEncoding.
func (h *Host) encodeMessage(m []byte) (string, error) {
	if h.app.Host.Queues.MessageEncoding == "none" {
		if !utf8.Valid(m) {
			return "", errors.New("message is not UTF-8 text and messageEncoding is none")
		}
		return string(m), nil
	}
	return base64.StdEncoding.EncodeToString(m), nil
}

// decodeMessage is encodeMessage's inverse.
func (h *Host) decodeMessage(content string) (string, error) {
	if h.app.Host.Queues.MessageEncoding == "none" {
		return content, nil
	}
	b, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		return "", fmt.Errorf("message is not base64 (messageEncoding base64): %w", err)
	}
	return string(b), nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
