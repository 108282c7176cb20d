package apt29_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
)

// TestMailCollectionReadsExecutives: the story's Exchange ending reads
// three executives' mailboxes (a job title naming a director, head, chief
// or counsel) and exempts one of them from auditing, as the story says.
func TestMailCollectionReadsExecutives(t *testing.T) {
	sim := newSim(t, nil)
	for _, step := range []string{apt29.StepSPBackdoor} {
		if _, err := sim.Attack(t.Context(), step); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	res, err := sim.Attack(t.Context(), apt29.StepMailCollection)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]string{}
	for _, u := range listAll(t, sim.Handler(), "/v1.0/users?%24select=id,jobTitle&%24top=999") {
		id, _ := u["id"].(string)
		title, _ := u["jobTitle"].(string)
		titles[strings.ToLower(id)] = title
	}
	var bypassed []string
	for _, e := range res.Expected {
		if e.Rule == "exo.mailbox-audit-bypass" {
			bypassed = append(bypassed, e.SubjectID)
		}
	}
	if len(bypassed) != 1 {
		t.Fatalf("the step exempts %d accounts, want one: %+v", len(bypassed), res.Expected)
	}
	title := titles[strings.ToLower(bypassed[0])]
	if !slices.ContainsFunc([]string{"director", "head of", "chief", "counsel"}, func(w string) bool {
		return strings.Contains(strings.ToLower(title), w)
	}) {
		t.Errorf("the exempted account %s is a %q, not an executive", bypassed[0], title)
	}
	var why string
	for _, e := range res.Expected {
		if e.Rule == "mail.app-collection" {
			why = e.Why
		}
	}
	if !strings.Contains(why, "on 3 mailboxes") {
		t.Errorf("mail.app-collection: %q, want three mailboxes read", why)
	}
}
