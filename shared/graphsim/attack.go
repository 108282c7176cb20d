package graphsim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A scenario's story (Scenario.Story) replays attack techniques against
// the running tenant, one step at a time, so that a test or demo can watch
// the serverless app notice them. Each step picks its target from the
// data (never a hard-coded id), changes objects and logs through the
// mutation API (Change) the way Graph would show the technique, and
// returns what it changed with the findings (rule, subject) the change
// should produce.

// Sentinel errors of Attack.
const (
	ErrUnknownStep = constError("graphsim: unknown attack step")
	ErrNoCandidate = constError("graphsim: no object in the tenant fits the attack step")
)

// ExpectedFinding is one finding a scan must report: listed by a
// scenario (Scenario.Expected) or by an attack step (AttackResult), and
// matched on Rule, SubjectID and Severity.
type ExpectedFinding struct {
	Rule        string `json:"rule"`
	SubjectType string `json:"subjectType"` // user, servicePrincipal, application, tenant
	SubjectID   string `json:"subjectId"`
	SubjectName string `json:"subjectName"`
	Severity    string `json:"severity"` // low, medium, high
	Why         string `json:"why"`
}

// Decoy is a subject that imitates Rule: the scanner must not report
// SubjectID for Rule.
type Decoy struct {
	Rule      string `json:"rule"`
	SubjectID string `json:"subjectId"`
	Why       string `json:"why"`
}

// AttackChange is one object or log entry a step changed or added.
type AttackChange struct {
	Kind       string   `json:"kind"` // an ObjectKind, or LogDirectoryAudits / LogSignIns
	ID         string   `json:"id"`
	Name       string   `json:"name,omitempty"`
	Properties []string `json:"properties,omitempty"` // changed properties of an object
	What       string   `json:"what"`
}

// AttackResult says what a step did.
type AttackResult struct {
	Step    string         `json:"step"`
	At      time.Time      `json:"at"` // tenant clock
	Changed []AttackChange `json:"changed"`
	// Expected are the findings the change should produce (rule, subject,
	// severity as the rule catalogue defines it), derived from the changed
	// data.
	Expected []ExpectedFinding `json:"expected"`
	// Cleared are findings of the scenario's Expected that the change
	// makes false, such as a dormant account that is no longer dormant.
	Cleared []ExpectedFinding `json:"cleared,omitempty"`
	// Notified lists the subscriptions a change notification was sent to.
	Notified []string `json:"notified,omitempty"`
}

// AttackSteps lists the loaded scenario's attack steps in story order
// (none without a story).
func (s *Server) AttackSteps() []string {
	if s.story == nil {
		return []string{}
	}
	return s.story.Steps()
}

// Attack runs one step of the loaded scenario's story and returns what it
// changed and the findings it should produce. Steps run one at a time. It
// fails with ErrUnknownStep (not a step of the story), or ErrNoCandidate
// when the tenant has nothing the step can use (a step already run on
// every candidate).
func (s *Server) Attack(ctx context.Context, step string) (AttackResult, error) {
	if err := ctx.Err(); err != nil {
		return AttackResult{}, err
	}
	steps := s.AttackSteps()
	if !slices.Contains(steps, step) {
		if len(steps) == 0 {
			return AttackResult{}, fmt.Errorf("%w %q (scenario %s has no attack steps)", ErrUnknownStep, step, s.scenario)
		}
		return AttackResult{}, fmt.Errorf("%w %q (want one of %s)", ErrUnknownStep, step, strings.Join(steps, ", "))
	}
	s.attackMu.Lock()
	defer s.attackMu.Unlock()
	res, err := s.story.Run(ctx, step)
	if err != nil {
		return AttackResult{}, err
	}
	s.log.Info("graphsim: attack step", "step", step, "changed", len(res.Changed), "expected", len(res.Expected))
	return res, nil
}
