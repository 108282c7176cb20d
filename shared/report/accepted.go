package report

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// acceptedOf returns the acceptance mark of the finding at index i of d,
// nil when d has no acceptance or the finding is not accepted.
func acceptedOf(d *Document, i int) *accept.Mark {
	return d.Acceptance.MarkOf(i)
}

// acceptedText is an accepted finding's mark in one line, for the CSV cell
// and the terminal: "until 2027-06-30 by alice@contoso.example: reason".
func acceptedText(m *accept.Mark) string {
	if m == nil {
		return ""
	}
	return fmt.Sprintf("until %s by %s: %s", m.Expires, m.AcceptedBy, m.Reason)
}

// jsonFinding is a finding of findings.json: the finding's own fields,
// then "accepted" when an entry of the accept file accepts it.
type jsonFinding struct {
	f    tenant.Finding
	mark *accept.Mark
}

// MarshalJSON writes the finding as tenant.Finding does, with
// "accepted": {"entry", "reason", "acceptedBy", "expires"} appended when
// it is accepted.
func (j jsonFinding) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(j.f)
	if err != nil || j.mark == nil {
		return b, err
	}
	m, err := json.Marshal(j.mark)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte("}")) // an object: never empty
	return append(append(append(b, `,"accepted":`...), m...), '}'), nil
}

// jsonFindings pairs d's findings with their marks.
func jsonFindings(d *Document) []jsonFinding {
	out := make([]jsonFinding, len(d.Findings))
	for i, f := range d.Findings {
		out[i] = jsonFinding{f: f, mark: acceptedOf(d, i)}
	}
	return out
}

// readFinding is a finding as findings.json holds it, read back.
type readFinding struct {
	tenant.Finding
	Accepted *accept.Mark `json:"accepted,omitempty"`
}

// jsonAcceptance is findings.json's "acceptance" object.
type jsonAcceptance struct {
	Accepted int              `json:"accepted"`
	Applied  []accept.Applied `json:"applied"`
	Expired  []accept.Expired `json:"expired"`
}

func toJSONAcceptance(r *accept.Result) *jsonAcceptance {
	if r == nil {
		return nil
	}
	out := &jsonAcceptance{Accepted: r.Accepted(), Applied: r.Applied, Expired: r.Expired}
	if out.Applied == nil {
		out.Applied = []accept.Applied{}
	}
	if out.Expired == nil {
		out.Expired = []accept.Expired{}
	}
	return out
}

// fromRead splits read findings into the findings and the acceptance
// result (nil when the file had no "acceptance").
func fromRead(rs []readFinding, a *jsonAcceptance) ([]tenant.Finding, *accept.Result) {
	var fs []tenant.Finding
	if rs != nil {
		fs = make([]tenant.Finding, len(rs))
	}
	var res *accept.Result
	if a != nil {
		res = &accept.Result{Marks: make([]*accept.Mark, len(rs)), Applied: a.Applied, Expired: a.Expired}
	}
	for i, r := range rs {
		fs[i] = r.Finding
		if res != nil {
			res.Marks[i] = r.Accepted
		}
	}
	return fs, res
}
