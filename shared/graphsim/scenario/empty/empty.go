// Package empty is the simulated tenant's clean baseline: the apt29
// scenario's organization with Office 365 E3 and Entra ID P1, the
// Microsoft Graph and Exchange Online resource service principals, a
// trusted office location and an enabled Conditional Access policy
// protecting security-info registration, and nobody in it. With
// synthetic users (graphsim.Options.Users) it is the scale test; a scan of
// it should report nothing. It has no attack story.
package empty

import (
	"embed"
	"io/fs"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

// Name is the scenario's name for `tenantwatch sim --scenario`.
const Name = "empty"

//go:embed data/*.json
var files embed.FS

// Scenario returns the empty scenario (data only).
func Scenario() *graphsim.Scenario {
	data, err := fs.Sub(files, "data")
	if err != nil {
		panic(err) // the embedded folder exists: not reached
	}
	return &graphsim.Scenario{Name: Name, Data: data}
}
