package report

// reportCSS is report.html's only style sheet. Its SHA-256 hash goes into the
// page's Content-Security-Policy, so it must reach the page unchanged; it
// uses classes only (style attributes would be blocked).
const reportCSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--link:#0550ae;
--crit:#7d1128;--high:#c62828;--med:#a84d00;--low:#1f5fbf;--info:#57606a;--warn-bg:#fff8e5;--warn:#b88700;--ok-bg:#eef8f0;--ok:#2f7d43;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:75rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 .5rem}
h2{font-size:1.25rem;margin:2rem 0 .75rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 .6rem;display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
h4{font-size:.9rem;margin:1rem 0 .3rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
a{color:var(--link)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.875em;overflow-wrap:anywhere}
.muted{color:var(--muted)}
header.top{border-bottom:2px solid var(--line);padding-bottom:1rem}
.meta,.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1.25rem;margin:0}
.meta dt,.facts dt{color:var(--muted)}
.meta dd,.facts dd{margin:0}
.badge{display:inline-block;min-width:5.2em;padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.78rem;font-weight:700;text-align:center;text-transform:uppercase;letter-spacing:.04em;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.badge.sev-critical{background:var(--crit)}.badge.sev-high{background:var(--high)}.badge.sev-medium{background:var(--med)}
.badge.sev-low{background:var(--low)}.badge.sev-info{background:var(--info)}.badge.sev-unknown{background:#000}
.counts{display:flex;flex-wrap:wrap;gap:.6rem;list-style:none;padding:0;margin:0 0 1rem}
.counts li{display:flex;align-items:center;gap:.6rem;border:1px solid var(--line);border-radius:.4rem;padding:.4rem .8rem}
.counts .n{font-size:1.35rem;font-weight:700;font-variant-numeric:tabular-nums}
.counts li.total{background:var(--soft)}
.note{border:1px solid var(--line);border-left:.35rem solid var(--ok);background:var(--ok-bg);border-radius:.3rem;padding:.6rem .9rem;margin:.75rem 0}
.note.warn{border-left-color:var(--warn);background:var(--warn-bg)}
.note p{margin:.2rem 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.35rem .6rem;border-bottom:1px solid var(--line)}
thead th{background:var(--soft);font-size:.85rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.skipped td{background:var(--warn-bg)}
.status-skipped{font-weight:700;color:#7a4b00}
.desc{display:block;color:var(--muted);font-size:.85rem}
.scroll{overflow-x:auto}
.finding{border:1px solid var(--line);border-left:.4rem solid var(--info);border-radius:.4rem;padding:1rem 1.2rem;margin:0 0 1rem;break-inside:avoid}
.finding.sev-critical{border-left-color:var(--crit)}.finding.sev-high{border-left-color:var(--high)}.finding.sev-medium{border-left-color:var(--med)}
.finding.sev-low{border-left-color:var(--low)}.finding.sev-unknown{border-left-color:#000}
.s{white-space:pre-wrap;overflow-wrap:anywhere}
.lit{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875em;color:var(--muted)}
dl.kv{margin:0;padding-left:.75rem;border-left:2px solid var(--line)}
dl.kv dt{font-weight:600;font-size:.85rem;margin-top:.35rem;overflow-wrap:anywhere}
dl.kv dd{margin:0 0 .15rem}
ol.list{margin:0;padding-left:1.6rem}
table.ev{font-size:.85rem}
table.ev th{background:var(--soft)}
ul.plain{margin:0;padding-left:1.2rem}
.empty{padding:1.25rem;border:1px dashed var(--line);border-radius:.4rem;color:var(--muted);text-align:center;font-size:1.05rem}
footer{margin-top:2.5rem;padding-top:.75rem;border-top:1px solid var(--line);color:var(--muted);font-size:.8rem}
@media (max-width:40rem){.page{padding:1rem}.meta,.facts{grid-template-columns:minmax(0,1fr)}.meta dd,.facts dd{margin-bottom:.35rem}}
@media print{body{font-size:10.5pt}.page{max-width:none;padding:0}a{color:inherit;text-decoration:none}
a[href]::after{content:" (" attr(href) ")";font-size:.8em;color:var(--muted)}
h2,h3{break-after:avoid}tr,.finding,.note{break-inside:avoid}.scroll{overflow:visible}
.note,tr.skipped td,thead th,.counts li.total{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`

// htmlTemplate is report.html. Attributes hold only constants, class names
// from a fixed set, RFC 3339 times, index-based anchors and the CSP; tenant
// strings appear only as element text.
const htmlTemplate = `{{define "mitre"}}{{range $i, $m := .}}{{if $i}}, {{end}}{{if $m.URL}}<a href="{{$m.URL}}" rel="noopener noreferrer">{{$m.ID}}</a>{{else}}<code>{{$m.ID}}</code>{{end}}{{else}}<span class="muted">—</span>{{end}}{{end -}}
{{define "value"}}
{{- if eq .Kind "text"}}<bdi class="s">{{.Text}}</bdi>
{{- else if eq .Kind "lit"}}<span class="lit">{{.Text}}</span>
{{- else if eq .Kind "list"}}<ol class="list">{{range .Items}}<li>{{template "value" .}}</li>{{end}}</ol>
{{- else if eq .Kind "map"}}<dl class="kv">{{range .Fields}}<dt>{{.Key}}</dt><dd>{{template "value" .Value}}</dd>{{end}}</dl>
{{- else if eq .Kind "table"}}<div class="scroll"><table class="ev"><thead><tr>{{range .Columns}}<th scope="col">{{.}}</th>{{end}}</tr></thead><tbody>{{range .Rows}}<tr>{{range .}}<td>{{template "value" .}}</td>{{end}}</tr>{{end}}</tbody></table></div>
{{- end}}
{{- end -}}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>tenantwatch report{{if .TenantName}}: {{.TenantName}}{{else if .TenantID}}: {{.TenantID}}{{end}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<div class="page">
<header class="top">
<h1>tenantwatch report</h1>
<dl class="meta">
<dt>Tenant</dt><dd>{{if .TenantName}}<bdi class="s">{{.TenantName}}</bdi>{{else}}<span class="muted">(name not recorded)</span>{{end}}</dd>
<dt>Tenant ID</dt><dd>{{if .TenantID}}<code>{{.TenantID}}</code>{{else}}<span class="muted">(not recorded)</span>{{end}}</dd>
<dt>Generated</dt><dd>{{if .Generated.Text}}<time datetime="{{.Generated.Attr}}">{{.Generated.Text}}</time>{{else}}<span class="muted">(not recorded)</span>{{end}}</dd>
<dt>Window</dt><dd>{{if .Since.Text}}audit and sign-in events from <time datetime="{{.Since.Attr}}">{{.Since.Text}}</time>{{if .Generated.Text}} to <time datetime="{{.Generated.Attr}}">{{.Generated.Text}}</time>{{end}}{{else}}<span class="muted">(not recorded)</span>{{end}}</dd>
{{- if .Version}}
<dt>Version</dt><dd>tenantwatch <code>{{.Version}}</code></dd>
{{- end}}
</dl>
</header>
<main>
<section id="summary">
<h2>Summary</h2>
<ul class="counts">
<li class="total"><span class="n">{{.Total}}</span> {{if eq .Total 1}}finding{{else}}findings{{end}}</li>
{{- range .Severities}}
<li><span class="badge {{.Class}}">{{.Name}}</span> <span class="n">{{.Count}}</span></li>
{{- end}}
</ul>
{{- if or .Skipped .Unavailable}}
<div class="note warn">
<p><strong>Blind spots.</strong>{{if .Skipped}} <a href="#skipped">{{len .Skipped}} {{if eq (len .Skipped) 1}}check was{{else}}checks were{{end}} skipped</a>: the tenant was not checked for what {{if eq (len .Skipped) 1}}it detects{{else}}they detect{{end}}.{{end}}{{if .Unavailable}} <a href="#unavailable">{{len .Unavailable}} data {{if eq (len .Unavailable) 1}}source{{else}}sources{{end}} could not be read</a>.{{end}}</p>
</div>
{{- else if .RuleCount}}
<div class="note"><p>Every rule in the catalogue ran and every data source was read.</p></div>
{{- end}}
{{- if .RuleCount}}
<p class="muted">{{.RulesRun}} of {{.RuleCount}} rules ran.</p>
{{- end}}
</section>
<section id="skipped">
<h2>Skipped checks</h2>
{{- if .Skipped}}
<div class="note warn"><p>These rules did not run, so the tenant was not checked for what they detect.</p></div>
<div class="scroll"><table>
<thead><tr><th scope="col">Rule</th><th scope="col">Reason</th></tr></thead>
<tbody>
{{- range .Skipped}}
<tr><td><code>{{.Rule}}</code>{{if .Title}}<span class="desc">{{.Title}}</span>{{end}}</td><td><span class="s">{{.Reason}}</span></td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p class="muted">None: no rule was skipped.</p>
{{- end}}
</section>
<section id="unavailable">
<h2>Unavailable data sources</h2>
{{- if .Unavailable}}
<div class="scroll"><table>
<thead><tr><th scope="col">Source</th><th scope="col">Reason</th><th scope="col">Rules that need it</th></tr></thead>
<tbody>
{{- range .Unavailable}}
<tr><td><code>{{.Source}}</code></td><td><span class="s">{{.Reason}}</span></td><td>{{range $i, $r := .Rules}}{{if $i}}, {{end}}<code>{{$r}}</code>{{else}}<span class="muted">none in the catalogue</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p class="muted">None: every data source was read.</p>
{{- end}}
</section>
<section id="rules">
<h2>Rules checked</h2>
{{- if .Rules}}
<div class="scroll"><table>
<thead><tr><th scope="col">Rule</th><th scope="col">Default severity</th><th scope="col">ATT&amp;CK</th><th scope="col">Status</th><th scope="col" class="num">Findings</th></tr></thead>
<tbody>
{{- range .Rules}}
<tr{{if .Skipped}} class="skipped"{{end}}><td><code>{{.ID}}</code>{{if .Title}}<span class="desc"><strong>{{.Title}}</strong></span>{{end}}{{if .Description}}<span class="desc">{{.Description}}</span>{{end}}{{if not .Known}}<span class="desc">(not in the rule catalogue)</span>{{end}}</td>
<td>{{if .Severity.Name}}<span class="badge {{.Severity.Class}}">{{.Severity.Name}}</span>{{end}}</td>
<td>{{template "mitre" .MITRE}}</td>
<td>{{if .Skipped}}<span class="status-skipped">skipped</span>{{else}}ran{{end}}</td>
<td class="num">{{.Count}}</td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p class="muted">No rule catalogue in this report.</p>
{{- end}}
</section>
<section id="findings">
<h2>Findings</h2>
{{- range .Findings}}
<article class="finding {{.Severity.Class}}" id="{{.Anchor}}">
<h3><span class="badge {{.Severity.Class}}">{{.Severity.Name}}</span> <span class="s">{{.Title}}</span></h3>
<dl class="facts">
<dt>Rule</dt><dd><code>{{.Rule}}</code></dd>
<dt>Subject</dt><dd>{{.SubjectType}}: {{if .SubjectName}}<bdi class="s">{{.SubjectName}}</bdi>{{else}}<span class="muted">(no name)</span>{{end}}<br>{{if .SubjectID}}<code>{{.SubjectID}}</code>{{else}}<span class="muted">object id not resolved (see appId in the evidence)</span>{{end}}</dd>
<dt>Observed</dt><dd>{{if .Observed.Text}}<time datetime="{{.Observed.Attr}}">{{.Observed.Text}}</time>{{else}}<span class="muted">(not recorded)</span>{{end}}</dd>
<dt>ATT&amp;CK</dt><dd>{{template "mitre" .MITRE}}</dd>
<dt>Key</dt><dd><code>{{.Key}}</code></dd>
</dl>
<h4>Evidence</h4>
{{template "value" .Evidence}}
</article>
{{- else}}
<p class="empty">No findings.</p>
{{- end}}
</section>
</main>
<footer>
<p>Generated by tenantwatch{{if .Version}} {{.Version}}{{end}}. Names, URLs and other evidence come from the tenant and are shown as text, never as links; control and text-direction characters in them are shown as \u escapes.</p>
</footer>
</div>
</body>
</html>
`
