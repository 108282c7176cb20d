package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/notify"
)

func TestNewSender(t *testing.T) {
	secret := "sig=" + secretSig
	for _, tc := range []struct {
		name     string
		url      string
		loopback bool
		ok       bool
	}{
		{"https", "https://prod-12.westeurope.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&" + secret, false, true},
		{"power platform", "https://default0123.ab.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/x?" + secret, false, true},
		{"http loopback allowed", "http://127.0.0.1:8080/hook?" + secret, true, true},
		{"http localhost allowed", "http://localhost/hook?" + secret, true, true},
		{"http loopback not allowed", "http://127.0.0.1:8080/hook?" + secret, false, false},
		{"http other host", "http://example.com/hook?" + secret, true, false},
		{"http loopback range", "http://127.0.0.2:8080/hook?" + secret, true, true},
		{"http ipv6 loopback", "http://[::1]:8080/hook?" + secret, true, true},
		{"http name that starts like loopback", "http://127.evil.example/hook?" + secret, true, false},
		{"http localhost subdomain", "http://localhost.evil.example/hook?" + secret, true, false},
		{"no host", "https:///hook?" + secret, false, false},
		{"relative", "/hook?" + secret, false, false},
		{"opaque", "https:hook?" + secret, false, false},
		{"ftp", "ftp://example.com/hook?" + secret, false, false},
		{"user info", "https://user:" + secretSig + "@example.com/hook", false, false},
		{"malformed", "https://exa mple.com/%zz?" + secret, false, false},
		{"empty", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := notify.NewSender(tc.url, &notify.SenderOptions{AllowHTTPLoopback: tc.loopback})
			if tc.ok != (err == nil) {
				t.Fatalf("NewSender: err = %v, want ok = %v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, notify.ErrWebhookURL) {
					t.Errorf("err = %v, want ErrWebhookURL", err)
				}
				if strings.Contains(err.Error(), secretSig) || strings.Contains(err.Error(), "/hook") {
					t.Errorf("error %q reveals the URL", err)
				}
				return
			}
			if h := s.Host(); h == "" || strings.Contains(h, secretSig) {
				t.Errorf("Host() = %q", h)
			}
		})
	}
}

func TestSend(t *testing.T) {
	c := newClock()
	for _, tc := range []struct {
		name       string
		reply      reply
		wantStatus int // 0 = success
		retryAfter time.Duration
		permanent  bool
	}{
		{"200", reply{status: 200}, 0, 0, false},
		{"202 from workflows", reply{status: 202}, 0, 0, false},
		{"429 seconds", reply{status: 429, header: map[string]string{"Retry-After": "7"}}, 429, 7 * time.Second, false},
		{"429 date", reply{status: 429, header: map[string]string{"Retry-After": t0.Add(90 * time.Second).Format(http.TimeFormat)}}, 429, 90 * time.Second, false},
		{"429 past date", reply{status: 429, header: map[string]string{"Retry-After": t0.Add(-time.Hour).Format(http.TimeFormat)}}, 429, 0, false},
		{"429 fraction", reply{status: 429, header: map[string]string{"Retry-After": "1.5"}}, 429, 1500 * time.Millisecond, false},
		{"429 huge", reply{status: 429, header: map[string]string{"Retry-After": "99999999999"}}, 429, 24 * time.Hour, false},
		{"429 garbage", reply{status: 429, header: map[string]string{"Retry-After": "soon"}}, 429, 0, false},
		{"429 none", reply{status: 429}, 429, 0, false},
		{"408", reply{status: 408}, 408, 0, false},
		{"500", reply{status: 500}, 500, 0, false},
		{"503 with retry-after ignored", reply{status: 503, header: map[string]string{"Retry-After": "5"}}, 503, 0, false},
		{"413 too large", reply{status: 413, body: "Request entity too large"}, 413, 0, true},
		{"400", reply{status: 400, body: `{"error":{"code":"InvalidRequestContent"}}`}, 400, 0, true},
		{"404", reply{status: 404}, 404, 0, true},
		{"302 not followed", reply{status: 302, header: map[string]string{"Location": "https://evil.example/"}}, 302, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWebhook(t, c, tc.reply)
			s, err := notify.NewSender(w.URL(), &notify.SenderOptions{AllowHTTPLoopback: true, Now: c.Now, Sleep: c.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			payload := []byte(`{"type":"message","attachments":[]}`)
			err = s.Send(t.Context(), payload)
			reqs := w.requests()
			if len(reqs) != 1 || reqs[0].method != http.MethodPost || reqs[0].contentType != "application/json" || reqs[0].body != string(payload) {
				t.Fatalf("requests = %+v, want one JSON POST of the payload", reqs)
			}
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Send = %v, want success", err)
				}
				return
			}
			var de *notify.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *DeliveryError", err)
			}
			if de.Status != tc.wantStatus || de.RetryAfter != tc.retryAfter || de.Permanent != tc.permanent {
				t.Errorf("DeliveryError{Status %d, RetryAfter %v, Permanent %v}, want {%d, %v, %v}", de.Status, de.RetryAfter, de.Permanent, tc.wantStatus, tc.retryAfter, tc.permanent)
			}
			if tc.reply.body != "" && !strings.Contains(err.Error(), tc.reply.body) {
				t.Errorf("error %q does not quote the answer %q", err, tc.reply.body)
			}
			if strings.Contains(err.Error(), secretSig) {
				t.Errorf("error %q reveals the webhook URL", err)
			}
		})
	}
}

func TestSendErrorBodyBoundedAndRedacted(t *testing.T) {
	c := newClock()
	w := newWebhook(t, c)
	huge := "bad request for " + w.URL() + " " + strings.Repeat("x", 1<<20)
	w.script = []reply{{status: 400, body: huge}}
	s, err := notify.NewSender(w.URL(), &notify.SenderOptions{AllowHTTPLoopback: true, Now: c.Now, Sleep: c.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), []byte("{}"))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	msg := err.Error()
	if len(msg) > 2000 {
		t.Errorf("error is %d bytes long", len(msg))
	}
	if strings.Contains(msg, secretSig) || !strings.Contains(msg, "[redacted]") {
		t.Errorf("error %q: want the echoed URL redacted", msg)
	}
}

func TestSendNetworkError(t *testing.T) {
	c := newClock()
	w := newWebhook(t, c)
	url := w.URL()
	w.srv.Close()
	log, buf := logBuffer()
	s, err := notify.NewSender(url, &notify.SenderOptions{AllowHTTPLoopback: true, Now: c.Now, Sleep: c.Sleep, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), []byte("{}"))
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Status != 0 || de.Permanent {
		t.Fatalf("Send = %#v, want a transient DeliveryError without status", err)
	}
	if strings.Contains(err.Error(), secretSig) || strings.Contains(err.Error(), "sig=") || !strings.Contains(err.Error(), s.Host()) {
		t.Errorf("error %q: want the host and not the URL", err)
	}
	if strings.Contains(buf.String(), secretSig) || !strings.Contains(buf.String(), s.Host()) {
		t.Errorf("log %q: want the host and not the URL", buf)
	}
}

func TestSendCanceled(t *testing.T) {
	c := newClock()
	w := newWebhook(t, c)
	s, err := notify.NewSender(w.URL(), &notify.SenderOptions{AllowHTTPLoopback: true, Now: c.Now, Sleep: c.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, []byte("{}")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send = %v, want context.Canceled", err)
	}
}

// TestSendRate checks, in virtual time, that requests start at least
// 1/Rate apart whatever the callers do.
func TestSendRate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    float64
		spacing time.Duration
	}{
		{"default is teams' 4 per second", 0, 250 * time.Millisecond},
		{"2 per second", 2, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			w := newWebhook(t, c)
			s, err := notify.NewSender(w.URL(), &notify.SenderOptions{AllowHTTPLoopback: true, Rate: tc.rate, Now: c.Now, Sleep: c.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				if err := s.Send(t.Context(), []byte("{}")); err != nil {
					t.Fatal(err)
				}
			}
			c.Advance(time.Hour) // an idle Sender starts at once
			if err := s.Send(t.Context(), []byte("{}")); err != nil {
				t.Fatal(err)
			}
			reqs := w.requests()
			if len(reqs) != 11 || !reqs[0].at.Equal(t0) {
				t.Fatalf("%d requests, first at %v", len(reqs), reqs[0].at)
			}
			for i := 1; i < 10; i++ {
				if gap := reqs[i].at.Sub(reqs[i-1].at); gap < tc.spacing {
					t.Errorf("request %d started %v after the previous one, want ≥ %v", i, gap, tc.spacing)
				}
			}
			if got, want := reqs[9].at.Sub(reqs[0].at), 9*tc.spacing; got != want {
				t.Errorf("10 requests took %v, want exactly %v", got, want)
			}
			if got, want := reqs[10].at, reqs[9].at.Add(time.Hour); !got.Equal(want) {
				t.Errorf("request after an idle hour at %v, want %v (no wait)", got, want)
			}
		})
	}
}
