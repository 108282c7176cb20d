package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/blobstore"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
	"github.com/tenantwatch/tenantwatch/shared/store"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// stepStory says what each attack step is, in the report's words.
var stepStory = map[string]string{
	apt29.StepDisableAudit:    "the attacker disables Advanced Auditing on a user through licensing (MailItemsAccessed stops)",
	apt29.StepDormantTakeover: "the attacker takes over a dormant account and registers MFA from an Azure virtual machine",
	apt29.StepSPBackdoor:      "the attacker adds a backdated certificate named after a mail-reading service principal",
	apt29.StepReplyURL:        "the attacker adds a reply URL to the same application",
	apt29.StepMailCollection:  "the attacker exempts an executive from mailbox auditing, grants the app ApplicationImpersonation, and the app reads three executives' mail from Azure (Exchange audit records: the Management Activity API's webhook, one blob published late and out of order)",

	midnight.StepPasswordSpray:       "the actor sprays passwords over legacy protocols from residential-looking addresses of one /24 and gets into a dormant account that every MFA policy excludes",
	midnight.StepOAuthApp:            "as that account, the actor creates an OAuth app, gives it a client secret and grants it Exchange Online full_access_as_app",
	midnight.StepDeviceCode:          "a member types the actor's device code: the Microsoft Authentication Broker gets a token for the Device Registration Service",
	midnight.StepRogueDevice:         "with it the actor registers a device (Workplace, unmanaged) and signs in with its primary refresh token",
	midnight.StepFederatedCredential: "the actor adds a federated identity credential trusting an outside repository's pull requests to the mail-capable app",
	midnight.StepDomainFederation:    "the actor makes a verified domain federated, trusting an issuer and signing certificate it holds",
}

// webhookDriven says which steps reach the app through a Graph change
// notification (users) rather than a poll.
var webhookDriven = map[string]bool{apt29.StepDisableAudit: true}

// Run plays the whole story and prints it to out: installation (one posture
// digest), then each attack step with the time from attack to card.
func Run(ctx context.Context, o Options, out io.Writer) error {
	name := "apt29"
	if o.Sim.Scenario != nil {
		name = o.Sim.Scenario.Name
	}
	fmt.Fprintf(out, "demo: scenario %s: starting Azurite, the simulated tenant (live), a Teams webhook receiver and the Functions host\n", name)
	e, err := Start(ctx, o)
	if err != nil {
		return err
	}
	defer e.Close()
	threshold, err := tenant.ParseSeverity(e.Settings["TENANTWATCH_ALERT_SEVERITY"])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo: handler ready %s after its process started; functions at %s/api/\n", e.Host.ReadyAfter().Round(time.Millisecond), e.Host.HTTPURL())

	installCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := e.WaitSubscriptions(installCtx); err != nil {
		return err
	}
	fmt.Fprintln(out, "demo: the app subscribed to users and groups (Graph validated the notification URL)")
	digest, err := e.WaitCard(installCtx, 0, func(c Card) bool { return c.Digest })
	if err != nil {
		return fmt.Errorf("demo: no posture digest after installation: %w", err)
	}
	fmt.Fprintf(out, "demo: installation posted ONE digest card (the standing posture), not a storm:\n")
	printCard(out, digest)
	if err := e.WaitInstalled(installCtx); err != nil {
		return err
	}
	if err := e.WaitActivity(installCtx); err != nil {
		return err
	}
	fmt.Fprintln(out, "demo: the app started the Audit.Exchange subscription with its webhook (the Management Activity API validated ActivityNotifications) and read the API's 7 days as the baseline")
	fmt.Fprintf(out, "demo: baselines built; %d card(s) so far\n\n", len(e.Receiver.Cards()))

	type row struct {
		step, rule, subject, how string
		latency                  time.Duration
	}
	var rows []row
	for i, step := range e.Sim.AttackSteps() {
		fmt.Fprintf(out, "step %d: %s\n", i+1, stepStory[step])
		stepCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		res, err := e.Play(stepCtx, step, threshold)
		cancel()
		if err != nil {
			return err
		}
		how := "polled"
		if webhookDriven[step] {
			how = "webhook"
		}
		if step == apt29.StepMailCollection {
			how = "feed"
		}
		printed := make(map[string]bool) // an incident card may announce several findings
		for _, c := range res.Cards {
			if k := string(c.Card.Body); !printed[k] {
				printed[k] = true
				fmt.Fprintf(out, "  card after %s (%s): ", c.Latency.Round(100*time.Millisecond), how)
				printCard(out, c.Card)
			}
			rows = append(rows, row{step, c.Expected.Rule, c.Expected.SubjectName, how, c.Latency})
		}
		for _, x := range res.Digested {
			fmt.Fprintf(out, "  below the %s threshold, in the next digest: %s on %s (%s)\n", threshold, x.Rule, x.SubjectName, x.Severity)
		}
		fmt.Fprintln(out)
	}

	fmt.Fprintln(out, "demo: attack to card")
	for _, r := range rows {
		fmt.Fprintf(out, "  %-17s %-36s %-40s %-8s %s\n", r.step, r.rule, r.subject, r.how, r.latency.Round(100*time.Millisecond))
	}
	if names, err := e.Reports(ctx); err == nil && len(names) > 0 {
		fmt.Fprintf(out, "demo: the daily report landed in Azurite (container %q): %s\n", blobstore.DefaultContainer, strings.Join(names, ", "))
	} else {
		return fmt.Errorf("demo: the report did not land in Azurite: %v", err)
	}
	st := e.Host.Stats()
	fmt.Fprintf(out, "demo: %d cards received by the webhook, %d Graph requests served, %d change notifications delivered\n",
		len(e.Receiver.Cards()), e.Sim.Stats().Total, len(e.Sim.Deliveries()))
	for _, name := range []string{"GraphNotifications", "ProcessChanges", "PollDirectory", "PollSignIns", "DailySweep", "RenewSubscriptions", "DeliverAlerts", "ActivityNotifications", "ProcessActivity", "PollActivity"} {
		fs := st.Functions[name]
		note := ""
		if name == "DailySweep" && fs.Invocations == 0 {
			note = " (the first sweep ran inside the first PollDirectory)"
		}
		fmt.Fprintf(out, "  %-20s %4d invocations, %d failed%s\n", name, fs.Invocations, fs.Failures, note)
	}
	return nil
}

// printCard prints a card the way Teams would headline it.
func printCard(out io.Writer, c Card) {
	if c.Digest {
		fmt.Fprintf(out, "[digest] %s\n", c.Title)
		for i, l := range c.Lines {
			if i == 8 {
				fmt.Fprintf(out, "      … %d more lines\n", len(c.Lines)-i)
				break
			}
			fmt.Fprintf(out, "      %s\n", l)
		}
		return
	}
	switch {
	case c.FollowUp:
		fmt.Fprintf(out, "[follow-up of %s] %s\n", c.Incident, c.Title)
	case c.Incident != "":
		fmt.Fprintf(out, "[incident %s] %s\n", c.Incident, c.Title)
	default:
		fmt.Fprintf(out, "[card] %s — %s (%s)\n", c.Title, c.Subject, c.Rule)
	}
}

// WaitInstalled waits until the users, service principal and application
// baselines and the log watermarks exist.
func (e *Env) WaitInstalled(ctx context.Context) error {
	t, err := store.NewTablesFromConnectionString(e.Azurite.ConnectionString(), &store.TablesOptions{Prefix: e.tablePrefix()})
	if err != nil {
		return err
	}
	for {
		done := true
		for _, name := range []string{"delta-users", "delta-servicePrincipals", "delta-applications", "audits", "signins", "sweep"} {
			c, err := t.Cursor(ctx, name)
			if err != nil || !c.Exists() {
				done = false
				break
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: installation did not finish: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (e *Env) tablePrefix() string {
	if p := e.Settings["TENANTWATCH_TABLE_PREFIX"]; p != "" {
		return p
	}
	return "tw"
}

// Reports lists the report blobs in Azurite.
func (e *Env) Reports(ctx context.Context) ([]string, error) {
	b, err := blobstore.NewContainerFromConnectionString(e.Azurite.ConnectionString(), blobstore.DefaultContainer, nil)
	if err != nil {
		return nil, err
	}
	return b.List(ctx, "")
}
