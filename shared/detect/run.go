package detect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Result is what a run produced.
type Result struct {
	Findings []tenant.Finding // sorted: severity (high first), rule, subject name, key
	Skipped  []tenant.Skipped // rules that did not run, with the reason
}

// Run runs each detector over in. A detector whose Rule.Sources are not all
// available in the snapshot is skipped with the sources' reasons. Every
// finding is stamped with its rule's id, title, MITRE ids and default
// severity and observation time, then validated; findings with the same key
// are merged (the first wins). Run runs every detector even when some fail:
// it returns what the others found together with the joined errors.
func Run(ctx context.Context, ds []Detector, in *Input) (Result, error) {
	in.Config = in.Config.withDefaults()
	if in.Snapshot == nil {
		return Result{}, errors.New("detect: input has no snapshot")
	}
	if in.Now.IsZero() {
		in.Now = in.Snapshot.CollectedAt
	}
	in.index()

	var res Result
	var errs []error
	seen := make(map[string]bool)
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		r := d.Rule()
		if missing := in.Snapshot.MissingSources(r.Sources); len(missing) > 0 {
			res.Skipped = append(res.Skipped, tenant.Skipped{Rule: r.ID, Reason: skipReason(in.Snapshot, missing)})
			continue
		}
		fs, err := detectSafely(ctx, d, in)
		var skip *SkipError
		if errors.As(err, &skip) {
			res.Skipped = append(res.Skipped, tenant.Skipped{Rule: r.ID, Reason: skip.Reason})
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("detect: %s: %w", r.ID, err))
		}
		for _, f := range fs {
			f = stamp(r, f, in)
			if err := validate(f); err != nil {
				errs = append(errs, fmt.Errorf("detect: %s: %w", r.ID, err))
				continue
			}
			if seen[f.Key] {
				continue
			}
			seen[f.Key] = true
			res.Findings = append(res.Findings, f)
		}
	}
	SortFindings(res.Findings)
	return res, errors.Join(errs...)
}

// SkipError is returned by a detector that cannot judge the tenant for a
// reason other than a missing source (for example: no trusted named location
// is defined). Run records it in Result.Skipped instead of as a failure.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns a *SkipError with the reason.
func Skip(reason string) error { return &SkipError{Reason: reason} }

func skipReason(s *tenant.Snapshot, missing []tenant.Source) string {
	parts := make([]string, 0, len(missing))
	for _, src := range missing {
		parts = append(parts, string(src)+": "+s.Unavailable[src])
	}
	return strings.Join(parts, "; ")
}

// detectSafely runs one detector, turning a panic into an error so that one
// broken rule cannot hide the findings of the others.
func detectSafely(ctx context.Context, d Detector, in *Input) (fs []tenant.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			fs, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	return d.Detect(ctx, in)
}

func stamp(r tenant.Rule, f tenant.Finding, in *Input) tenant.Finding {
	f.Rule = r.ID
	f.Title = cmp.Or(f.Title, r.Title)
	if !f.Severity.Valid() {
		f.Severity = r.Severity
	}
	if f.MITRE == nil {
		f.MITRE = slices.Clone(r.MITRE)
	}
	if f.ObservedAt.IsZero() {
		f.ObservedAt = in.Now
	}
	f.ObservedAt = f.ObservedAt.UTC()
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	return f
}

func validate(f tenant.Finding) error {
	switch {
	case f.Key == "":
		return errors.New("finding has no key")
	case !strings.HasPrefix(f.Key, f.Rule+":"):
		return fmt.Errorf("finding key %q does not start with %q", f.Key, f.Rule+":")
	case f.Subject.ID == "" && !unresolvedApp(f) && !unresolvedAccount(f):
		return errors.New("finding has no subject id")
	case f.Subject.Type == "":
		return errors.New("finding has no subject type")
	}
	return nil
}

// unresolvedApp reports whether f is about a service principal or
// application whose object id no data the run holds resolves: the one case
// a subject has no id. The evidence must then say so (objectIdResolved:
// false) and the subject still be identified, by the appId evidence or a
// name. An app id is never put in the subject id.
func unresolvedApp(f tenant.Finding) bool {
	if f.Subject.Type != tenant.SubjectServicePrincipal && f.Subject.Type != tenant.SubjectApplication {
		return false
	}
	if r, ok := f.Evidence["objectIdResolved"].(bool); !ok || r {
		return false
	}
	appID, _ := f.Evidence["appId"].(string)
	return strings.TrimSpace(appID) != "" || strings.TrimSpace(f.Subject.Name) != ""
}

// unresolvedAccount reports whether f is about a user or group that an
// Exchange record names (an identity an admin typed: alias, name, UPN) and
// that no data the run holds resolves: the subject then has no id, its name
// is the identity, and the evidence says objectIdResolved: false.
func unresolvedAccount(f tenant.Finding) bool {
	if f.Subject.Type != tenant.SubjectUser && f.Subject.Type != tenant.SubjectGroup {
		return false
	}
	r, ok := f.Evidence["objectIdResolved"].(bool)
	return ok && !r && strings.TrimSpace(f.Subject.Name) != ""
}

// SortFindings orders findings for reports: severity descending, then rule,
// subject name and key.
func SortFindings(fs []tenant.Finding) {
	slices.SortStableFunc(fs, func(a, b tenant.Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(strings.ToLower(a.Subject.Name), strings.ToLower(b.Subject.Name)),
			cmp.Compare(a.Key, b.Key),
		)
	})
}
