package graph

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tenantwatch/tenantwatch/shared/graph/internal/pagejson"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The bulk reads (users, userRegistrationDetails, service principals,
// applications, appRoleAssignedTo, directory audits, sign-ins,
// signInActivity and the delta rounds) decode their pages here, straight
// into shared/tenant values, instead of through the SDK's JSON parse-node
// tree and models, which cost most of a scan's CPU: a map per object, a
// node per value, a map of field deserializers per object.
//
// What comes out is what the SDK models gave, converted: the SDK's property
// names (matched case-sensitively), types and leniency, value by value.
//   - A string, boolean or number property holding another kind of value
//     fails the page, as in the SDK; null is the zero value.
//   - Dates are RFC 3339 (a date without a zone gets the local one, as the
//     SDK does); "" (made null on the wire by typednull), null and
//     0001-01-01T00:00:00Z are the zero time; others are returned in UTC.
//     A malformed date fails the page.
//   - GUIDs are parsed as the SDK parses them (github.com/google/uuid) and
//     rendered in its lower-case form; null is "" (and so is "" for the
//     GUID properties typednull knows), a malformed one fails the page.
//   - Enums (registration userType, audit result) are the SDK's names,
//     matched exactly; an unknown value is "".
//   - A collection property holding another kind of value fails the page;
//     null elements of an object collection are skipped, of a string
//     collection are "" (a GUID collection: the nil GUID); an element or an
//     object property holding a non-object is an object with no properties.
//   - targetResources[].type: "type" if present and not null, else the
//     first string member whose name is "type" in another case ("Type", as
//     in Graph's own samples), else "".
//   - A name that repeats in an object: the last one counts.
//
// Properties the conversion does not read are skipped without looking at
// their type (the SDK would fail the page on, say, a malformed
// lastSignInDateTime or keyCredentials[].key that this package never
// uses). decode_internal_test.go holds the SDK path as the reference: every
// testdata page decodes to the same values both ways, and a fuzz target
// checks that wherever the SDK decodes a page, this decodes it to the same
// values.

// dec reads one read's pages.
type dec struct {
	*pagejson.Decoder
	// interned holds this read's interned values by their text, so that a
	// repeated value (a SKU id, a user type) costs a map lookup.
	interned map[string]string
}

func newDec() *dec { return &dec{Decoder: pagejson.NewDecoder(nil), interned: make(map[string]string)} }

// memberHook sees each member name of an item before the item's decoder;
// it returns true when it read the value itself.
type memberHook func(name []byte) (took bool, err error)

// object reads an object's members with member (see pagejson.Decoder.Object),
// hook (if not nil) seeing each name first. A member's error is returned
// with the member's name in front.
func (d *dec) object(hook memberHook, member func(name []byte) error) (pagejson.Kind, error) {
	return d.Object(func(name []byte) error {
		if hook != nil {
			if took, err := hook(name); took || err != nil {
				return err
			}
		}
		if err := member(name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// array reads an array with elem; null is no elements; any other kind is an
// error, as for the SDK's collections.
func (d *dec) array(elem func() error) (null bool, err error) {
	k, err := d.Array(elem)
	if err != nil {
		return false, err
	}
	switch k {
	case pagejson.Array:
		return false, nil
	case pagejson.Null:
		return true, nil
	}
	return false, &pagejson.TypeError{Want: "array", Got: k}
}

// errNotCollection is a page whose value is not an array.
var errNotCollection = errors.New("value is not a collection")

// str reads a string property; null is "".
func (d *dec) str() (string, error) { return d.String() }

// intern reads a string property and returns its interned value.
func (d *dec) intern() (string, error) {
	b, _, err := d.Bytes()
	if err != nil {
		return "", err
	}
	return d.internBytes(b), nil
}

func (d *dec) internBytes(b []byte) string {
	if s, ok := d.interned[string(b)]; ok {
		return s
	}
	s := intern(string(b))
	d.interned[s] = s
	return s
}

// boolean reads a boolean property; null is false.
func (d *dec) boolean() (bool, error) {
	v, _, err := d.Bool()
	return v, err
}

// int32 reads an integer property as the SDK does (a number without a
// fraction in the int32 range); ok is false for null.
func (d *dec) int32() (v int32, ok bool, err error) {
	f, null, err := d.Float()
	if err != nil || null {
		return 0, false, err
	}
	if f < -1<<31 || f > 1<<31-1 || f != float64(int64(f)) {
		return 0, false, fmt.Errorf("value '%v' is not compatible with type int32", f)
	}
	return int32(f), true, nil
}

// time reads a date property: see the notes above.
func (d *dec) time() (time.Time, error) {
	b, null, err := d.Bytes()
	if err != nil || null {
		return time.Time{}, err
	}
	s := string(b)
	if len(s) == 19 { // no zone: the SDK adds the local one
		s += time.Now().Format("-07:00")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.IsZero() {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

// guid reads a GUID property: see the notes above.
func (d *dec) guid() (string, error) {
	b, null, err := d.Bytes()
	if err != nil || null {
		return "", err
	}
	return guidString(b)
}

// guidInterned reads a GUID property and interns it.
func (d *dec) guidInterned() (string, error) {
	b, null, err := d.Bytes()
	if err != nil || null {
		return "", err
	}
	if s, ok := d.interned[string(b)]; ok {
		return s, nil
	}
	s, err := guidString(b)
	if err != nil {
		return "", err
	}
	s = intern(s)
	d.interned[string(b)] = s
	return s, nil
}

// guidString renders b as the SDK's uuid.UUID.String does: the canonical
// lower-case form is returned as it is, anything else goes through
// uuid.ParseBytes.
func guidString(b []byte) (string, error) {
	if isCanonicalGUID(b) {
		return string(b), nil
	}
	u, err := uuid.ParseBytes(b)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// isCanonicalGUID reports whether b is 8-4-4-4-12 lower-case hex.
func isCanonicalGUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// enum reads an enum property: the value if it is one of names, else "".
func (d *dec) enum(names ...string) (string, error) {
	b, _, err := d.Bytes()
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if string(b) == n {
			return n, nil
		}
	}
	return "", nil
}

// strs reads a collection of strings: null is nil, [] an empty slice, a
// null element "".
func (d *dec) strs(interned bool) ([]string, error) {
	out := []string{}
	null, err := d.array(func() error {
		b, _, err := d.Bytes()
		if err != nil {
			return err
		}
		if interned {
			out = append(out, d.internBytes(b))
		} else {
			out = append(out, string(b))
		}
		return nil
	})
	if err != nil || null {
		return nil, err
	}
	return out, nil
}

// nilGUID is what the SDK makes of a null element of a GUID collection.
const nilGUID = "00000000-0000-0000-0000-000000000000"

// guids reads a collection of GUIDs, interned: null and [] are nil, a null
// element is nilGUID.
func (d *dec) guids() ([]string, error) {
	var out []string
	_, err := d.array(func() error {
		if d.Kind() == pagejson.Null {
			d.Skip()
			out = append(out, nilGUID)
			return nil
		}
		s, err := d.guidInterned()
		out = append(out, s)
		return err
	})
	return out, err
}

// objects reads a collection of objects, calling item for each element
// that is not null (a non-object is an object without members): null is
// no elements.
func (d *dec) objects(item func() (pagejson.Kind, error)) error {
	_, err := d.array(func() error {
		if d.Kind() == pagejson.Null {
			d.Skip()
			return nil
		}
		_, err := item()
		return err
	})
	return err
}

// ---- users ----

// user reads a user (userFields or userSignInFields).
func (d *dec) user(hook memberHook) (u tenant.User, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			u.ID, err = d.str()
		case "userPrincipalName":
			u.UPN, err = d.str()
		case "displayName":
			u.DisplayName, err = d.str()
		case "userType":
			u.UserType, err = d.intern()
		case "accountEnabled":
			u.AccountEnabled, err = d.boolean()
		case "createdDateTime":
			u.Created, err = d.time()
		case "signInActivity":
			u.LastSuccessfulSignIn, err = d.lastSuccessfulSignIn()
		case "assignedLicenses":
			u.Licenses, err = d.licenses()
		default:
			d.Skip()
		}
		return err
	})
	return u, k, err
}

// lastSuccessfulSignIn reads signInActivity for its one date we use.
func (d *dec) lastSuccessfulSignIn() (t time.Time, err error) {
	_, err = d.object(nil, func(name []byte) (err error) {
		if string(name) == "lastSuccessfulSignInDateTime" {
			t, err = d.time()
		} else {
			d.Skip()
		}
		return err
	})
	return t, err
}

func (d *dec) licenses() (out []tenant.License, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		var l tenant.License
		k, err := d.object(nil, func(name []byte) (err error) {
			switch string(name) {
			case "skuId":
				l.SkuID, err = d.guidInterned()
			case "disabledPlans":
				l.DisabledPlans, err = d.guids()
			default:
				d.Skip()
			}
			return err
		})
		out = append(out, l)
		return k, err
	})
	return out, err
}

// signInActivity reads a user selected with signInActivityFields.
func (d *dec) signInActivity(hook memberHook) (a tenant.SignInActivity, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			a.UserID, err = d.str()
		case "signInActivity":
			a.LastSuccessfulSignIn, err = d.lastSuccessfulSignIn()
		default:
			d.Skip()
		}
		return err
	})
	return a, k, err
}

// ---- userRegistrationDetails ----

func (d *dec) registration(hook memberHook) (r tenant.Registration, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			r.UserID, err = d.str()
		case "userPrincipalName":
			r.UPN, err = d.str()
		case "userDisplayName":
			r.DisplayName, err = d.str()
		case "userType": // the SDK's signInUserType
			r.UserType, err = d.enum("member", "guest", "unknownFutureValue")
		case "isAdmin":
			r.IsAdmin, err = d.boolean()
		case "isMfaRegistered":
			r.IsMfaRegistered, err = d.boolean()
		case "isMfaCapable":
			r.IsMfaCapable, err = d.boolean()
		case "methodsRegistered":
			r.Methods, err = d.strs(true)
		default:
			d.Skip()
		}
		return err
	})
	return r, k, err
}

// ---- servicePrincipals and applications ----

// credentials holds an object's key and password credentials as read, so
// that they come out keys first whatever the order of the members.
type credentials struct{ keys, passwords []tenant.Credential }

func (c credentials) all() []tenant.Credential {
	if len(c.keys) == 0 {
		return c.passwords
	}
	return append(c.keys, c.passwords...)
}

func (d *dec) credentialList(kind tenant.CredentialKind) (out []tenant.Credential, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		c := tenant.Credential{Kind: kind}
		k, err := d.object(nil, func(name []byte) (err error) {
			switch string(name) {
			case "keyId":
				c.KeyID, err = d.guid()
			case "type":
				if kind == tenant.KeyCredential {
					c.Type, err = d.str()
				} else {
					d.Skip()
				}
			case "usage":
				if kind == tenant.KeyCredential {
					c.Usage, err = d.str()
				} else {
					d.Skip()
				}
			case "displayName":
				c.DisplayName, err = d.str()
			case "startDateTime":
				c.Start, err = d.time()
			case "endDateTime":
				c.End, err = d.time()
			default:
				d.Skip()
			}
			return err
		})
		out = append(out, c)
		return k, err
	})
	return out, err
}

func (d *dec) servicePrincipal(hook memberHook) (sp tenant.ServicePrincipal, k pagejson.Kind, err error) {
	var creds credentials
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			sp.ID, err = d.str()
		case "appId":
			sp.AppID, err = d.str()
		case "displayName":
			sp.DisplayName, err = d.str()
		case "appOwnerOrganizationId":
			sp.AppOwnerOrganizationID, err = d.guid()
		case "servicePrincipalType":
			sp.ServicePrincipalType, err = d.str()
		case "accountEnabled":
			sp.AccountEnabled, err = d.boolean()
		case "keyCredentials":
			creds.keys, err = d.credentialList(tenant.KeyCredential)
		case "passwordCredentials":
			creds.passwords, err = d.credentialList(tenant.PasswordCredential)
		case "replyUrls":
			sp.ReplyURLs, err = d.strs(false)
		case "appRoles":
			sp.AppRoles, err = d.appRoles()
		default:
			d.Skip()
		}
		return err
	})
	sp.Credentials = creds.all()
	return sp, k, err
}

func (d *dec) appRoles() (out []tenant.AppRole, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		var r tenant.AppRole
		k, err := d.object(nil, func(name []byte) (err error) {
			switch string(name) {
			case "id":
				r.ID, err = d.guid()
			case "value":
				r.Value, err = d.str()
			case "displayName":
				r.DisplayName, err = d.str()
			case "allowedMemberTypes":
				r.AllowedMemberTypes, err = d.strs(false)
			default:
				d.Skip()
			}
			return err
		})
		out = append(out, r)
		return k, err
	})
	return out, err
}

func (d *dec) application(hook memberHook) (a tenant.Application, k pagejson.Kind, err error) {
	var (
		creds                  credentials
		web, spa, publicClient []string
	)
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			a.ID, err = d.str()
		case "appId":
			a.AppID, err = d.str()
		case "displayName":
			a.DisplayName, err = d.str()
		case "keyCredentials":
			creds.keys, err = d.credentialList(tenant.KeyCredential)
		case "passwordCredentials":
			creds.passwords, err = d.credentialList(tenant.PasswordCredential)
		case "web":
			web, err = d.redirectURIs()
		case "spa":
			spa, err = d.redirectURIs()
		case "publicClient":
			publicClient, err = d.redirectURIs()
		default:
			d.Skip()
		}
		return err
	})
	a.Credentials = creds.all()
	// web ∪ spa ∪ publicClient, first occurrence kept.
	var seen map[string]bool
	for _, uris := range [][]string{web, spa, publicClient} {
		for _, u := range uris {
			if seen == nil {
				seen = make(map[string]bool)
			}
			if !seen[u] {
				seen[u] = true
				a.RedirectURIs = append(a.RedirectURIs, u)
			}
		}
	}
	return a, k, err
}

// redirectURIs reads a web, spa or publicClient object for its
// redirectUris.
func (d *dec) redirectURIs() (uris []string, err error) {
	_, err = d.object(nil, func(name []byte) (err error) {
		if string(name) == "redirectUris" {
			uris, err = d.strs(false)
		} else {
			d.Skip()
		}
		return err
	})
	return uris, err
}

// ---- appRoleAssignedTo ----

func (d *dec) appRoleAssignment(hook memberHook) (a tenant.AppRoleAssignment, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			a.ID, err = d.str()
		case "appRoleId":
			a.AppRoleID, err = d.guid()
		case "principalId":
			a.PrincipalID, err = d.guid()
		case "principalType":
			a.PrincipalType, err = d.str()
		case "principalDisplayName":
			a.PrincipalDisplayName, err = d.str()
		case "resourceId":
			a.ResourceID, err = d.guid()
		case "resourceDisplayName":
			a.ResourceDisplayName, err = d.str()
		case "createdDateTime":
			a.Created, err = d.time()
		default:
			d.Skip()
		}
		return err
	})
	return a, k, err
}

// ---- directoryAudits ----

func (d *dec) audit(hook memberHook) (e tenant.AuditEvent, k pagejson.Kind, err error) {
	var by initiator
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			e.ID, err = d.str()
		case "activityDateTime":
			e.Time, err = d.time()
		case "activityDisplayName":
			e.Activity, err = d.str()
		case "category":
			e.Category, err = d.str()
		case "loggedByService":
			e.LoggedByService, err = d.str()
		case "operationType":
			e.OperationType, err = d.str()
		case "result": // the SDK's operationResult
			e.Result, err = d.enum("success", "failure", "timeout", "unknownFutureValue")
		case "resultReason":
			e.ResultReason, err = d.str()
		case "correlationId":
			e.CorrelationID, err = d.str()
		case "initiatedBy":
			by, err = d.initiatedBy()
		case "targetResources":
			e.Targets, err = d.targets()
		case "additionalDetails":
			e.Details, err = d.keyValues()
		default:
			d.Skip()
		}
		return err
	})
	e.Initiator = by.actor()
	return e, k, err
}

// initiator is initiatedBy as read: its user and app, each nil when absent
// or null.
type initiator struct{ user, app *actorIdentity }

type actorIdentity struct{ id, upn, ip, displayName, appID, spID string }

func (i initiator) actor() tenant.Actor {
	var a tenant.Actor
	if u := i.user; u != nil {
		a.UserID, a.UPN, a.IP, a.DisplayName = u.id, u.upn, u.ip, u.displayName
	}
	if app := i.app; app != nil {
		a.AppID, a.SPID = app.appID, app.spID
		if a.DisplayName == "" {
			a.DisplayName = app.displayName
		}
	}
	return a
}

func (d *dec) initiatedBy() (by initiator, err error) {
	_, err = d.object(nil, func(name []byte) (err error) {
		switch string(name) {
		case "user":
			by.user, err = d.identity(false)
		case "app":
			by.app, err = d.identity(true)
		default:
			d.Skip()
		}
		return err
	})
	return by, err
}

// identity reads initiatedBy.user (a userIdentity) or initiatedBy.app (an
// appIdentity); nil for null.
func (d *dec) identity(app bool) (*actorIdentity, error) {
	var id actorIdentity
	k, err := d.object(nil, func(name []byte) (err error) {
		switch n := string(name); {
		case n == "displayName":
			id.displayName, err = d.str()
		case !app && n == "id":
			id.id, err = d.str()
		case !app && n == "userPrincipalName":
			id.upn, err = d.str()
		case !app && n == "ipAddress":
			id.ip, err = d.str()
		case app && n == "appId":
			id.appID, err = d.str()
		case app && n == "servicePrincipalId":
			id.spID, err = d.str()
		default:
			d.Skip()
		}
		return err
	})
	if err != nil || k == pagejson.Null {
		return nil, err
	}
	return &id, nil
}

func (d *dec) targets() (out []tenant.Target, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		var (
			t       tenant.Target
			typ     *string // "type", unless null
			typeAlt *string // the first string "Type", "TYPE", …
		)
		k, err := d.object(nil, func(name []byte) (err error) {
			switch string(name) {
			case "id":
				t.ID, err = d.str()
			case "displayName":
				t.DisplayName, err = d.str()
			case "type":
				var b []byte
				var null bool
				if b, null, err = d.Bytes(); err == nil {
					typ = nil
					if !null {
						s := string(b)
						typ = &s
					}
				}
			case "userPrincipalName":
				t.UPN, err = d.str()
			case "modifiedProperties":
				t.Modified, err = d.modifiedProperties()
			default:
				// An unknown member: the SDK keeps it aside, and
				// targetType looks there for "Type".
				if typeAlt == nil && len(name) == len("type") && d.Kind() == pagejson.String && equalFoldType(name) {
					s, _ := d.str()
					typeAlt = &s
				} else {
					d.Skip()
				}
			}
			return err
		})
		switch {
		case typ != nil:
			t.Type = *typ
		case typeAlt != nil:
			t.Type = *typeAlt
		}
		out = append(out, t)
		return k, err
	})
	return out, err
}

// equalFoldType reports whether name is "type" in any case.
func equalFoldType(name []byte) bool {
	for i, c := range name {
		if c|0x20 != "type"[i] {
			return false
		}
	}
	return true
}

func (d *dec) modifiedProperties() (out []tenant.ModifiedProperty, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		var m tenant.ModifiedProperty
		k, err := d.object(nil, func(name []byte) (err error) {
			switch string(name) {
			case "displayName":
				m.Name, err = d.str()
			case "oldValue":
				m.Old, err = d.str()
			case "newValue":
				m.New, err = d.str()
			default:
				d.Skip()
			}
			return err
		})
		out = append(out, m)
		return k, err
	})
	return out, err
}

func (d *dec) keyValues() (out []tenant.KeyValue, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		var kv tenant.KeyValue
		k, err := d.object(nil, func(name []byte) (err error) {
			switch string(name) {
			case "key":
				kv.Key, err = d.str()
			case "value":
				kv.Value, err = d.str()
			default:
				d.Skip()
			}
			return err
		})
		out = append(out, kv)
		return k, err
	})
	return out, err
}

// ---- signIns ----

func (d *dec) signIn(hook memberHook) (s tenant.SignIn, k pagejson.Kind, err error) {
	// No status.errorCode (never seen with $select=status) must not read
	// as 0, "success": mark it unknown.
	s.ErrorCode = -1
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			s.ID, err = d.str()
		case "createdDateTime":
			s.Time, err = d.time()
		case "userId":
			s.UserID, err = d.str()
		case "userPrincipalName":
			s.UPN, err = d.str()
		case "appId":
			s.AppID, err = d.str()
		case "appDisplayName":
			s.AppDisplayName, err = d.str()
		case "ipAddress":
			s.IP, err = d.str()
		case "status":
			s.ErrorCode, err = d.errorCode()
		case "clientAppUsed":
			s.ClientApp, err = d.intern()
		case "resourceId":
			s.ResourceID, err = d.intern()
		case "resourceDisplayName":
			s.ResourceDisplayName, err = d.intern()
		case "location":
			s.Country, err = d.member("countryOrRegion")
		case "deviceDetail":
			s.DeviceID, err = d.member("deviceId")
		case "isInteractive":
			s.Interactive, err = d.boolean()
		case "authenticationProtocol": // beta only
			s.AuthProtocol, err = d.intern()
		case "originalTransferMethod": // beta only
			s.OriginalTransferMethod, err = d.intern()
		default:
			d.Skip()
		}
		return err
	})
	return s, k, err
}

// errorCode reads status for status.errorCode; -1 when it has none.
func (d *dec) errorCode() (code int, err error) {
	code = -1
	_, err = d.object(nil, func(name []byte) error {
		if string(name) != "errorCode" {
			d.Skip()
			return nil
		}
		v, ok, err := d.int32()
		code = -1
		if ok {
			code = int(v)
		}
		return err
	})
	return code, err
}

// member reads an object property for its string member name; "" when
// absent or null.
func (d *dec) member(name string) (v string, err error) {
	_, err = d.object(nil, func(n []byte) (err error) {
		if string(n) == name {
			v, err = d.intern()
		} else {
			d.Skip()
		}
		return err
	})
	return v, err
}

// ---- devices ----

func (d *dec) device(hook memberHook) (v tenant.Device, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			v.ID, err = d.str()
		case "deviceId":
			v.DeviceID, err = d.str()
		case "displayName":
			v.DisplayName, err = d.str()
		case "operatingSystem":
			v.OperatingSystem, err = d.intern()
		case "operatingSystemVersion":
			v.OperatingSystemVersion, err = d.intern()
		case "trustType":
			v.TrustType, err = d.intern()
		case "isManaged":
			v.IsManaged, err = d.boolean()
		case "isCompliant":
			v.IsCompliant, err = d.boolean()
		case "accountEnabled":
			v.AccountEnabled, err = d.boolean()
		case "registrationDateTime":
			v.Registered, err = d.time()
		case "approximateLastSignInDateTime":
			v.LastSignIn, err = d.time()
		case "registeredOwners":
			v.OwnerIDs, err = d.ids()
		default:
			d.Skip()
		}
		return err
	})
	return v, k, err
}

// ids reads a collection of directory objects for their ids: null and []
// are nil; null elements are skipped, an element without an id is "".
func (d *dec) ids() (out []string, err error) {
	err = d.objects(func() (pagejson.Kind, error) {
		id, k, err := d.memberID(nil)
		out = append(out, id)
		return k, err
	})
	return out, err
}

// memberID reads a directory object for its id (transitiveMembers).
func (d *dec) memberID(hook memberHook) (id string, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		if string(name) == "id" {
			id, err = d.str()
		} else {
			d.Skip()
		}
		return err
	})
	return id, k, err
}

// ---- oauth2PermissionGrants ----

func (d *dec) delegatedGrant(hook memberHook) (g tenant.DelegatedGrant, k pagejson.Kind, err error) {
	k, err = d.object(hook, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			g.ID, err = d.str()
		case "clientId":
			g.ClientID, err = d.str()
		case "consentType":
			g.ConsentType, err = d.intern()
		case "principalId":
			g.PrincipalID, err = d.str()
		case "resourceId":
			g.ResourceID, err = d.str()
		case "scope":
			g.Scope, err = d.str()
		default:
			d.Skip()
		}
		return err
	})
	return g, k, err
}
