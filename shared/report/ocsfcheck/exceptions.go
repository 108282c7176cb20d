package ocsfcheck

// Omitted lists the recommended attributes that tenantwatch's
// findings.ocsf.jsonl leaves out, each with the reason. A check fails on
// any other recommended attribute that is missing.
func Omitted() Exceptions {
	return Exceptions{
		// The event.
		"base_event.observables":   "the subject is in resources and the evidence under evidences/unmapped; the observable object is not in the schema excerpt, so its shape could not be checked",
		"base_event.status_code":   "a finding has no source status code",
		"base_event.status_detail": "nothing to say beyond status (New, In Progress, Resolved)",
		"finding.confidence_id":    "the rule catalogue has no confidence per rule; none is invented",
		// finding_info.attacks[]
		"attack.tactic":        "the catalogue holds technique ids only; a technique belongs to several tactics (T1098: Persistence, Privilege Escalation), so choosing one would invent",
		"attack.version":       "the catalogue does not pin an ATT&CK matrix version",
		"attack.sub_technique": "set only when the MITRE id is a sub-technique (T1098.001)",
		"technique.name":       "the catalogue holds ids only; names are not invented",
		// metadata
		"metadata.log_name":      "the events are not read from a log; a SIEM sets its own",
		"metadata.original_time": "a finding is produced here, not transformed from a source event; its times are finding_info.first_seen_time/last_seen_time",
		"metadata.reporter":      "the reporter is the product itself (metadata.product)",
		"product.uid":            "tenantwatch has no product id beyond its name",
		// resources[]: a directory object
		"resource_details.hostname": "a directory object (user, service principal, application) has no host name",
		"resource_details.ip":       "a directory object has no IP address",
		"resource_details.owner":    "owners are not collected",
		"_resource.uid":             "empty only when an app named by an audit record did not resolve to an object id (README Outputs); the key says what identified it",
		"resource_details.name":     "empty only when Graph gave no display name",
		// evidences[]: one artifact per finding carries only the kinds that apply
		"evidences.actor":                "the actor object is not in the schema excerpt, so its shape could not be checked; actor fields stay in unmapped.evidence",
		"evidences.api":                  "not applicable: no API call artifact",
		"evidences.connection_info":      "not applicable",
		"evidences.container":            "not applicable",
		"evidences.database":             "not applicable",
		"evidences.databucket":           "not applicable",
		"evidences.device":               "not applicable: cloud directory findings",
		"evidences.dst_endpoint":         "not applicable",
		"evidences.email":                "not applicable",
		"evidences.file":                 "not applicable",
		"evidences.http_request":         "not applicable",
		"evidences.http_response":        "not applicable",
		"evidences.ja4_fingerprint_list": "not applicable",
		"evidences.job":                  "not applicable",
		"evidences.process":              "not applicable",
		"evidences.query":                "not applicable",
		"evidences.resources":            "the affected object is in the finding's resources",
		"evidences.script":               "not applicable",
		"evidences.src_endpoint":         "set only when the evidence names the source address (actorIp, ip); otherwise data carries the evidence",
		"evidences.tls":                  "not applicable",
		"evidences.url":                  "not applicable",
		"evidences.user":                 "the user object is not in the schema excerpt; the subject is in resources",
	}
}
