// Package midnight is the simulated tenant's second story: "Veldhaven
// Port Authority", a fictional port operator attacked the way the actor
// behind APT29 (Midnight Blizzard, Storm-2372) worked in 2024–2025 —
// password spray against a legacy account excluded from MFA, a new OAuth
// app given a credential and Exchange Online full_access_as_app, a
// foreign app consented to mail, device-code phishing through the
// Microsoft Authentication Broker with a rogue device registration, a
// federated identity credential on a mail-capable app and a domain made
// federated — each beside benign look-alikes (data/, described in
// README.md beside this file), and a story of six attack steps that replay
// the techniques against the running tenant (story.go).
//
//	sc := midnight.Scenario()
//	sim, err := graphsim.New(&graphsim.Options{Scenario: sc})
//	want, _ := sc.Expected() // what a scan must report
//	res, err := sim.Attack(ctx, midnight.StepDeviceCode)
//
// Like the emulator it never imports detection code: expected findings are
// written from the rules' catalogue, never produced by running a detector.
package midnight

import (
	"embed"
	"io/fs"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// Name is the scenario's name for `tenantwatch sim --scenario`.
const Name = "midnight"

//go:embed data/*.json
var files embed.FS

// Scenario returns the midnight scenario: its data and its attack story.
func Scenario() *graphsim.Scenario {
	data, err := fs.Sub(files, "data")
	if err != nil {
		panic(err) // the embedded folder exists: not reached
	}
	return &graphsim.Scenario{Name: Name, Data: data, Story: newStory}
}

// Expected returns every finding planted in the scenario, including those
// its benign noise legitimately produces. It fails only if the embedded
// data is malformed.
func Expected() ([]graphsim.ExpectedFinding, error) { return Scenario().Expected() }

// Decoys returns the scenario's look-alikes. It fails only if the embedded
// data is malformed.
func Decoys() ([]graphsim.Decoy, error) { return Scenario().Decoys() }

// IncidentsExpected returns the incidents a scan of the scenario must
// report (data/incidents-expected.json): each attack chain one incident,
// no decoy in any. It fails only if the embedded data is malformed.
func IncidentsExpected() ([]graphsim.ExpectedIncident, error) { return Scenario().IncidentsExpected() }
