package detect

import (
	"context"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Detector is one rule.
type Detector interface {
	// Rule describes the rule; it is the same for every finding.
	Rule() tenant.Rule
	// Detect returns the rule's findings for in. Findings need Subject,
	// Evidence and Key; the runner fills Rule, Title, MITRE, a default
	// Severity and a default ObservedAt.
	Detect(ctx context.Context, in *Input) ([]tenant.Finding, error)
}

// Config holds the tunable definitions the rules share.
type Config struct {
	// DormantAfter: a user with no successful sign-in for this long is
	// dormant. Default 90 days.
	DormantAfter time.Duration
	// NewAccountWithin: an account created less than this long ago is new.
	// Default 14 days.
	NewAccountWithin time.Duration
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{DormantAfter: 90 * 24 * time.Hour, NewAccountWithin: 14 * 24 * time.Hour}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DormantAfter <= 0 {
		c.DormantAfter = d.DormantAfter
	}
	if c.NewAccountWithin <= 0 {
		c.NewAccountWithin = d.NewAccountWithin
	}
	return c
}

// Input is what detectors read: one snapshot, the Azure ranges (nil when no
// Service Tags file was given) and the time the run is judged at.
type Input struct {
	Snapshot *tenant.Snapshot
	Azure    *azureip.Set
	Now      time.Time
	Config   Config

	idx *index // built once by Run (or lazily by index())
}
