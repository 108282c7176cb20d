package graphsim

import "fmt"

// incidentsExpectedFile lists the incidents a scan of the scenario must
// report (data, not detection code: graphsim never imports it).
const incidentsExpectedFile = "incidents-expected.json"

// ExpectedIncident is one incident a scan must report: exactly these
// findings (rule and subject id, as in ExpectedFinding), at this severity.
type ExpectedIncident struct {
	Name     string           `json:"name"` // what the chain is, for people
	Severity string           `json:"severity"`
	Findings []IncidentMember `json:"findings"`
	Why      string           `json:"why"`
}

// IncidentMember names one finding of an expected incident.
type IncidentMember struct {
	Rule      string `json:"rule"`
	SubjectID string `json:"subjectId"`
}

// IncidentsExpected returns the incidents a scan that reads the scenario's
// Graph data and Exchange audit records must report
// (incidents-expected.json; none when the scenario has none). It fails only
// if the file is malformed.
func (sc *Scenario) IncidentsExpected() ([]ExpectedIncident, error) {
	out := []ExpectedIncident{}
	if err := readJSONFile(sc.Data, incidentsExpectedFile, &out); err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: expected incidents: %w", sc.Name, err)
	}
	return out, nil
}
