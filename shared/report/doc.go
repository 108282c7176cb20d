// Package report renders the result of a scan for the people and tools that
// read it: findings.json (a stable contract for other tools), findings.csv
// (for a spreadsheet), report.html (one self-contained page for a browser)
// and a short plain-text summary for the terminal.
//
// # Input
//
// A Document carries the findings (already sorted by the caller), the rules
// that were skipped and the data sources that could not be read, and the rule
// catalogue, so that a report shows what was checked as well as what was
// found. WriteDir writes the three files into a directory as one set: each
// is rendered to a temporary file in that directory, the earlier files are
// kept under backup names, and the new ones are renamed into place only once
// all three are complete; if any step fails, the files already replaced are
// put back, so the directory holds the earlier set or the new one, never a
// mix and never a half-written file.
// The files are created with mode 0600: they describe the tenant's
// weaknesses.
// Render returns the same three files in memory, with their media types,
// for a caller that stores them elsewhere (shared/blobstore uploads them
// to Blob Storage). The package renders only: it does no network I/O and
// imports no Azure SDK.
//
// # findings.json
//
// Exactly {"generatedAt", "tenantId", "findings", "skipped"}: findings and
// skipped are arrays (never null), times are RFC 3339 in UTC, a finding is
// tenant.Finding's JSON encoding, indentation is two spaces and the file ends
// with a newline. HTML-significant characters are escaped as encoding/json
// does by default (< becomes \u003c), so the file is harmless if served, and
// so are DEL and the C1 controls (U+0080–U+009F), which encoding/json leaves
// raw, so that printing the file cannot drive a terminal.
// ReadJSON reads it back; evidence numbers come back as json.Number, so that
// ReadJSON followed by WriteJSON reproduces the file byte for byte.
//
// # findings.csv
//
// A header row (severity, rule, title, subjectType, subjectId, subjectName,
// observedAt, mitre, key, evidence), then one row per finding; mitre ids are
// joined with ";" and evidence is compact JSON. The file starts with a UTF-8
// byte order mark, without which Excel reads it as the local code page and
// mangles non-ASCII names; tools reading it with encoding/csv must strip the
// mark from the first header cell. Rows end with CRLF (RFC 4180, and what
// Excel writes itself). A cell holds no control character: tabs and line
// breaks (CR, LF, VT, FF, U+0085, U+2028, U+2029) become spaces, so one row
// is one line and a name cannot forge a row, and every other C0 or C1
// control and DEL is removed (ESC, BEL, NUL, CSI U+009B …), so that `cat
// findings.csv` cannot drive a terminal; invalid UTF-8 becomes U+FFFD. To
// defeat formula injection, a cell is then prefixed with a single quote when
// its first character after leading white space and invisible formatting
// characters is =, +, -, @ or a full-width or small form of them
// (＝＋－＠﹦﹢﹣﹫). Quoting is left to encoding/csv.
//
// # report.html
//
// One file, written by hand (htmlwrite.go; not with html/template, whose
// reflection would make the linker keep every exported method the binary
// can reach): inline CSS (its SHA-256 hash is the only source a strict
// Content-Security-Policy allows), no scripts, fonts or images, printable. It shows the tenant, the generation time and the
// audit/sign-in window; counts by severity; the skipped checks and
// unavailable data sources (blind spots) near the top; every rule in the
// catalogue with its count, including zero; then each finding with its
// evidence as nested definition lists and tables. MITRE ATT&CK ids matching
// ^T\d{4}(\.\d{3})?$ link to attack.mitre.org; nothing else is a link, and
// no tenant data is placed in an attribute. Markup is constant; everything
// else is escaped for the one context it appears in, element text or a
// double-quoted attribute value, as html/template escapes it there (& < > "
// ' + become character references, NUL becomes U+FFFD).
//
// # Tenant-controlled text
//
// Display names, user principal names, certificate names, URLs and other
// evidence are attacker-controlled. JSON carries them verbatim (control
// characters escaped), CSV likewise but for the control characters and the
// formula prefix above. HTML escapes them contextually and, like the terminal
// summary, shows C0 and C1 control characters, format characters (Unicode
// category Cf: bidirectional embeddings, overrides and isolates, directional
// marks, zero-width space, non-joiner and joiner U+200B–U+200D, word joiner
// U+2060, byte order mark U+FEFF, soft hyphen, tag characters) and
// line/paragraph separators as \uXXXX, and invalid UTF-8 bytes as \xXX, so a
// name cannot reorder or rewrite what is around it, nor pass for another.
// Newlines and tabs are escaped too, except inside HTML evidence values,
// where they are kept as layout.
package report
