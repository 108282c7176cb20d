package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// ScanOptions tune Scan. The zero value scans the last 720 hours with every
// detector, without Azure ranges.
type ScanOptions struct {
	Since     time.Duration     // audit and sign-in look-back; 0 = 720h
	Now       func() time.Time  // nil = time.Now
	Azure     *azureip.Set      // nil: signin.azure-ip is skipped
	NoAzure   string            // why Azure is nil, for the skip reason
	Config    detect.Config     // rule definitions; zero fields take defaults
	Detectors []detect.Detector // nil = detect.All()
	Progress  collect.Progress  // nil = silent
	Logger    *slog.Logger      // nil = discard
	// Activity is the Management Activity API; nil: the Exchange rules are
	// skipped ("not configured").
	Activity collect.ActivityFeed
}

// ScanResult is what a scan produced.
type ScanResult struct {
	Snapshot *tenant.Snapshot
	Rules    []tenant.Rule // the rules that were considered, in catalogue order
	Findings []tenant.Finding
	Skipped  []tenant.Skipped
}

// Scan collects a snapshot through r and runs the detectors over it. A
// collection failure returns (nil, err). When detectors fail, Scan returns
// the result of the others together with the error.
func Scan(ctx context.Context, r collect.Reader, opts *ScanOptions) (*ScanResult, error) {
	var o ScanOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Since <= 0 {
		o.Since = 720 * time.Hour
	}
	now := o.Now().UTC()
	snap, err := collect.Snapshot(ctx, r, &collect.SnapshotOptions{
		Since:    now.Add(-o.Since),
		Now:      func() time.Time { return now },
		Progress: o.Progress,
		Logger:   o.Logger,
		Activity: o.Activity,
	})
	if err != nil {
		return nil, err
	}
	return Detect(ctx, snap, &DetectOptions{Azure: o.Azure, NoAzure: o.NoAzure, Config: o.Config, Detectors: o.Detectors})
}

// DetectOptions tune Detect. The zero value runs every detector, without
// Azure ranges.
type DetectOptions struct {
	Azure     *azureip.Set      // nil: signin.azure-ip is skipped
	NoAzure   string            // why Azure is nil, for the skip reason
	Config    detect.Config     // rule definitions; zero fields take defaults
	Detectors []detect.Detector // nil = detect.All()
}

// Detect runs the detectors over a collected snapshot, as of the time it
// was collected: the second half of Scan, for a caller that collects
// through collect itself (the deployed app's daily sweep). When detectors
// fail, it returns the result of the others together with the error.
func Detect(ctx context.Context, snap *tenant.Snapshot, opts *DetectOptions) (*ScanResult, error) {
	var o DetectOptions
	if opts != nil {
		o = *opts
	}
	if o.Detectors == nil {
		o.Detectors = detect.All()
	}
	if o.Azure == nil {
		reason := o.NoAzure
		if reason == "" {
			reason = "no Azure IP ranges (Service Tags) file was given"
		}
		snap.MarkUnavailable(tenant.SourceAzureRanges, reason)
	}
	res, err := detect.Run(ctx, o.Detectors, &detect.Input{Snapshot: snap, Azure: o.Azure, Now: snap.CollectedAt, Config: o.Config})
	out := &ScanResult{Snapshot: snap, Findings: res.Findings, Skipped: res.Skipped}
	for _, d := range o.Detectors {
		out.Rules = append(out.Rules, d.Rule())
	}
	if err != nil {
		return out, fmt.Errorf("pipeline: scan: %w", err)
	}
	return out, nil
}
