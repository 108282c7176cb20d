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

	// The 2023–2025 rules (issue 12).

	// SprayAccounts: signin.password-spray fires when one address or
	// network fails for at least this many distinct accounts within
	// SprayWindow. Default 10.
	SprayAccounts int
	// SprayAddresses: … or one account fails from at least this many
	// distinct addresses within SprayWindow. Default 10.
	SprayAddresses int
	// SprayWindow is the sliding window of the spray counts (whole
	// 10-minute buckets). Default 1 h.
	SprayWindow time.Duration
	// DeviceCodeFollowUp: how long after a device-code (or broker) sign-in
	// a device registration, an MFA method added or a sign-in from a new
	// country or an Azure address counts as its follow-up. Default 1 h.
	DeviceCodeFollowUp time.Duration
	// RogueDeviceWindow: how long before a device registration a
	// device-code or Azure/unfamiliar sign-in of its user makes it high.
	// Default 24 h.
	RogueDeviceWindow time.Duration

	// The consent and app rules of issue 12 (rules-b).

	// ConsentUsers: app.consent-mail-scopes reports per-user consents with
	// mail scopes to one app when at least this many distinct users
	// consented in the run's window. Default 5.
	ConsentUsers int
	// ConsentNewAccountWithin: a consent by an account created less than
	// this long before it is critical. Default 7 days.
	ConsentNewAccountWithin time.Duration
	// AppChainWithin: app.new-app-with-credential-and-mail reports an app
	// created, given a credential and granted a mail role within this
	// span. Default 7 days.
	AppChainWithin time.Duration
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{DormantAfter: 90 * 24 * time.Hour, NewAccountWithin: 14 * 24 * time.Hour,
		SprayAccounts: 10, SprayAddresses: 10, SprayWindow: time.Hour,
		DeviceCodeFollowUp: time.Hour, RogueDeviceWindow: 24 * time.Hour,
		ConsentUsers: 5, ConsentNewAccountWithin: 7 * 24 * time.Hour, AppChainWithin: 7 * 24 * time.Hour}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DormantAfter <= 0 {
		c.DormantAfter = d.DormantAfter
	}
	if c.NewAccountWithin <= 0 {
		c.NewAccountWithin = d.NewAccountWithin
	}
	if c.SprayAccounts <= 0 {
		c.SprayAccounts = d.SprayAccounts
	}
	if c.SprayAddresses <= 0 {
		c.SprayAddresses = d.SprayAddresses
	}
	if c.SprayWindow < tenant.FailureBucketWidth {
		c.SprayWindow = d.SprayWindow
	}
	if c.DeviceCodeFollowUp <= 0 {
		c.DeviceCodeFollowUp = d.DeviceCodeFollowUp
	}
	if c.RogueDeviceWindow <= 0 {
		c.RogueDeviceWindow = d.RogueDeviceWindow
	}
	if c.ConsentUsers <= 0 {
		c.ConsentUsers = d.ConsentUsers
	}
	if c.ConsentNewAccountWithin <= 0 {
		c.ConsentNewAccountWithin = d.ConsentNewAccountWithin
	}
	if c.AppChainWithin <= 0 {
		c.AppChainWithin = d.AppChainWithin
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
