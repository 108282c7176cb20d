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
