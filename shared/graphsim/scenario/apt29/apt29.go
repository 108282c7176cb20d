// Package apt29 is the simulated tenant's APT29 scenario: "Northbridge
// Institute for Foreign Policy", a fictional Brussels think tank in which
// every technique of Mandiant's "You Can't Audit Me" (2022) is planted
// beside benign noise and look-alike decoys (data/, described in
// README.md beside this file), and a story of four attack steps that
// replay the report's techniques against the running tenant (story.go).
//
//	sc := apt29.Scenario()
//	sim, err := graphsim.New(&graphsim.Options{Scenario: sc})
//	want, _ := sc.Expected() // what a scan must report
//	bad, _ := sc.Decoys()    // what it must not
//	res, err := sim.Attack(ctx, apt29.StepSPBackdoor)
//
// Like the emulator it never imports detection code: expected findings are
// written from the rules, never produced by running a detector.
package apt29

import (
	"embed"
	"io/fs"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// Name is the scenario's name for `tenantwatch sim --scenario`.
const Name = "apt29"

//go:embed data/*.json
var files embed.FS

// Scenario returns the apt29 scenario: its data and its attack story.
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

// ActivityExpected returns the findings the scenario's Exchange audit
// records (data/activity.json, served by the simulated Management
// Activity API) must produce once a scan reads them (issue 11); apart from
// Expected until then. It fails only if the embedded data is malformed.
func ActivityExpected() ([]graphsim.ExpectedFinding, error) { return Scenario().ActivityExpected() }

// IncidentsExpected returns the incidents a scan of the scenario must
// report (data/incidents-expected.json): each attack chain one incident.
// It fails only if the embedded data is malformed.
func IncidentsExpected() ([]graphsim.ExpectedIncident, error) { return Scenario().IncidentsExpected() }

// Decoys returns the scenario's look-alikes. It fails only if the embedded
// data is malformed.
func Decoys() ([]graphsim.Decoy, error) { return Scenario().Decoys() }
