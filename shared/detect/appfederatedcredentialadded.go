package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// federatedCredentialAdded finds federated identity credentials added to
// applications: a trust that lets tokens of an outside issuer sign in as
// the app, with no secret to find.
type federatedCredentialAdded struct{}

func newFederatedCredentialAdded() Detector { return federatedCredentialAdded{} }

func (federatedCredentialAdded) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "app.federated-credential-added",
		Title: "Federated identity credential added to an application",
		Description: "A federated identity credential was added to an application (\"Update application\" with " +
			"FederatedIdentityCredentials; an issuer or subject changed counts as added): tokens the issuer mints for the subject " +
			"sign in as the app. High; critical when the app can read mail (its service principal holds a mail role or a " +
			"delegated mail grant) or the trust is unusual: a wildcard in the subject or issuer, a GitHub pull_request subject, " +
			"or an issuer outside the known list (GitHub Actions, this tenant's Entra issuers, AKS, Azure DevOps, GitLab.com, " +
			"Terraform Cloud, Google, Amazon EKS). The federated credentials read for mail-capable apps report such unusual " +
			"trusts too.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.001", "T1484.002"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits},
	}
}

// knownIssuers are the issuers of workload identity federation that are
// not unusual by themselves (Microsoft's workload identity federation
// documentation names them), as patterns on the issuer URL. Entra's own
// issuers count only for this tenant: another tenant's is a cross-tenant
// trust.
var knownIssuers = []struct {
	name string
	re   *regexp.Regexp
}{
	{"GitHub Actions", regexp.MustCompile(`^https://token\.actions\.githubusercontent\.com/?$`)},
	{"Azure Kubernetes Service", regexp.MustCompile(`^https://[a-z0-9-]+\.oic\.prod-aks\.azure\.com/[0-9a-f-]{36}/[0-9a-f-]{36}/?$`)},
	{"Azure DevOps", regexp.MustCompile(`^https://vstoken\.dev\.azure\.com/[0-9a-f-]{36}/?$`)},
	{"GitLab.com", regexp.MustCompile(`^https://gitlab\.com/?$`)},
	{"Terraform Cloud", regexp.MustCompile(`^https://app\.terraform\.io/?$`)},
	{"Google", regexp.MustCompile(`^https://accounts\.google\.com/?$`)},
	{"Amazon EKS", regexp.MustCompile(`^https://oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/[0-9a-f]+/?$`)},
}

var entraIssuer = regexp.MustCompile(`^https://(?:login\.microsoftonline\.com/([0-9a-f-]{36})/v2\.0|sts\.windows\.net/([0-9a-f-]{36}))/?$`)

// issuerRisk says why a federated credential's trust is unusual, if it is.
func issuerRisk(f tenant.FederatedCredential, home string) (known string, reasons []string) {
	issuer := strings.ToLower(strings.TrimSpace(f.Issuer))
	if strings.Contains(f.Subject, "*") || strings.Contains(issuer, "*") {
		reasons = append(reasons, "wildcard in the subject or issuer")
	}
	if m := entraIssuer.FindStringSubmatch(issuer); m != nil {
		t := m[1] + m[2]
		if home != "" && t == home {
			known = "Microsoft Entra ID (this tenant)"
		} else {
			reasons = append(reasons, "Entra issuer of another tenant ("+t+")")
		}
	}
	for _, k := range knownIssuers {
		if known == "" && k.re.MatchString(issuer) {
			known = k.name
		}
	}
	if known == "" && entraIssuer.FindStringSubmatch(issuer) == nil {
		host := issuer
		if u, err := url.Parse(issuer); err == nil && u.Host != "" {
			host = u.Host
		}
		reasons = append(reasons, "issuer not in the known list ("+host+")")
	}
	if known == "GitHub Actions" && strings.HasSuffix(strings.ToLower(strings.TrimSpace(f.Subject)), ":pull_request") {
		reasons = append(reasons, "GitHub pull_request subject: any pull request, forks included, gets a token")
	}
	return known, reasons
}

// fedCredKey names a federated credential in keys: a hash of its issuer
// and subject (both attacker-chosen text).
func fedCredKey(f tenant.FederatedCredential) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(f.Issuer) + "\n" + strings.TrimSpace(f.Subject)))
	return hex.EncodeToString(sum[:])[:16]
}

// mailCapable says why an app can read mail: its service principal holds
// mail roles or delegated mail grants, or an earlier finding said so.
func mailCapable(in *Input, o appObject, held map[string][]heldMailRole, delegated map[string][]delegatedMail) []string {
	var why []string
	if o.SPID != "" {
		if hs := held[lowerID(o.SPID)]; len(hs) > 0 {
			why = append(why, "holds mail permissions: "+strings.Join(roleNames(hs), ", "))
		}
		if gs := delegated[lowerID(o.SPID)]; len(gs) > 0 {
			var scopes []string
			for _, g := range gs {
				scopes = append(scopes, g.Scopes...)
			}
			why = append(why, "holds delegated mail grants: "+strings.Join(mailScopes(scopes), ", "))
		}
	}
	for _, p := range in.Snapshot.Prior {
		if (p.Rule == "app.mail-permission-granted" || p.Rule == "sp.mail-access") && priorOnApp(p, o, o.AppID) {
			why = append(why, "reported earlier by "+p.Rule)
			break
		}
	}
	return why
}

func (d federatedCredentialAdded) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	home := lowerID(s.Organization.ID)
	held := mailRolesHeld(in, newMailCatalogue(in))
	delegated := delegatedMailGrants(in)
	byKey := make(map[string]*tenant.Finding)
	var order []string

	add := func(o appObject, f tenant.FederatedCredential, source string, rec *tenant.AuditEvent) {
		known, reasons := issuerRisk(f, home)
		if rec == nil && len(reasons) == 0 {
			return // a credential read from state is reported only when its trust is unusual
		}
		k := findingKey(d.Rule().ID, clientKey(o), fedCredKey(f))
		if fd := byKey[k]; fd != nil {
			fd.Evidence["sources"] = appendOnce(fd.Evidence["sources"].([]string), source)
			return
		}
		ev := map[string]any{
			"issuer":    f.Issuer,
			"subject":   f.Subject,
			"audiences": append([]string{}, f.Audiences...),
			"sources":   []string{source},
		}
		putAny(ev, "credentialName", f.Name)
		putAny(ev, "knownIssuer", known)
		o.putIdentity(ev)
		fd := &tenant.Finding{Subject: o.subject(), Evidence: ev, Key: k, Severity: tenant.SeverityHigh}
		if rec != nil {
			putEvent(ev, *rec)
			fd.ObservedAt = rec.Time
		}
		var critical []string
		if why := mailCapable(in, o, held, delegated); len(why) > 0 {
			critical = append(critical, why...)
			ev["mailCapable"] = true
		}
		if len(reasons) > 0 {
			ev["unusualTrust"] = reasons
			critical = append(critical, reasons...)
		}
		if len(critical) > 0 {
			fd.Severity = tenant.SeverityCritical
			ev["criticalBecause"] = critical
		}
		if !s.Available(tenant.SourceResourceGrants) || !s.Available(tenant.SourceDelegatedGrants) {
			ev["mailAccessChecked"] = false
		}
		byKey[k] = fd
		order = append(order, k)
	}

	for _, c := range audit.FederatedCredentialChanges(in.audits()) {
		o := resolveAppObject(in, c.Object)
		rec := c.Record
		for _, f := range c.Added() {
			add(o, f, "auditLog", &rec)
		}
	}
	if s.Available(tenant.SourceFederatedCredentials) {
		for i := range s.Applications {
			a := &s.Applications[i]
			for _, f := range a.FederatedCredentials {
				add(applicationObject(in, a), f, "credentialState", nil)
			}
		}
	}
	out := make([]tenant.Finding, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}
