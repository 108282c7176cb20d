#!/usr/bin/env python3
"""Generates shared/acceptance/testdata/foreign/*.json (run: python3 generate.py .): the Brackenfield
Cooperative Bank tenant. Times are placeholders {{now-3d+2h}} (optionally
{{now-3d|f}} for 7-digit fractional seconds) resolved by the Go test."""
import json, os, sys, uuid

OUT = sys.argv[1]
NS = uuid.UUID("9a1f3c6e-7d42-4b8e-a0c5-2f6e81d4b937")


def gid(key):
    return str(uuid.uuid5(NS, key))


TENANT = gid("tenant")
PARTNER = gid("partner-tenant")  # third-party ISV tenant
MSFT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
MSCORP = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DOMAIN = "brackenfieldcoop.onmicrosoft.com"

ADV = "2f442157-a11c-46b9-ae5b-6e39ff4e5849"
AUDIT_PLATFORM = "f6de4823-28fa-440b-b886-4783fa86ddba"
EXO_ENT = "efb87545-963c-4e0d-99df-69c6916d9eb0"
AADP2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
AADP1 = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
MFAP = "8a256a2b-b617-496d-b51b-e76466e88db0"
COMM_DLP = "6dc145d6-95dd-4191-b9c3-185575ee6f6b"
INFO_GOV = "e26c2fcc-ab91-4a61-b35c-03cdc8dddf66"

E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
E5C = "184efa21-98c3-4e5d-95ab-d07053a96e67"
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
SKUNAME = {E5: "SPE_E5", E5C: "INFORMATION_PROTECTION_COMPLIANCE", E3: "SPE_E3"}
SKUPLANS = {
    E5: [(ADV, "M365_ADVANCED_AUDITING", "Exchange"), (AUDIT_PLATFORM, "M365_AUDIT_PLATFORM", "Exchange"),
         (EXO_ENT, "EXCHANGE_S_ENTERPRISE", "exchange"), (AADP2, "AAD_PREMIUM_P2", "AADPremiumService"),
         (MFAP, "MFA_PREMIUM", "MultiFactorService")],
    E5C: [(COMM_DLP, "COMMUNICATIONS_DLP", "Exchange"), (ADV, "M365_ADVANCED_AUDITING", "Exchange"),
          (INFO_GOV, "INFO_GOVERNANCE", "Exchange")],
    E3: [(AUDIT_PLATFORM, "M365_AUDIT_PLATFORM", "Exchange"), (EXO_ENT, "EXCHANGE_S_ENTERPRISE", "exchange"),
         (AADP1, "AAD_PREMIUM", "AADPremiumService"), (MFAP, "MFA_PREMIUM", "MultiFactorService")],
}

GA = "62e90394-69f5-4237-9190-012177145e10"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"

GRAPH_APPID = "00000003-0000-0000-c000-000000000000"
EXO_APPID = "00000002-0000-0ff1-ce00-000000000000"
R = {  # Graph app roles
    "Mail.Read": "810c84a8-4a9e-49e6-bf7d-12d183f40d01",
    "Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
    "Mail.ReadBasic": "6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a",
    "Mail.ReadBasic.All": "693c5e45-0940-467d-9b8a-1022fb9d42ef",
    "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
    "MailboxSettings.Read": "40f97065-369a-49f4-947c-6a255697ae91",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
}
X = {  # Exchange Online app roles
    "full_access_as_app": "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
    "IMAP.AccessAsApp": "5e5addcd-3e8d-4e90-baf5-964efab2b20a",
    "POP.AccessAsApp": "cb842b43-da6e-4506-86fe-bb12199c656d",
    "Exchange.ManageAsApp": "dc50a0fb-09a3-484d-be87-e023b12c6440",
    "Exchange.ManageAsAppV2": "ea3d980d-ebc7-4be4-8298-a167e5b8797c",
    "Mail.Read": "810c84a8-4a9e-49e6-bf7d-12d183f40d01",
    "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
}


def T(off, frac=False):
    return "{{now" + off + ("|f" if frac else "") + "}}"


def J(v):
    """JSON text inside a string, as the directory audit log writes it."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------- users
users, regdetails, cast = [], [], []
U = {}  # key -> (id, upn, displayName)
ABSENT = object()


def plan_rows(lic):
    rows = []
    for l in lic:
        for pid, pname, svc in SKUPLANS[l["skuId"]]:
            rows.append({"assignedDateTime": "{{now-420d}}",
                         "capabilityStatus": "Deleted" if pid in l["disabledPlans"] else "Enabled",
                         "service": svc, "servicePlanId": pid})
    return rows


def user(key, name, created="-400d", enabled=True, utype="Member", sia="active", lic=None, las=None,
         mfa=True, methods=None, upn=None, job="Analyst", dept="Operations", capable=None):
    uid = gid("user/" + key)
    first, last = name.split(" ", 1)
    if upn is None:
        upn = (first + "." + last).lower().replace(" ", "").replace("ö", "o").replace("'", "") + "@" + DOMAIN
    U[key] = (uid, upn, name)
    if lic is None:
        lic = [{"disabledPlans": [], "skuId": E3}]
    o = {
        "@odata.type": "#microsoft.graph.user",
        "id": uid, "displayName": name, "givenName": first, "surname": last,
        "userPrincipalName": upn, "mail": None if utype == "Guest" else upn,
        "accountEnabled": enabled, "userType": utype, "createdDateTime": T(created) if created else None,
        "creationType": "Invitation" if utype == "Guest" else None,
        "externalUserState": "Accepted" if utype == "Guest" else None,
        "jobTitle": job, "department": dept, "officeLocation": "Cork",
        "usageLocation": "IE", "preferredLanguage": "en-IE", "businessPhones": [],
        "mobilePhone": None, "onPremisesSyncEnabled": None,
        "employeeId": None, "companyName": "Brackenfield Cooperative Bank",
        "assignedLicenses": lic,
        "assignedPlans": plan_rows(lic),
        "licenseAssignmentStates": las if las is not None else [
            {"assignedByGroup": None, "disabledPlans": l["disabledPlans"], "error": "None",
             "lastUpdatedDateTime": "{{now-300d}}", "skuId": l["skuId"], "state": "Active"} for l in lic],
    }
    if sia == "active":
        sia = {"lastSignInDateTime": T("-1d"), "lastSuccessfulSignInDateTime": T("-1d"),
               "lastNonInteractiveSignInDateTime": T("-6h")}
    if sia is not ABSENT:
        if sia is not None:
            full = {"lastSignInDateTime": None, "lastSignInRequestId": None,
                    "lastNonInteractiveSignInDateTime": None, "lastNonInteractiveSignInRequestId": None,
                    "lastSuccessfulSignInDateTime": None, "lastSuccessfulSignInRequestId": None}
            for k, v in sia.items():
                full[k] = v
                if v and not v.startswith("0001"):
                    full[k.replace("DateTime", "RequestId")] = gid("req/" + key + k)
            sia = full
        o["signInActivity"] = sia
    users.append(o)
    if methods is None:
        methods = ["microsoftAuthenticatorPush", "softwareOneTimePasscode"] if mfa else []
    regdetails.append({
        "@odata.type": "#microsoft.graph.userRegistrationDetails",
        "id": uid, "userPrincipalName": upn, "userDisplayName": name,
        "userType": "guest" if utype == "Guest" else "member",
        "isAdmin": False, "isSsprRegistered": mfa, "isSsprEnabled": True, "isSsprCapable": mfa,
        "isMfaRegistered": mfa, "isMfaCapable": mfa if capable is None else capable, "isPasswordlessCapable": False,
        "methodsRegistered": methods,
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "systemPreferredAuthenticationMethods": ["push"] if mfa else [],
        "userPreferredMethodForSecondaryAuthentication": "push" if mfa else "none",
        "lastUpdatedDateTime": T("-1d"),
    })
    return uid


def C(kind, rule, key, why, sev=None, stype=None, count1=False):
    """A cast line: planted (sev), decoy, or ambiguous."""
    sid = key if len(key) == 36 else ALLIDS[key]
    e = {"kind": kind, "rule": rule, "subject": sid, "name": NAMES.get(key, key), "why": why}
    if sev:
        e["severity"] = sev
    if stype:
        e["subjectType"] = stype
    if count1:
        e["exactlyOne"] = True
    cast.append(e)


ALLIDS, NAMES = {}, {}

# background staff (initiators of admin actions)
user("anneliese", "Anneliese Drummond", job="Identity administrator", dept="IT")
user("rhys", "Rhys Kettleborough", job="Cloud engineer", dept="IT")
user("maeve", "Maeve Odhiambo", job="Branch manager")
user("tomasz", "Tomasz Wierzbicki", job="Teller")

# --- advanced auditing
E5dis = {"disabledPlans": [ADV], "skuId": E5}
grp = gid("group/e5-frontline")
user("ingrid", "Ingrid Solberg-Marsh", lic=[E5dis],
     las=[{"assignedByGroup": grp, "disabledPlans": [ADV], "error": "None",
           "lastUpdatedDateTime": "{{now-40d}}", "skuId": E5, "state": "Active"}])
user("teodor", "Teodor Vasquez-Lund", lic=[E5dis, {"disabledPlans": [ADV], "skuId": E5C}])
user("priya", "Priya Okonkwo", lic=[E5dis])
user("casimir", "Casimir Feld", lic=[{"disabledPlans": [], "skuId": E5}])
user("rosalind", "Rosalind Achterberg", enabled=False, lic=[E5dis])
user("mattias", "Mattias Grönholm", lic=[E5dis, {"disabledPlans": [], "skuId": E5C}], upn="mattias.gronholm@" + DOMAIN)
user("noor", "Noor Haddad", lic=[{"disabledPlans": [AUDIT_PLATFORM], "skuId": E5}])
user("emeric", "Emeric Baptiste", lic=[{"disabledPlans": [AUDIT_PLATFORM], "skuId": E3}])
user("ylva", "Ylva Brandt", lic=[{"disabledPlans": [], "skuId": E5}])
user("oswin", "Oswin Caldera", lic=[{"disabledPlans": [AUDIT_PLATFORM], "skuId": E5}])
user("hester", "Hester Pendergast", lic=[{"disabledPlans": [], "skuId": E5}])

# --- MFA state
user("gideon", "Gideon Marlowe", created="-400d", sia=ABSENT, mfa=False)
user("felicity", "Felicity Arkwright", created="-200d", mfa=False,
     sia={"lastSignInDateTime": T("-3d"), "lastSuccessfulSignInDateTime": "0001-01-01T00:00:00Z",
          "lastNonInteractiveSignInDateTime": None})
user("barnaby", "Barnaby Quist", created="-300d", mfa=False,
     sia={"lastSignInDateTime": T("-90d-12h"), "lastSuccessfulSignInDateTime": T("-90d-12h"),
          "lastNonInteractiveSignInDateTime": T("-95d")})
user("lucinda", "Lucinda Orme", created="-150d", sia=None, mfa=False)
user("petra", "Petra Lindqvist", created="-14d-6h", sia=ABSENT, mfa=False)
user("horatio", "Horatio Penhallow", created="-300d", mfa=False,
     sia={"lastSignInDateTime": T("-89d-12h"), "lastSuccessfulSignInDateTime": T("-89d-12h")})
user("saoirse", "Saoirse Quinlan", created="-13d-18h", sia=ABSENT, mfa=False)
user("ambrose", "Ambrose Tilling", created="-700d", mfa=False, job="Service account", dept="IT",
     upn="svc-statementsync@" + DOMAIN,
     sia={"lastSignInDateTime": None, "lastNonInteractiveSignInDateTime": T("-1d"),
          "lastSuccessfulSignInDateTime": T("-1d")})
user("wilhelmina", "Wilhelmina Stroud", created="-500d", enabled=False, sia=ABSENT, mfa=False)
user("kasia", "Kasia Nowak", created="-300d", utype="Guest", sia=ABSENT, mfa=False,
     upn="kasia.nowak_harbourlaw.example#EXT#@" + DOMAIN)
user("cornelius", "Cornelius Vane", created="-600d",
     sia={"lastSignInDateTime": T("-200d"), "lastSuccessfulSignInDateTime": T("-200d")})

user("hildegard", "Hildegard Ostrowski", created="-400d", mfa=False,
     sia={"lastSignInDateTime": T("-2d"), "lastNonInteractiveSignInDateTime": T("-1d"),
          "lastSuccessfulSignInDateTime": None})
user("ferdinand", "Ferdinand Aalto", created="-400d", capable=False, methods=["mobilePhone"],
     sia={"lastSignInDateTime": T("-150d"), "lastSuccessfulSignInDateTime": T("-150d")})
user("gwilym", "Gwilym Pryce", created=None, sia=ABSENT, mfa=False)
user("leontyne", "Leontyne Abara", lic=[{"disabledPlans": [], "skuId": E5}])
user("lysander", "Lysander Voss", lic=[{"disabledPlans": [], "skuId": E5}])

# --- security-info registration
for k, n, cr in [("ottilie", "Ottilie Brannagh", "-500d"), ("leopold", "Leopold Fairweather", "-60d"),
                 ("marisol", "Marisol Etxeberria", "-400d"), ("thaddeus", "Thaddeus Okafor", "-90d"),
                 ("nadia", "Nadia Petrescu", "-18d"), ("jerome", "Jerome Vantongeren", "-300d"),
                 ("beatrix", "Beatrix Holloway", "-300d"), ("cuthbert", "Cuthbert Ramsay", "-300d"),
                 ("sunniva", "Sunniva Eide", "-300d"), ("ignatius", "Ignatius Blackwood", "-300d"),
                 ("percival", "Percival Dunmore", "-300d"), ("valentin", "Valentin Ashby", "-500d"),
                 ("perpetua", "Perpetua Lindgren", "-300d")]:
    user(k, n, created=cr)

# --- sign-ins from Azure
for k, n in [("bartholomew", "Bartholomew Crane"), ("genevieve", "Genevieve Ostrander"),
             ("rafferty", "Rafferty Coombs"), ("imogen", "Imogen Fairlie"), ("lorcan", "Lorcan Hale"),
             ("evander", "Evander Moss"), ("rowena", "Rowena Ashdown")]:
    user(k, n)

# --- role members
for k, n in [("wendeline", "Wendeline Marchetti"), ("anselm", "Anselm Korhonen"),
             ("hollis", "Hollis Brennan"), ("marguerite", "Marguerite Lacombe"),
             ("tobias", "Tobias Eberhardt"), ("osric", "Osric Thorne"),
             ("isolde", "Isolde Varga"), ("ondrej", "Ondrej Halvorsen")]:
    user(k, n)

for k, (i, u, n) in U.items():
    ALLIDS[k], NAMES[k] = i, n

# ------------------------------------------------------- service principals
sps, apps, assigned = [], [], {}
SP = {}


def kc(name, start, kind="AsymmetricX509Cert", key="k"):
    return {"customKeyIdentifier": "QjE0NkYyOEE5RDc1QUM3MTg4NkQ0NjNCRkEzQUI3MUMzRUI3QkE5Mw==",
            "displayName": name, "endDateTime": "{{now+365d}}", "key": None,
            "keyId": gid("key/" + key), "startDateTime": T(start, True), "type": kind, "usage": "Verify"}


def pc(name, start, key="p"):
    return {"customKeyIdentifier": None, "displayName": name, "endDateTime": "{{now+180d}}",
            "hint": "Qx~", "keyId": gid("key/" + key), "secretText": None, "startDateTime": T(start, True)}


def sp(key, name, owner, appid=None, keys=(), pwds=(), roles=(), sptype="Application", replies=(), app=False,
       appkeys=(), apppwds=(), web=()):
    sid = gid("sp/" + key)
    appid = appid or gid("appid/" + key)
    SP[key] = (sid, appid, name)
    ALLIDS["sp:" + key], NAMES["sp:" + key] = sid, name
    sps.append({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": sid, "appId": appid, "displayName": name, "appDisplayName": name,
        "accountEnabled": True, "appOwnerOrganizationId": owner, "servicePrincipalType": sptype,
        "servicePrincipalNames": [appid] + (["https://" + name.lower().replace(" ", "") + ".example"] if owner not in (MSFT,) else []),
        "signInAudience": "AzureADMultipleOrgs" if owner != TENANT else "AzureADMyOrg",
        "appRoleAssignmentRequired": False, "createdDateTime": None,
        "publisherName": "Microsoft Services" if owner == MSFT else ("Brackenfield Cooperative Bank" if owner == TENANT else "Harbourline Software Ltd"),
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "replyUrls": list(replies), "notificationEmailAddresses": [],
        "keyCredentials": list(keys), "passwordCredentials": list(pwds),
        "appRoles": list(roles), "oauth2PermissionScopes": [],
        "info": {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None,
                 "supportUrl": None, "termsOfServiceUrl": None},
    })
    if app:
        aid = gid("app/" + key)
        ALLIDS["app:" + key], NAMES["app:" + key] = aid, name
        apps.append({
            "@odata.type": "#microsoft.graph.application",
            "id": aid, "appId": appid, "displayName": name, "createdDateTime": "{{now-600d}}",
            "signInAudience": "AzureADMyOrg", "publisherDomain": DOMAIN, "identifierUris": [],
            "keyCredentials": list(appkeys), "passwordCredentials": list(apppwds),
            "web": {"redirectUris": list(web), "homePageUrl": None, "logoutUrl": None,
                    "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False}},
            "spa": {"redirectUris": []}, "publicClient": {"redirectUris": []},
            "requiredResourceAccess": [], "appRoles": [], "tags": [], "notes": None,
        })
    return sid


def role(value, rid, desc):
    return {"allowedMemberTypes": ["Application"], "description": desc, "displayName": desc,
            "id": rid, "isEnabled": True, "origin": "Application", "value": value}


graph_roles = [role(v, i, "Role " + v) for v, i in R.items()]
exo_roles = [role(v, i, "Role " + v) for v, i in X.items()] + [
    role("Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338", "Read calendars in all mailboxes")]
sp("graph", "Microsoft Graph", MSFT, appid=GRAPH_APPID, roles=graph_roles)
sp("exo", "Office 365 Exchange Online", MSFT, appid=EXO_APPID, roles=exo_roles)
LOOK_MAIL_READ = gid("role/lookalike-mail-read")
sp("lookalike", "Microsoft Graph", PARTNER, roles=[
    role("Mail.Read", LOOK_MAIL_READ, "Read messages relayed by the proxy"),
    role("Mail.ReadWrite", gid("role/lookalike-mrw"), "Proxy write")])

# mail-access cast
HARBOR_DN = "CN=harbor-sync-2025, O=Harbourline Software Ltd, C=GB"
sp("harbor", "Harbor Sync", PARTNER, keys=[kc(HARBOR_DN, "-6d", key="harbor")])
sp("pinecrest", "Pinecrest Archiver", TENANT, app=True, apppwds=[pc("archiver-2024", "-100d", key="pinecrest"),
                                                                   pc("archiver-2025", "-10d", key="pinecrest-2")])
sp("meridian", "Meridian Mailbot", PARTNER)
sp("signal", "Signal Relay", PARTNER)
sp("gantry", "Gantry Ops", TENANT, app=True)
sp("tollgate", "Tollgate Reports", PARTNER, keys=[kc("CN=tollgate-pop", "-1d", key="tollgate")])
sp("quarry", "Quarry Digest", PARTNER)
sp("courier", "Courier Notify", PARTNER)
sp("bramble", "Bramble Legacy Sync", PARTNER)
sp("wrenfield", "Wrenfield Mail Proxy", PARTNER)
sp("orchard", "Orchard Analytics", PARTNER, replies=["https://orchard-analytics.example/callback"])
sp("bellwether", "Bellwether Portal", PARTNER, replies=["https://portal.bellwether.example/auth"])
# credential cast
sp("sharepoint", "Office 365 SharePoint Online", MSFT, appid="00000003-0000-0ff1-ce00-000000000000",
   keys=[kc("CN=sp-online-rotation", "-4d", key="sharepoint")])
sp("teams", "Microsoft Teams Services", MSFT, appid="cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
   pwds=[pc("legacy-connector", "-300d", key="teams")])
sp("msweb", "Microsoft Office Web Apps Helper", MSCORP, pwds=[pc("helper", "-200d", key="msweb")])
sp("vendorms", "Microsoft Teams Helper (Vendor)", PARTNER, keys=[kc("CN=teamshelper", "-200d", key="vendorms")])
sp("fleetwise", "Fleetwise Telemetry", TENANT, app=True, pwds=[pc("ingest", "-2d", key="fleetwise")])
sp("quillon", "Quillon Docs Connector", PARTNER, keys=[kc("CN=QUILLON DOCS CONNECTOR ", "-6d", key="quillon")])
sp("kestrel", "Kestrel Payroll", PARTNER, keys=[kc("CN=Quillon Docs Connector", "-5d", key="kestrel")])
sp("juniper", "Juniper HR", PARTNER, keys=[kc("CN=Juniper HR", "-200d", key="juniper-old"),
                                           kc("CN=Juniper HR Portal", "-3d", key="juniper-new")])
sp("ledgerline", "Ledgerline Billing", TENANT, app=True,
   apppwds=[pc("prod-secret", "-200d", key="ledger-k1"), pc("ci-rotation", "-5d", key="ledger-k2")],
   web=["https://billing.ledgerline.example/signin-oidc", "https://ledgerline-billing.azurewebsites.net/auth"])
sp("cobalt", "Cobalt Forms", TENANT, app=True, appkeys=[kc("CN=cobalt-signing", "-12d", key="cobalt")],
   web=["https://forms.cobalt.example/signin", "https://cobalt-forms-preview.example/cb"])
sp("arborist", "Arborist Reports", TENANT, app=True, appkeys=[kc("CN=Arborist Reports", "-2d", key="arborist")])
sp("tamarack", "Tamarack Intake", TENANT, app=True,
   apppwds=[pc("a", "-300d", key="tam-a"), pc("b", "-250d", key="tam-b")],
   web=["https://intake.tamarack.example/signin"])
sp("maple", "Maple Intake", TENANT, app=True, apppwds=[pc("unlogged", "-3d", key="maple")])
sp("milexport", "ledger-export-mi", None, sptype="ManagedIdentity")
sps[-1]["alternativeNames"] = ["isExplicit=True", "/subscriptions/" + gid("azsub") + "/resourcegroups/rg-ledger/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ledger-export-mi"]
sps[-1]["servicePrincipalNames"] = [SP["milexport"][1], "https://identity.azure.net/" + gid("mi-spn")]
sps[-1]["publisherName"] = None
sp("ravenscar", "Ravenscar Ledger ", PARTNER, keys=[kc("CN=Ravenscar Ledger", "-4d", key="ravenscar")])
sp("harrowgate", "Harrowgate Portal", PARTNER, pwds=[pc("CN=Harrowgate Portal", "-3d", key="harrowgate")])
sp("halyard", "Halyard Scheduler", TENANT, app=True, web=["https://halyard.example/auth"])
sp("saltmarsh", "Saltmarsh Payments", TENANT, app=True, apppwds=[pc("deploy", "-8d+5h", key="saltmarsh")],
   web=["https://pay.saltmarsh.example/cb", "https://saltmarsh-pay.example/cb"])
sp("pellucid", "Pellucid Notes", TENANT, app=True, apppwds=[pc("notes", "-3d", key="pellucid")],
   replies=["https://notes.pellucid.example/auth", "https://pellucid-notes.example/auth"])

# app role assignments on the real resource SPs (and the look-alike)
def ara(client, resource, role_id, created="-60d"):
    csid, _, cname = SP[client]
    rsid, _, rname = SP[resource]
    assigned.setdefault(rsid, []).append({
        "id": gid("ara/" + client + resource + role_id).replace("-", "")[:22] + "Ab-cD4",
        "appRoleId": role_id, "createdDateTime": T(created, True), "deletedDateTime": None,
        "principalDisplayName": cname, "principalId": csid, "principalType": "ServicePrincipal",
        "resourceDisplayName": rname, "resourceId": rsid})


ara("harbor", "graph", R["Mail.Read"])
ara("harbor", "graph", R["User.Read.All"])
ara("pinecrest", "exo", X["full_access_as_app"], "-9d")
ara("meridian", "graph", R["Mail.ReadWrite"], "-7d")
ara("signal", "exo", X["IMAP.AccessAsApp"], "-40d")
ara("gantry", "exo", X["Exchange.ManageAsApp"], "-20d")
ara("tollgate", "exo", X["POP.AccessAsApp"])
ara("quarry", "graph", R["Mail.ReadBasic.All"], "-13d")
ara("courier", "graph", R["Mail.Send"], "-3d")
ara("courier", "graph", R["MailboxSettings.Read"])
ara("courier", "exo", X["Mail.Send"])
ara("wrenfield", "lookalike", LOOK_MAIL_READ, "-5d")
ara("orchard", "graph", R["User.Read.All"], "-9d")
ara("ledgerline", "graph", R["Directory.Read.All"])
ara("milexport", "graph", R["Mail.Read"])
ara("bramble", "exo", X["Mail.Read"], "-200d")
assigned[SP["graph"][0]].append({
    "id": "maeveDefaultAccessAb-cD4", "appRoleId": "00000000-0000-0000-0000-000000000000",
    "createdDateTime": "{{now-100d|f}}", "deletedDateTime": None, "principalDisplayName": "Maeve Odhiambo",
    "principalId": U["maeve"][0], "principalType": "User", "resourceDisplayName": "Microsoft Graph",
    "resourceId": SP["graph"][0]})
assigned.setdefault(SP["lookalike"][0], [])

# ------------------------------------------------------------- audit log
audits = []
n_audit = [0]


def initiator_user(key, ip):
    uid, upn, name = U[key]
    return {"user": {"id": uid, "displayName": None, "userPrincipalName": upn, "ipAddress": ip,
                     "homeTenantId": TENANT, "homeTenantName": None}, "app": None}


def initiator_app(spkey):
    sid, appid, name = SP[spkey]
    return {"app": {"appId": appid, "displayName": name, "servicePrincipalId": sid,
                    "servicePrincipalName": name}, "user": None}


def target(kind, tid, name=None, upn=None, props=(), typekey="type"):
    t = {"id": tid, "displayName": name, typekey: kind, "userPrincipalName": upn, "groupType": None,
         "modifiedProperties": [{"displayName": d, "oldValue": o, "newValue": nv} for d, o, nv in props]}
    return t


def audit(activity, when, by, targets, category, service="Core Directory", result="success", reason="",
          details=None, op="Update", corr=None):
    n_audit[0] += 1
    corr = corr or gid("corr/%d" % n_audit[0])
    audits.append({
        "id": "Directory_%s_%s" % (corr, "FBRK%d" % (100000 + n_audit[0])),
        "category": category, "correlationId": corr, "result": result, "resultReason": reason,
        "activityDisplayName": activity, "activityDateTime": T(when, True), "loggedByService": service,
        "operationType": op, "initiatedBy": by, "userAgent": None,
        "targetResources": targets,
        "additionalDetails": details if details is not None else [
            {"key": "User-Agent", "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"}],
    })
    return corr


def lic_text(sku, disabled, pretty=False):
    inner = "[SkuName=%s, AccountId=%s, SkuId=%s, DisabledPlans=[%s]]" % (SKUNAME[sku], TENANT, sku, ",".join(disabled))
    if pretty:
        return "[\r\n  " + json.dumps(inner) + "\r\n]"
    return J([inner])


def lic_event(key, when, old, new, by="rhys", result="success", change_event=True, pretty=False, sku=E5):
    uid, upn, name = U[key]
    corr = gid("liccorr/" + key + when)
    if change_event:
        audit("Change user license", when, initiator_user(by, "198.51.100.10"),
              [target("User", uid, None, upn)], "UserManagement", result=result, corr=corr)
    plans = [{"SubscribedPlanId": gid("sub/" + p), "ServiceInstance": "Exchange/emea-001", "CapabilityStatus": 5 if p in new else 0,
              "AssignedTimestamp": "2025-01-01T00:00:00Z", "InitialState": None, "Capability": None, "ServicePlanId": p}
             for p in (ADV, AUDIT_PLATFORM)]
    audit("Update user", when, initiator_user(by, "198.51.100.10"),
          [target("User", uid, None, upn, [
              ("AssignedLicense", lic_text(sku, old, pretty), lic_text(sku, new, pretty)),
              ("AssignedPlan", "[]", J(plans)),
              ("Included Updated Properties", J("AssignedLicense, AssignedPlan"), J("AssignedLicense, AssignedPlan")),
              ("TargetId.UserType", "", J("Member"))])],
          "UserManagement", result=result, corr=corr,
          details=[{"key": "UserType", "value": "Member"}])


lic_event("priya", "-10d", [], ["M365_ADVANCED_AUDITING"], pretty=True)
lic_event("casimir", "-8d", [], [ADV], change_event=False)
lic_event("casimir", "-6d", [ADV], [], change_event=False)
lic_event("ylva", "-9d", [ADV], [])
audit("Update user", "-40d+1h", {"app": {"appId": None, "displayName": "Microsoft Azure AD Group-Based Licensing",
                                          "servicePrincipalId": None, "servicePrincipalName": None}, "user": None},
      [target("User", U["ingrid"][0], None, U["ingrid"][1], [
          ("AssignedLicense", "[]", lic_text(E5, [ADV])),
          ("Included Updated Properties", "", J("AssignedLicense"))])], "UserManagement")
audit("Update user", "-12d", {"app": {"appId": None, "displayName": "Microsoft Azure AD Group-Based Licensing",
                                       "servicePrincipalId": None, "servicePrincipalName": None}, "user": None},
      [target("User", U["ingrid"][0], None, U["ingrid"][1], [
          ("AssignedLicense", lic_text(E5, []), lic_text(E5, [ADV])),
          ("Included Updated Properties", "", J("AssignedLicense"))])], "UserManagement")
lic_event("oswin", "-11d", [], ["M365_AUDIT_PLATFORM"])
lic_event("hester", "-4d", [], [ADV], result="failure", change_event=False)
lic_event("leontyne", "-7d", [], [ADV.upper()], change_event=False)
lic_event("leontyne", "-5d", [ADV.upper()], [], change_event=False)
# a licence change too big for one record, split into "sequence" events (no modifiedProperties)
seq_id = gid("seq/lysander")
frag = J([{"displayName": "AssignedLicense", "oldValue": lic_text(E5, []), "newValue": lic_text(E5, [EXO_ENT])}])
for i, part in enumerate([frag[:len(frag) // 2], frag[len(frag) // 2:]]):
    audit("Update user", "-5d+%ds" % i, initiator_user("rhys", "198.51.100.10"),
          [target("User", U["lysander"][0], None, U["lysander"][1])], "UserManagement",
          details=[{"key": "id", "value": seq_id}, {"key": "seq", "value": str(i + 1)}, {"key": "c", "value": "2"},
                   {"key": "b", "value": part}])

# security-info registration
def reg(key, activity, when, ip, result="success", by=None, reason=""):
    uid, upn, name = U[key]
    init = initiator_user(by or key, ip)
    audit(activity, when, init, [target("User", uid, name, upn)], "UserManagement",
          service="Authentication Methods", result=result, reason=reason,
          details=[{"key": "Method", "value": "Mobile app notification"},
                   {"key": "Recovery email", "value": ""}, {"key": "Phone", "value": ""}])


reg("ottilie", "User started security info registration", "-3d-1m", "203.0.113.50")
reg("ottilie", "User registered security info", "-3d", "203.0.113.50")
reg("ottilie", "User registered all required security info", "-3d+5s", "203.0.113.50")
reg("leopold", "User registered all required security info", "-10d", "2603:1020:0:1::25")
reg("marisol", "User registered security info", "-6d", "2001:db8:abcd:12::40")
reg("thaddeus", "User registered security info", "-12d", "4.189.77.10")
reg("nadia", "User registered security info", "-5d", "198.51.100.45")
reg("jerome", "User registered security info", "-4d", "198.51.100.46")
reg("beatrix", "User registered security info", "-7d", "203.0.113.99", result="failure", reason="User canceled the flow")
reg("cuthbert", "Admin registered security info", "-8d", "203.0.113.7", by="anneliese")
reg("sunniva", "User started security info registration", "-9d", "203.0.113.61")
reg("ignatius", "User registered security info", "-40d", "203.0.113.62")
reg("percival", "User registered security info", "-20d", "198.51.100.47")
reg("valentin", "User registered security info", "-2d", "203.0.113.120")
reg("valentin", "User registered all required security info", "-2d+3s", "203.0.113.120")
reg("perpetua", "User registered security info", "-28d", "198.51.100.48")


# credentials
def kd(items):
    return J(["[KeyIdentifier=%s,KeyType=%s,KeyUsage=Verify,DisplayName=%s]" % (gid("key/" + k), t, n) for k, t, n in items])


def cred_event(activity, when, tkind, tkey, old, new, by, result="success", typekey="type"):
    tid = ALLIDS[("app:" if tkind == "Application" else "sp:") + tkey]
    name = NAMES[("app:" if tkind == "Application" else "sp:") + tkey]
    props = [("KeyDescription", kd(old), kd(new)),
             ("Included Updated Properties", "", J("KeyDescription"))]
    if tkind == "ServicePrincipal":
        props.append(("TargetId.ServicePrincipalNames", "", J(SP[tkey][1])))
    audit(activity, when, by, [target(tkind, tid, name, None, props, typekey)], "ApplicationManagement",
          result=result, details=[{"key": "User-Agent", "value": "python-requests/2.32.3"},
                                  {"key": "AppId", "value": SP[tkey][1]}])


CERT, PWD = "AsymmetricX509Cert", "Password"
cred_event("Add service principal credentials", "-6d", "ServicePrincipal", "harbor", [],
           [("harbor", CERT, HARBOR_DN)], initiator_user("rhys", "203.0.113.88"))
cred_event("Add service principal credentials", "-1d", "ServicePrincipal", "tollgate", [],
           [("tollgate", CERT, "CN=tollgate-pop")], initiator_user("rhys", "203.0.113.88"))
cred_event("Update application – Certificates and secrets management ", "-8d+5h", "Application", "saltmarsh",
           [], [("saltmarsh", PWD, "deploy")], initiator_user("rhys", "203.0.113.88"))
cred_event("Update application – Certificates and secrets management ", "-10d", "Application", "pinecrest",
           [("pinecrest", PWD, "archiver-2024")], [("pinecrest", PWD, "archiver-2024"), ("pinecrest-2", PWD, "archiver-2025")],
           initiator_user("rhys", "203.0.113.88"))
cred_event("Update application – Certificates and secrets management ", "-3d", "Application", "pellucid",
           [], [("pellucid", PWD, "notes")], initiator_user("rhys", "203.0.113.88"))
cred_event("Add service principal credentials", "-4d", "ServicePrincipal", "sharepoint", [],
           [("sharepoint", CERT, "CN=sp-online-rotation")], initiator_app("harbor"))
cred_event("Update application – Certificates and secrets management ", "-5d", "Application", "ledgerline",
           [("ledger-k1", PWD, "prod-secret")], [("ledger-k1", PWD, "prod-secret"), ("ledger-k2", PWD, "ci-rotation")],
           initiator_user("anneliese", "198.51.100.10"))
cred_event("Update application - Certificates and secrets management", "-12d", "Application", "cobalt",
           [], [("cobalt", CERT, "CN=cobalt-signing")], initiator_user("anneliese", "198.51.100.10"))
cred_event("Update application – Certificates and secrets management ", "-2d", "Application", "arborist",
           [], [("arborist", CERT, "CN=Arborist Reports")], initiator_user("rhys", "203.0.113.88"))
cred_event("Update application – Certificates and secrets management ", "-8d", "Application", "tamarack",
           [], [], initiator_user("anneliese", "198.51.100.10"))
cred_event("Update application – Certificates and secrets management ", "-7d", "Application", "tamarack",
           [("tam-a", PWD, "a"), ("tam-b", PWD, "b")], [("tam-b", PWD, "b"), ("tam-a", PWD, "a")],
           initiator_user("anneliese", "198.51.100.10"))
cred_event("Remove service principal credentials", "-6d", "ServicePrincipal", "tamarack",
           [("tam-old", PWD, "retired")], [], initiator_user("anneliese", "198.51.100.10"))
cred_event("Add service principal credentials", "-3d", "ServicePrincipal", "orchard", [],
           [("orchard-x", PWD, "x")], initiator_user("rhys", "203.0.113.88"), result="failure")


# reply URLs
def addr(urls, ctype=1):
    return J([{"AddressType": 0, "Address": u, "ReplyAddressClientType": ctype, "ReplyAddressIndex": None,
               "IsReplyAddressDefault": False} for u in urls])


def reply_event(activity, when, tkind, tkey, oldv, newv, by, prop="AppAddress", typekey="type", extra=()):
    tid = ALLIDS[("app:" if tkind == "Application" else "sp:") + tkey]
    name = NAMES[("app:" if tkind == "Application" else "sp:") + tkey]
    props = ([(prop, oldv, newv)] if prop else []) + list(extra) + [
        ("Included Updated Properties", "", J(prop or "DisplayName"))]
    audit(activity, when, by, [target(tkind, tid, name, None, props, typekey)], "ApplicationManagement")


L1 = "https://billing.ledgerline.example/signin-oidc"
reply_event("Update application", "-5d+3h", "Application", "ledgerline", addr([L1]),
            addr([L1, "https://ledgerline-billing.azurewebsites.net/auth"]), initiator_user("rhys", "203.0.113.88"))
C1 = "https://forms.cobalt.example/signin"
reply_event("Update application", "-12d+30h", "Application", "cobalt", addr([C1]),
            addr(["https://cobalt-forms-preview.example/cb", C1]), initiator_user("rhys", "203.0.113.88"), typekey="Type")
O1 = "https://orchard-analytics.example/callback"
reply_event("Update service principal", "-9d", "ServicePrincipal", "orchard", addr([O1]),
            addr([O1, "https://orchard-analytics-eu.example/callback"]), initiator_app("harbor"), typekey="Type")
B1 = "https://portal.bellwether.example/auth"
reply_event("Update service principal", "-10d", "ServicePrincipal", "bellwether", J([B1]),
            J([B1, "https://bellwether-sso.example/acs"]), initiator_user("rhys", "203.0.113.88"), prop="ReplyUrls")
reply_event("Update application", "-6d", "Application", "halyard", "[]", addr(["https://halyard.example/auth"]),
            initiator_user("anneliese", "198.51.100.10"))
reply_event("Update application", "-8d", "Application", "saltmarsh", addr(["https://pay.saltmarsh.example/cb"]),
            addr(["https://pay.saltmarsh.example/cb", "https://saltmarsh-pay.example/cb"]), initiator_user("rhys", "203.0.113.88"))
reply_event("Update service principal", "-3d+2h", "ServicePrincipal", "pellucid", addr(["https://notes.pellucid.example/auth"]),
            addr(["https://notes.pellucid.example/auth", "https://pellucid-notes.example/auth"]), initiator_user("rhys", "203.0.113.88"))
T1, T2 = "https://intake.tamarack.example/signin", "https://intake-old.tamarack.example/signin"
reply_event("Update application", "-6d", "Application", "tamarack", addr([T1, T2]), addr([T1]),
            initiator_user("anneliese", "198.51.100.10"))
reply_event("Update application", "-5d", "Application", "tamarack", None, None,
            initiator_user("anneliese", "198.51.100.10"), prop=None,
            extra=[("DisplayName", J(["Tamarack Intake (old)"]), J(["Tamarack Intake"]))])
reply_event("Update application", "-4d", "Application", "tamarack", addr([T1], 1), addr([T1], 2),
            initiator_user("anneliese", "198.51.100.10"))


# roles
def role_event(activity, when, member_kind, member_id, member_name, upn, role_name, template, by,
               result="success", typekey="type", wkon=None):
    role_obj = gid("roleobj/" + (template or role_name))
    props = [("Role.ObjectID", None, J(role_obj)), ("Role.DisplayName", None, J(role_name))]
    if template:
        props.append(("Role.TemplateId", None, J(template)))
    props.append(("Role.WellKnownObjectName", None, J(wkon or role_name.replace(" ", ""))))
    audit(activity, when, by,
          [target(member_kind, member_id, member_name, upn, props, typekey),
           {"id": role_obj, "displayName": role_name, typekey: "Role", "userPrincipalName": None,
            "groupType": None, "modifiedProperties": []}],
          "RoleManagement", result=result, op="Assign")


def ur(key):
    return U[key][0], None, U[key][1]


role_event("Add member to role", "-3d", "User", *ur("wendeline"), "Global Administrator", GA,
           initiator_user("rhys", "203.0.113.88"), wkon="TenantAdmins")
role_event("Add member to role", "-15d", "User", *ur("anselm"), "Company Administrator", GA,
           initiator_user("anneliese", "198.51.100.10"), wkon="TenantAdmins")
role_event("Add eligible member to role", "-11d", "ServicePrincipal", SP["gantry"][0], "Gantry Ops", None,
           "Global Administrator", GA.upper(), initiator_user("rhys", "203.0.113.88"), typekey="Type",
           wkon="TenantAdmins")
role_event("Add member to role", "-6d", "User", *ur("hollis"), "Global Reader", GLOBAL_READER,
           initiator_user("anneliese", "198.51.100.10"))
role_event("Remove member from role", "-5d", "User", *ur("hollis"), "Global Administrator", GA,
           initiator_user("anneliese", "198.51.100.10"), wkon="TenantAdmins")
role_event("Add member to role", "-4d", "User", *ur("marguerite"), "Global Administrator (Break-glass review)",
           gid("customrole/breakglass"), initiator_user("anneliese", "198.51.100.10"))
role_event("Add member to role", "-2d", "User", *ur("tobias"), "Global Administrator", GA,
           initiator_user("rhys", "203.0.113.88"), result="failure", wkon="TenantAdmins")
role_event("Add member to role", "-29d-23h", "User", *ur("ondrej"), "Global Administrator", GA,
           initiator_user("rhys", "203.0.113.88"), wkon="TenantAdmins")
role_event("Add member to role", "-45d", "User", *ur("osric"), "Global Administrator", GA,
           initiator_user("rhys", "203.0.113.88"), wkon="TenantAdmins")


TIER0 = gid("group/tier0-admins")
ALLIDS["grp:tier0"], NAMES["grp:tier0"] = TIER0, "Tier0 Admins"
role_event("Add member to role", "-16d", "Group", TIER0, "Tier0 Admins", None, "Global Administrator", GA,
           initiator_user("rhys", "203.0.113.88"), wkon="TenantAdmins")
uid, _, upn = ur("isolde")
audit("Add member to role", "-9d", initiator_user("rhys", "203.0.113.88"),
      [target("User", uid, None, upn, [("Role.ObjectID", None, J(gid("roleobj/" + GA))),
                                       ("Role.DisplayName", None, J("Global Administrator")),
                                       ("Role.WellKnownObjectName", None, J("TenantAdmins"))])],
      "RoleManagement", op="Assign")

# app role grants
def grant(activity, when, client, resource, value, role_id, with_objid=True, result="success", upper=False):
    rsid, rappid, rname = SP[resource]
    csid, cappid, cname = SP[client]
    props = []
    if role_id:
        props.append(("AppRole.Id", None, J(role_id.upper() if upper else role_id)))
    if value is not None:
        props.append(("AppRole.Value", None, J(value)))
    props += [("AppRoleAssignment.CreatedDateTime", None, J("2025-01-01T00:00:00Z")),
              ("AppRoleAssignment.LastModifiedDateTime", None, J("2025-01-01T00:00:00Z"))]
    if with_objid:
        props.append(("ServicePrincipal.ObjectID", None, J(csid)))
    props += [("ServicePrincipal.DisplayName", None, J(cname)), ("ServicePrincipal.AppId", None, J(cappid)),
              ("ServicePrincipal.Name", None, J(cappid)),
              ("TargetId.ServicePrincipalNames", None, J(rappid))]
    audit(activity, when, initiator_user("rhys", "203.0.113.88"),
          [target("ServicePrincipal", rsid, rname, None, props)], "ApplicationManagement", result=result, op="Assign")


grant("Add app role assignment to service principal", "-7d", "meridian", "graph", "Mail.ReadWrite", R["Mail.ReadWrite"])
grant("Add app role assignment to service principal", "-9d", "pinecrest", "exo", None, X["full_access_as_app"],
      with_objid=False, upper=True)
grant("Add app role assignment to service principal", "-13d", "quarry", "graph", "Mail.ReadBasic.All", R["Mail.ReadBasic.All"])
grant("Add app role assignment to service principal", "-40d", "signal", "exo", "IMAP.AccessAsApp", X["IMAP.AccessAsApp"])
grant("Add app role assignment to service principal", "-3d", "courier", "graph", "Mail.Send", R["Mail.Send"])
grant("Add app role assignment to service principal", "-9d", "orchard", "graph", "User.Read.All", R["User.Read.All"])
grant("Add app role assignment to service principal", "-20d", "gantry", "exo", "Exchange.ManageAsApp", X["Exchange.ManageAsApp"])
grant("Remove app role assignment from service principal", "-2d", "signal", "graph", "Mail.Read", R["Mail.Read"])
grant("Add app role assignment to service principal", "-5d", "wrenfield", "lookalike", "Mail.Read", LOOK_MAIL_READ)

# ------------------------------------------------------------- sign-ins
signins = []


def signin(key, when, ip, code=0, app="Office 365 Exchange Online", reason=None, city="Dublin", country="IE", upn=None):
    uid, upn0, name = U[key]
    upn = upn or upn0
    signins.append({
        "id": gid("signin/%s/%s/%s/%d" % (key, when, ip, code)),
        "createdDateTime": T(when, True), "userDisplayName": name, "userPrincipalName": upn, "userId": uid,
        "appId": gid("appid/" + app), "appDisplayName": app, "ipAddress": ip, "clientAppUsed": "Browser",
        "correlationId": gid("sicorr/%s%s" % (key, when)), "conditionalAccessStatus": "notApplied",
        "isInteractive": True, "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none",
        "riskState": "none", "riskEventTypes": [], "riskEventTypes_v2": [],
        "resourceDisplayName": app, "resourceId": gid("res/" + app),
        "status": {"errorCode": code, "failureReason": reason or ("Other." if code == 0 else "Sign-in failed."),
                   "additionalDetails": "MFA requirement satisfied by claim in the token" if code == 0 else None},
        "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": "Windows10", "browser": "Edge 124.0.0",
                         "isCompliant": False, "isManaged": False, "trustType": ""},
        "location": {"city": city, "state": "Dublin", "countryOrRegion": country,
                     "geoCoordinates": {"altitude": None, "latitude": 53.35, "longitude": -6.26}},
        "appliedConditionalAccessPolicies": [],
    })


ENROL = "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '{resource}'."
for k in ["anneliese", "rhys", "maeve", "tomasz", "wendeline", "hollis"]:
    signin(k, "-1d", "198.51.100.%d" % (10 + len(k)))
signin("rhys", "-3d-1h", "203.0.113.88")
signin("tomasz", "-2d", "")
signin("ottilie", "-18d", "198.51.100.30")  # 15 days before her registration
signin("ottilie", "-3d-2m", "203.0.113.50", code=50079, app="My Signins", reason=ENROL)
signin("ottilie", "-3d+3m", "203.0.113.50", app="My Signins")
signin("marisol", "-11d", "198.51.100.20", code=50126, reason="Error validating credentials due to invalid username or password.")
signin("marisol", "-6d-3m", "2001:db8:abcd:12::40", code=50079, app="My Signins", reason=ENROL)
signin("thaddeus", "-27d", "198.51.100.77")
signin("jerome", "-17d", "198.51.100.46", upn="Jerome.Vantongeren@BrackenfieldCoop.onmicrosoft.com")
signin("perpetua", "-33d", "198.51.100.48")
signin("percival", "-29d", "198.51.100.47")
signin("valentin", "-2d-1h", "203.0.113.120")
signin("bartholomew", "-4d", "4.189.77.10", city="Tokyo", country="JP")
signin("bartholomew", "-2d", "4.189.77.10", city="Tokyo", country="JP", upn="BARTHOLOMEW.CRANE@brackenfieldcoop.onmicrosoft.com")
signin("bartholomew", "-1d", "4.190.127.254", city="Tokyo", country="JP")
signin("genevieve", "-6d", "2603:1040:400::1b", city="Tokyo", country="JP")
signin("rafferty", "-29d", "52.169.10.20")
signin("imogen", "-5d", "4.189.77.10", code=50126, reason="Error validating credentials due to invalid username or password.")
signin("imogen", "-5d+1m", "52.169.10.20", code=50079, reason=ENROL)
signin("lorcan", "-3d", "4.190.128.10", city="Tokyo", country="JP")
signin("lorcan", "-2d", "4.188.255.254", city="Tokyo", country="JP")
signin("evander", "-2d", "20.44.16.40", city="Amsterdam", country="NL")
signin("rowena", "-35d", "13.74.104.10")

# ------------------------------------------------------------- CA, locations
def ca(name, state, actions=(), apps=("All",), created="-200d"):
    return {"@odata.type": "#microsoft.graph.conditionalAccessPolicy",
            "id": gid("ca/" + name), "displayName": name, "createdDateTime": T(created), "modifiedDateTime": T("-20d"),
            "state": state, "templateId": None,
            "conditions": {"userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
                           "platforms": None, "devices": None, "clientApplications": None,
                           "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]},
                           "applications": {"includeApplications": [] if actions else list(apps), "excludeApplications": [],
                                            "includeUserActions": list(actions),
                                            "includeAuthenticationContextClassReferences": [], "applicationFilter": None},
                           "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
                                     "includeRoles": [], "excludeRoles": [], "includeGuestsOrExternalUsers": None,
                                     "excludeGuestsOrExternalUsers": None}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [],
                              "termsOfUse": [], "authenticationStrength": None},
            "sessionControls": None}


policies = [
    ca("Require MFA for all users", "enabled"),
    ca("Secure security info registration (pilot)", "enabledForReportingButNotEnforced", ["urn:user:registersecurityinfo"]),
    ca("Legacy: registration from HQ only", "disabled", ["urn:user:registersecurityinfo"]),
    ca("Device registration requires MFA", "enabled", ["urn:user:registerdevice"]),
]
policies_enforced = policies + [ca("Security info registration from trusted locations", "enabled", ["urn:user:registersecurityinfo"])]


def ipnl(name, trusted, ranges):
    return {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": gid("nl/" + name), "displayName": name,
            "createdDateTime": T("-300d", True), "modifiedDateTime": T("-30d", True), "isTrusted": trusted,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv6CidrRange" if ":" in r else "#microsoft.graph.iPv4CidrRange",
                          "cidrAddress": r} for r in ranges]}


country = {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": gid("nl/countries"),
           "displayName": "Sanctioned countries", "createdDateTime": T("-300d", True), "modifiedDateTime": T("-30d", True),
           "countriesAndRegions": ["KP", "IR"], "includeUnknownCountriesAndRegions": False,
           "countryLookupMethod": "clientIpAddress"}
locations = [ipnl("Partner VPN (not trusted)", False, ["203.0.113.0/24"]), country,
             ipnl("Brackenfield HQ egress", True, ["198.51.100.0/24", "2001:db8:abcd:0:0:0:0:0/48"])]
locations_untrusted = [ipnl("Partner VPN (not trusted)", False, ["203.0.113.0/24"]), country,
                       ipnl("Brackenfield HQ egress (trust pending)", False, ["198.51.100.0/24", "2001:db8:abcd:0:0:0:0:0/48"])]

skus = [{"accountName": "Brackenfield Cooperative Bank", "accountId": TENANT, "appliesTo": "User",
         "capabilityStatus": "Enabled", "consumedUnits": 40, "id": TENANT + "_" + s,
         "prepaidUnits": {"enabled": 50, "suspended": 0, "warning": 0, "lockedOut": 0},
         "servicePlans": [{"servicePlanId": p, "servicePlanName": n, "provisioningStatus": "Success", "appliesTo": "User"}
                          for p, n, _ in SKUPLANS[s]],
         "skuId": s, "skuPartNumber": SKUNAME[s], "subscriptionIds": [gid("subscription/" + s)]} for s in (E3, E5, E5C)]

org = [{"@odata.type": "#microsoft.graph.organization", "id": TENANT, "displayName": "Brackenfield Cooperative Bank",
        "tenantType": "AAD", "countryLetterCode": "IE", "city": "Cork", "createdDateTime": "{{now-900d}}",
        "preferredLanguage": "en", "businessPhones": ["+353 21 000 0000"], "technicalNotificationMails": ["it@brackenfield.example"],
        "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": True, "isInitial": True,
                             "name": DOMAIN, "type": "Managed"}],
        "onPremisesSyncEnabled": None, "assignedPlans": [], "provisionedPlans": []}]

# --------------------------------------------------------------------- cast
# advanced auditing
C("planted", "audit.advanced-auditing-disabled", "ingrid", "E5 assigned by group with M365_ADVANCED_AUDITING in disabledPlans", "high", "user")
C("planted", "audit.advanced-auditing-disabled", "teodor", "plan disabled on both SKUs that carry it (E5 + E5 Compliance)", "high", "user")
C("planted", "audit.advanced-auditing-disabled", "priya", "state disabled + 'Change user license'/'Update user' naming the plan by name (pretty-printed JSON-in-string): exactly one finding", "high", "user", True)
C("ambiguous", "audit.advanced-auditing-disabled", "casimir", "only audit events: 'Update user' disabled the plan 8 d ago, re-enabled 6 d ago; state now enabled. Rule text says events fire; a state-confirming reading says no")
C("decoy", "audit.advanced-auditing-disabled", "rosalind", "disabled account with the plan disabled")
C("decoy", "audit.advanced-auditing-disabled", "mattias", "plan disabled on E5 but still enabled through E5 Compliance")
C("decoy", "audit.advanced-auditing-disabled", "noor", "wrong plan: M365_AUDIT_PLATFORM disabled on E5")
C("decoy", "audit.advanced-auditing-disabled", "emeric", "E3 (no Advanced Auditing plan) with M365_AUDIT_PLATFORM disabled")
C("decoy", "audit.advanced-auditing-disabled", "ylva", "'Update user' event that RE-ENABLES the plan (old DisabledPlans has it, new not)")
C("decoy", "audit.advanced-auditing-disabled", "oswin", "events disabling M365_AUDIT_PLATFORM by name")
C("ambiguous", "audit.advanced-auditing-disabled", "hester", "failed 'Update user' that would have disabled the plan (rule text silent on result)")
# MFA state
for k, why in [("gideon", "created 400 d ago, signInActivity absent"),
               ("felicity", "lastSuccessfulSignInDateTime 0001-01-01T00:00:00Z while lastSignInDateTime (failed attempts) is 3 d ago"),
               ("barnaby", "last successful sign-in 90 d 12 h ago"),
               ("lucinda", "signInActivity: null"),
               ("petra", "created 14 d 6 h ago (just over the new-account boundary), never signed in")]:
    C("planted", "mfa.dormant-unregistered", k, why, "high", "user")
    C("decoy", "mfa.not-registered", k, "covered by mfa.dormant-unregistered")
for k, why in [("horatio", "last successful sign-in 89 d 12 h ago: not dormant"),
               ("saoirse", "created 13 d 18 h ago: new account"),
               ("ambrose", "service account: lastSignInDateTime null, lastSuccessfulSignInDateTime 1 d ago (non-interactive)")]:
    C("planted", "mfa.not-registered", k, why + " -> low only", "low", "user")
    C("decoy", "mfa.dormant-unregistered", k, why)
for k, why in [("wilhelmina", "disabled account, unregistered, never signed in"),
               ("kasia", "guest, unregistered, never signed in"),
               ("cornelius", "MFA registered, dormant 200 d")]:
    C("decoy", "mfa.dormant-unregistered", k, why)
    C("decoy", "mfa.not-registered", k, why)
# registration
C("planted", "mfa.dormant-registration", "ottilie", "burst started/registered/all-required 3 d ago; last success 15 d before; a 50079 enrolment interrupt just before and a success just after do not count: exactly one finding", "high", "user", True)
C("planted", "mfa.registration-untrusted-location", "ottilie", "registered from 203.0.113.50 (in an UNtrusted named location only)", "medium", "user", True)
C("planted", "mfa.dormant-registration", "leopold", "only 'User registered all required security info', account 60 d old, no sign-ins at all", "high", "user")
C("planted", "mfa.registration-untrusted-location", "leopold", "from IPv6 2603:1020:0:1::25 (AzureCloud.northeurope)", "high", "user")
C("planted", "mfa.dormant-registration", "marisol", "only failed (50126) and interrupted (50079) sign-ins in the 14 d before", "high", "user")
C("decoy", "mfa.registration-untrusted-location", "marisol", "from 2001:db8:abcd:12::40, inside trusted IPv6 range written uncompressed (2001:db8:abcd:0:0:0:0:0/48)")
C("planted", "mfa.dormant-registration", "thaddeus", "last success 15 d before the registration", "high", "user")
C("planted", "mfa.registration-untrusted-location", "thaddeus", "from 4.189.77.10 (AzureCloud.japaneast)", "high", "user")
C("decoy", "mfa.dormant-registration", "nadia", "account created 13 d before the registration (new account), trusted IP")
C("decoy", "mfa.dormant-registration", "jerome", "successful sign-in 13 d before the registration, trusted IP")
C("decoy", "mfa.dormant-registration", "beatrix", "registration event result failure (from untrusted IP)")
C("decoy", "mfa.registration-untrusted-location", "beatrix", "registration event result failure (from untrusted IP)")
C("decoy", "mfa.dormant-registration", "cuthbert", "'Admin registered security info' (not in the rule's list) for a dormant user, admin's IP untrusted")
C("decoy", "mfa.registration-untrusted-location", "cuthbert", "'Admin registered security info' (not in the rule's list)")
C("decoy", "mfa.dormant-registration", "sunniva", "only 'User started security info registration'")
C("decoy", "mfa.registration-untrusted-location", "sunniva", "only 'User started security info registration' (untrusted IP)")
C("decoy", "mfa.dormant-registration", "ignatius", "registration 40 d ago, outside the window")
C("decoy", "mfa.registration-untrusted-location", "ignatius", "registration 40 d ago, outside the window (untrusted IP)")
C("decoy", "mfa.dormant-registration", "percival", "registration 20 d ago, success sign-in 9 d before it (29 d ago), trusted IP")
C("decoy", "mfa.dormant-registration", "valentin", "signed in successfully 1 h before registering")
C("ambiguous", "mfa.registration-untrusted-location", "valentin", "NON-dormant registration from untrusted 203.0.113.120: 'such a registration' may mean any successful registration or only dormant ones")
for k in ["nadia", "jerome", "percival"]:
    C("decoy", "mfa.registration-untrusted-location", k, "registered from the trusted HQ range 198.51.100.0/24")
# sign-ins
C("planted", "signin.azure-ip", "bartholomew", "three successful sign-ins from AzureCloud.japaneast (4.189.77.10 x2, 4.190.127.254 = last /17 block): exactly one finding", "medium", "user", True)
C("planted", "signin.azure-ip", "genevieve", "successful sign-in from IPv6 2603:1040:400::1b (AzureCloud.japaneast)", "medium", "user")
C("planted", "signin.azure-ip", "rafferty", "successful sign-in 29 d ago from 52.169.10.20 (AzureCloud.northeurope)", "medium", "user")
C("decoy", "signin.azure-ip", "imogen", "failed (50126) and interrupted (50079) sign-ins from Azure addresses")
C("decoy", "signin.azure-ip", "lorcan", "successes from 4.190.128.10 and 4.188.255.254, just outside AzureCloud.japaneast")
C("decoy", "signin.azure-ip", "evander", "success from 20.44.16.40: in the AzureActiveDirectory tag only, not in any AzureCloud entry of the file")
C("decoy", "signin.azure-ip", "rowena", "success from AzureCloud.northeurope 35 d ago, outside the window")
for k in ["ottilie", "marisol", "thaddeus", "leopold"]:
    C("decoy", "signin.azure-ip", k, "registration from an address is not a sign-in")
# roles
C("planted", "role.global-admin-added", "wendeline", "'Add member to role' Global Administrator", "high", "user")
C("planted", "role.global-admin-added", "anselm", "'Add member to role' Role.DisplayName 'Company Administrator' (legacy name) with the GA template id", "high", "user")
C("planted", "role.global-admin-added", "sp:gantry", "'Add eligible member to role', service principal member, \"Type\" key, upper-case Role.TemplateId", "high", "servicePrincipal")
C("decoy", "role.global-admin-added", "hollis", "added to Global Reader; removed from Global Administrator")
C("decoy", "role.global-admin-added", "marguerite", "custom role 'Global Administrator (Break-glass review)' with its own template id")
C("ambiguous", "role.global-admin-added", "tobias", "failed 'Add member to role' for Global Administrator (rule text silent on result)")
C("decoy", "role.global-admin-added", "osric", "Global Administrator added 45 d ago, outside the window")
# mail access and grants
C("planted", "sp.mail-access", "sp:harbor", "Graph Mail.Read + key credential on the SP object", "high", "servicePrincipal")
C("planted", "sp.mail-access", "sp:pinecrest", "EXO full_access_as_app; credential only on the application object", "low", "servicePrincipal")
C("planted", "sp.mail-access", "sp:meridian", "Graph Mail.ReadWrite", "low", "servicePrincipal")
C("planted", "sp.mail-access", "sp:signal", "EXO IMAP.AccessAsApp", "low", "servicePrincipal")
C("planted", "sp.mail-access", "sp:gantry", "EXO Exchange.ManageAsApp", "low", "servicePrincipal")
C("planted", "sp.mail-access", "sp:tollgate", "EXO POP.AccessAsApp + key on the SP object (1 d)", "high", "servicePrincipal")
C("planted", "sp.credential-added", "sp:tollgate", "'Add service principal credentials' 1 d ago; mail access only via Exchange Online POP -> high", "high", "servicePrincipal")
C("planted", "sp.mail-access", "sp:quarry", "Graph Mail.ReadBasic.All", "low", "servicePrincipal")
# app.cross-tenant-mail-access (issue 12): the vendor's (PARTNER) multi-tenant apps that hold a mail role here.
C("planted", "app.cross-tenant-mail-access", "sp:harbor", "owned by Harbourline (neither this tenant nor Microsoft), Graph Mail.Read", "high", "servicePrincipal")
C("planted", "app.cross-tenant-mail-access", "sp:meridian", "owned by Harbourline, Graph Mail.ReadWrite", "high", "servicePrincipal")
C("planted", "app.cross-tenant-mail-access", "sp:signal", "owned by Harbourline, EXO IMAP.AccessAsApp", "high", "servicePrincipal")
C("planted", "app.cross-tenant-mail-access", "sp:tollgate", "owned by Harbourline, EXO POP.AccessAsApp", "high", "servicePrincipal")
C("planted", "app.cross-tenant-mail-access", "sp:quarry", "owned by Harbourline, Graph Mail.ReadBasic.All", "high", "servicePrincipal")
C("decoy", "sp.mail-access", "sp:courier", "Graph Mail.Send + MailboxSettings.Read, EXO Mail.Send")
C("decoy", "sp.mail-access", "sp:wrenfield", "'Mail.Read' on a third-party SP also named 'Microsoft Graph' (different appId)")
C("decoy", "sp.mail-access", "sp:orchard", "Graph User.Read.All only")
C("planted", "app.mail-permission-granted", "sp:meridian", "AppRole.Value Mail.ReadWrite, client by ServicePrincipal.ObjectID", "high", "servicePrincipal")
C("planted", "app.mail-permission-granted", "sp:pinecrest", "EXO full_access_as_app by AppRole.Id only (upper-case), client only by ServicePrincipal.AppId/DisplayName", "high", "servicePrincipal")
C("planted", "app.mail-permission-granted", "sp:quarry", "Graph Mail.ReadBasic.All", "high", "servicePrincipal")
C("decoy", "app.mail-permission-granted", "sp:signal", "grant 40 d ago (outside window); 'Remove app role assignment' of Mail.Read 2 d ago")
C("decoy", "app.mail-permission-granted", "sp:courier", "Mail.Send granted")
C("decoy", "app.mail-permission-granted", "sp:orchard", "User.Read.All granted")
C("ambiguous", "app.mail-permission-granted", "sp:wrenfield", "AppRole.Value 'Mail.Read' but on the look-alike 'Microsoft Graph' SP (custom role id); graph.md says key on (resource, role id)")
C("decoy", "app.mail-permission-granted", "sp:lookalike", "look-alike resource SP is the target, never the grantee")
C("decoy", "app.mail-permission-granted", "sp:graph", "the resource SP is the target, never the grantee")
C("decoy", "app.mail-permission-granted", "sp:exo", "the resource SP is the target, never the grantee")
# credentials
C("planted", "sp.credential-added", "sp:harbor", "'Add service principal credentials' + key on SP object 6 d ago; has Graph Mail.Read -> high", "high", "servicePrincipal")
C("planted", "sp.credential-added", "sp:sharepoint", "first-party SP, key added 4 d ago by an app (initiatedBy.app) -> high", "high", "servicePrincipal")
C("planted", "sp.first-party-credential", "sp:sharepoint", "Microsoft-owned SP with a key credential", "high", "servicePrincipal")
C("planted", "sp.first-party-credential", "sp:teams", "Microsoft-owned SP with a password credential from 300 d ago", "high", "servicePrincipal")
C("decoy", "sp.credential-added", "sp:teams", "its only credential started 300 d ago")
C("ambiguous", "sp.first-party-credential", "sp:msweb", "owned by 72f988bf (Microsoft corp tenant), not the f8cdef31 the rule names")
C("decoy", "sp.first-party-credential", "sp:vendorms", "third-party SP whose name starts with 'Microsoft'")
C("decoy", "sp.first-party-credential", "sp:graph", "first-party without credentials")
C("decoy", "sp.first-party-credential", "sp:exo", "first-party without credentials")
C("planted", "sp.credential-added", "sp:fleetwise", "password on SP object started 2 d ago, no audit event", "medium", "servicePrincipal")
C("planted", "sp.credential-name-mimicry", "sp:quillon", "key displayName 'CN=QUILLON DOCS CONNECTOR ' (case, trailing space) started 6 d ago", "medium", "servicePrincipal")
C("planted", "sp.credential-added", "sp:quillon", "key on SP object started 6 d ago", "medium", "servicePrincipal")
C("planted", "sp.credential-added", "sp:kestrel", "key on SP object started 5 d ago", "medium", "servicePrincipal")
C("decoy", "sp.credential-name-mimicry", "sp:kestrel", "cert named after ANOTHER app (CN=Quillon Docs Connector)")
C("planted", "sp.credential-added", "sp:juniper", "key 'CN=Juniper HR Portal' on SP object started 3 d ago", "medium", "servicePrincipal")
C("decoy", "sp.credential-name-mimicry", "sp:juniper", "'CN=Juniper HR' started 200 d ago (before window); 'CN=Juniper HR Portal' is not the own name")
C("planted", "sp.credential-added", "app:ledgerline", "'Update application – Certificates and secrets management ' (en dash, trailing space), one of two keys new", "medium", "application")
C("planted", "sp.credential-added", "app:cobalt", "'Update application - Certificates and secrets management' (hyphen), [] -> one cert", "medium", "application")
C("planted", "sp.credential-added", "app:arborist", "en-dash event adding the mimicry cert", "medium", "application")
C("planted", "sp.credential-name-mimicry", "app:arborist", "application key 'CN=Arborist Reports' started 2 d ago", "medium", "application")
C("decoy", "sp.credential-added", "app:tamarack", "KeyDescription [] -> [] and a re-ordered identical set")
C("decoy", "sp.credential-added", "sp:tamarack", "'Remove service principal credentials'")
C("ambiguous", "sp.credential-added", "sp:orchard", "failed 'Add service principal credentials' (rule text silent on result)")
C("ambiguous", "sp.credential-added", "app:maple", "password on the APPLICATION object started 3 d ago, no audit event (rule's state path names SP objects)")
C("decoy", "sp.credential-added", "sp:pinecrest", "application password from 100 d ago")
C("decoy", "sp.credential-added", "sp:vendorms", "key from 200 d ago")
# reply URLs
C("planted", "sp.reply-url-added", "app:ledgerline", "AppAddress gains an azurewebsites.net URL 3 h after a credential", "medium", "application")
C("planted", "sp.reply-url-added", "app:cobalt", "AppAddress gains a URL 30 h after a credential (\"Type\" key)", "low", "application")
C("planted", "sp.reply-url-added", "sp:orchard", "'Update service principal' by an app, AppAddress gains a URL, \"Type\" key", "low", "servicePrincipal")
C("ambiguous", "sp.reply-url-added", "sp:bellwether", "'Update service principal' with a ReplyUrls property as a JSON string array (value shape undocumented)")
C("decoy", "sp.reply-url-added", "app:tamarack", "AppAddress loses an address; DisplayName-only change; ReplyAddressClientType-only change")
# tenant
C("planted", "policy.registration-unrestricted", TENANT, "registersecurityinfo only in a report-only and a disabled policy; enabled policies cover All apps / registerdevice", "medium", "tenant")
# posture.device-code-unrestricted (issue 12): none of the bank's Conditional Access policies names the
# device-code flow (conditions.authenticationFlows), so nothing blocks it for anyone.
C("planted", "posture.device-code-unrestricted", TENANT, "no enabled CA policy has authenticationFlows.transferMethods deviceCodeFlow with block", "medium", "tenant")

# wave 2
C("planted", "mfa.dormant-unregistered", "hildegard", "lastSuccessfulSignInDateTime null while lastSignInDateTime 2 d / lastNonInteractive 1 d (attempts, not successes)", "high", "user")
C("decoy", "mfa.not-registered", "hildegard", "covered by mfa.dormant-unregistered")
C("decoy", "mfa.dormant-unregistered", "ferdinand", "isMfaRegistered true but isMfaCapable false (method not allowed by policy); dormant")
C("decoy", "mfa.not-registered", "ferdinand", "isMfaRegistered true but isMfaCapable false")
C("ambiguous", "mfa.dormant-unregistered", "gwilym", "createdDateTime null (documented: creation time unknown), unregistered, never signed in")
C("ambiguous", "mfa.not-registered", "gwilym", "createdDateTime null (documented: creation time unknown), unregistered, never signed in")
e = C("ambiguous", "audit.advanced-auditing-disabled", "leontyne", "like Casimir, but the plan GUID in DisabledPlans is upper-case: must behave as Casimir does")
cast[-1]["consistentWith"] = ALLIDS["casimir"]
C("decoy", "audit.advanced-auditing-disabled", "lysander", "two 'Update user' sequence events (additionalDetails id/seq/c/b, no modifiedProperties) whose fragments disable EXCHANGE_S_ENTERPRISE")
C("planted", "role.global-admin-added", "isolde", "'Add member to role' with Role.DisplayName 'Global Administrator' and no Role.TemplateId property", "high", "user")
C("planted", "role.global-admin-added", "ondrej", "Global Administrator added 29 d 23 h ago, just inside the window", "high", "user")
C("planted", "app.mail-permission-granted", "sp:gantry", "EXO Exchange.ManageAsApp granted 20 d ago", "high", "servicePrincipal")
C("planted", "sp.credential-name-mimicry", "sp:ravenscar", "SP displayName 'Ravenscar Ledger ' (trailing space), key 'CN=Ravenscar Ledger' 4 d old", "medium", "servicePrincipal")
C("planted", "sp.credential-added", "sp:ravenscar", "key on SP object 4 d old", "medium", "servicePrincipal")
C("decoy", "sp.credential-name-mimicry", "sp:harrowgate", "PASSWORD credential (not a key credential) named 'CN=Harrowgate Portal'")
C("planted", "sp.credential-added", "sp:harrowgate", "password on SP object 3 d old", "medium", "servicePrincipal")
C("planted", "sp.reply-url-added", "app:halyard", "AppAddress oldValue '[]' gains its first address", "low", "application")
C("planted", "sp.credential-added", "app:saltmarsh", "secret added 5 h AFTER a reply URL", "medium", "application")
C("planted", "sp.reply-url-added", "app:saltmarsh", "reply URL 5 h BEFORE a credential: 'within 24 h' read both ways -> medium, after-only -> low; severity not asserted", "", "application")
C("planted", "sp.credential-added", "app:pellucid", "secret on the APPLICATION object 3 d ago", "medium", "application")
C("planted", "sp.reply-url-added", "sp:pellucid", "'Update service principal' on the SP object 2 h after a credential on the APPLICATION object; severity is the ambiguity below", "", "servicePrincipal")
C("ambiguous", "sp.reply-url-added", "sp:pellucid", "severity: 'same object' read literally (SP != application) gives low; read as 'same app (appId)' gives medium. The contract also says credential-added is high when 'the object has mail access', which for an application can only mean its SP, so 'object' is used loosely")
C("ambiguous", "sp.credential-added", "app:pinecrest", "secret added to the APPLICATION whose SP holds full_access_as_app: high if 'the object has mail access' reaches through appId, medium if not (fires either way; severity logged)")
C("planted", "sp.mail-access", "sp:milexport", "managed identity (servicePrincipalType ManagedIdentity, appOwnerOrganizationId null) holding Graph Mail.Read", "low", "servicePrincipal")
C("planted", "role.global-admin-added", "grp:tier0", "role-assignable GROUP added to Global Administrator (target type Group)", "high")
C("ambiguous", "sp.mail-access", "sp:bramble", "Exchange Online's legacy Mail.Read (same GUID as Graph's) — not in the contract's list, yet mail read access")
C("decoy", "signin.azure-ip", "tomasz", "successful sign-in with ipAddress \"\"")
C("decoy", "sp.mail-access", "maeve", "a USER assigned the default access role (00000000-…) on the Microsoft Graph SP")
C("ambiguous", "mfa.dormant-registration", "perpetua", "registration 28 d ago; last success 33 d ago (5 d before it) lies outside the 720 h window a scanner reads and beyond Graph's 30-day sign-in retention")
C("decoy", "mfa.registration-untrusted-location", "perpetua", "registered from the trusted HQ range")

ALL_RULES = sorted({c["rule"] for c in cast})

# The reads of issue 12 (the scan contract's new requests), as Microsoft's
# examples show them: domain-list.md, device-list.md,
# authorizationpolicy-get.md, oauth2permissiongrant-list.md. A managed
# domain only (no federation configuration to read), one Entra-joined,
# managed and compliant laptop, the default authorization policy, and
# tenant-wide consent to Microsoft Graph without a mail scope. No planted
# case: the tenant predates the 2023-2025 rules.
domains = [{"authenticationType": "Managed", "availabilityStatus": None, "id": DOMAIN, "isAdminManaged": True,
            "isDefault": True, "isInitial": True, "isRoot": True, "isVerified": True,
            "passwordNotificationWindowInDays": 14, "passwordValidityPeriodInDays": 2147483647,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"], "state": None}]
devices = [{"@odata.type": "#microsoft.graph.device", "id": gid("device/laptop-0417"), "deviceId": gid("deviceid/laptop-0417"),
            "displayName": "BCB-LT-0417", "operatingSystem": "Windows", "operatingSystemVersion": "10.0.22631.4751",
            "trustType": "AzureAd", "isManaged": True, "isCompliant": True, "accountEnabled": True,
            "registrationDateTime": "{{now-300d}}", "approximateLastSignInDateTime": "{{now-1d}}",
            "deviceOwnership": "Company", "profileType": "RegisteredDevice", "systemLabels": [],
            "registeredOwners": []}]
authorization_policy = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity",
    "id": "authorizationPolicy", "displayName": "Authorization Policy",
    "description": "Used to manage authorization related settings across the company.",
    "allowInvitesFrom": "everyone", "allowedToSignUpEmailBasedSubscriptions": True, "allowedToUseSSPR": True,
    "allowEmailVerifiedUsersToJoinOrganization": False, "blockMsolPowerShell": None,
    "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
    "defaultUserRolePermissions": {"allowedToCreateApps": False, "allowedToCreateSecurityGroups": False,
                                   "allowedToReadOtherUsers": True, "permissionGrantPoliciesAssigned": []}}
grants = [{"clientId": SP["halyard"][0], "consentType": "AllPrincipals", "id": gid("grant/halyard"),
           "principalId": None, "resourceId": SP["graph"][0], "scope": "openid profile User.Read"}]

files = {
    "organization.json": org, "subscribedSkus.json": skus, "users.json": users,
    "userRegistrationDetails.json": regdetails, "servicePrincipals.json": sps, "applications.json": apps,
    "appRoleAssignedTo.json": assigned, "directoryAudits.json": audits, "signIns.json": signins,
    "policies.json": policies, "policies-enforced.json": policies_enforced,
    "namedLocations.json": locations, "namedLocations-untrusted.json": locations_untrusted,
    "domains.json": domains, "devices.json": devices, "authorizationPolicy.json": authorization_policy,
    "oauth2PermissionGrants.json": grants,
    "cast.json": {"tenantId": TENANT, "cast": cast},
}
os.makedirs(OUT, exist_ok=True)
for name, v in files.items():
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(v, f, indent=1, ensure_ascii=False)
        f.write("\n")
print(len(users), "users", len(sps), "sps", len(apps), "apps", len(audits), "audits", len(signins), "signins", len(cast), "cast")
