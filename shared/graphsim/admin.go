package graphsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// The admin API is the simulator's own, beside Graph's paths (under any
// path prefix, outside /v1.0 so no Graph client reaches it by accident),
// for scripts and demos that drive a sim in another process. Requests to
// it are not counted in Stats. Everything is JSON.
//
//	GET  /_graphsim/stats                   Stats
//	GET  /_graphsim/subscriptions           []SubscriptionInfo
//	GET  /_graphsim/deliveries              []Delivery
//	GET  /_graphsim/attack                  the step names
//	POST /_graphsim/attack/{step}           AttackResult (404 unknown step, 409 no candidate)
//	POST /_graphsim/lifecycle?subscription=<id>&event=<event>
//	                                        202 (404 unknown subscription, 400 bad event or no lifecycle URL)
//	POST /_graphsim/expire-delta            204: every delta token issued so far answers 410
//	POST /_graphsim/activity/expire-webhook?contentType=<type>  204: the Management Activity API webhook expires (404 none)

// adminPrefix starts every admin path.
const adminPrefix = "/_graphsim/"

// Admin paths (after any prefix).
const (
	AdminSubscriptionsPath = "/_graphsim/subscriptions"
	AdminDeliveriesPath    = "/_graphsim/deliveries"
	AdminAttackPath        = "/_graphsim/attack/" // + step
	AdminLifecyclePath     = "/_graphsim/lifecycle"
	AdminExpireDeltaPath   = "/_graphsim/expire-delta"
	AdminExpireWebhookPath = "/_graphsim/activity/expire-webhook"
)

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, rest string) {
	method := func(m string) bool {
		if r.Method == m {
			return true
		}
		w.Header().Set("Allow", m)
		adminError(w, http.StatusMethodNotAllowed, "graphsim admin: "+r.Method+" is not allowed on "+r.URL.Path)
		return false
	}
	rest = strings.TrimSuffix(rest, "/")
	switch {
	case rest == "stats":
		if method(http.MethodGet) {
			adminJSON(w, http.StatusOK, s.Stats())
		}
	case rest == "subscriptions":
		if method(http.MethodGet) {
			adminJSON(w, http.StatusOK, s.Subscriptions())
		}
	case rest == "deliveries":
		if method(http.MethodGet) {
			adminJSON(w, http.StatusOK, s.Deliveries())
		}
	case rest == "attack":
		if method(http.MethodGet) {
			adminJSON(w, http.StatusOK, s.AttackSteps())
		}
	case strings.HasPrefix(rest, "attack/"):
		if !method(http.MethodPost) {
			return
		}
		res, err := s.Attack(r.Context(), strings.TrimPrefix(rest, "attack/"))
		switch {
		case errors.Is(err, ErrUnknownStep):
			adminError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, ErrNoCandidate):
			adminError(w, http.StatusConflict, err.Error())
		case err != nil:
			adminError(w, http.StatusInternalServerError, err.Error())
		default:
			adminJSON(w, http.StatusOK, res)
		}
	case rest == "lifecycle":
		if !method(http.MethodPost) {
			return
		}
		q := r.URL.Query()
		err := s.SendLifecycle(q.Get("subscription"), q.Get("event"))
		switch {
		case errors.Is(err, ErrNotFound):
			adminError(w, http.StatusNotFound, err.Error())
		case err != nil:
			adminError(w, http.StatusBadRequest, err.Error())
		default:
			adminJSON(w, http.StatusAccepted, map[string]string{"subscription": q.Get("subscription"), "event": q.Get("event")})
		}
	case rest == "expire-delta":
		if method(http.MethodPost) {
			s.ExpireDeltaTokens()
			w.WriteHeader(http.StatusNoContent)
		}
	case rest == "activity/expire-webhook":
		if method(http.MethodPost) {
			s.expireWebhookAdmin(w, r)
		}
	default:
		adminError(w, http.StatusNotFound, "graphsim admin: no such path "+r.URL.Path)
	}
}
