package graph

// The SDK path the bulk reads took before decode.go: the page parsed by
// kiota's JSON parse node into msgraph-sdk-go's models, the items taken out
// as the SDK page iterator takes them, and the conversions that
// directory.go, activity.go, signinactivity.go and delta.go had. It is the
// reference decode_internal_test.go holds decode.go to.

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// pageResult is one page, decoded: what a read hands over and follows.
type pageResult struct {
	Nil   bool // no page (JSON null): a read ends, or fails on a next page
	Items any  // []T, nil when there are none
	Next  string
	Delta string
}

// sdkList decodes a list page the SDK's way: kiota's JSON parse node, the
// collection response made by factory, its items as the page iterator's
// convertToPage takes them (a panic there, on a null element, is an
// error), nil models skipped and the others converted.
func sdkList[M any, T any](body []byte, factory serialization.ParsableFactory, convert func(M) T) (res pageResult, err error) {
	n, err := jsonserialization.NewJsonParseNode(body)
	if err != nil {
		return res, err
	}
	p, err := n.GetObjectValue(factory)
	if err != nil {
		return res, err
	}
	if p == nil {
		return pageResult{Nil: true}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the SDK panics: %v", r)
		}
	}()
	value := reflect.ValueOf(p).MethodByName("GetValue").Call(nil)[0]
	var items []T
	for i := range value.Len() {
		m := value.Index(i).Interface().(M) // as convertToPage
		if reflect.ValueOf(m).IsNil() {
			continue
		}
		items = append(items, convert(m))
	}
	if len(items) > 0 {
		res.Items = items
	}
	res.Next = deref(p.(interface{ GetOdataNextLink() *string }).GetOdataNextLink())
	return res, nil
}

// sdkDelta decodes a delta page the SDK's way (deltaPage, tracked).
func sdkDelta[M any, T any](body []byte, create serialization.ParsableFactory, names []string, convert func(M) T) (res pageResult, err error) {
	n, err := jsonserialization.NewJsonParseNode(body)
	if err != nil {
		return res, err
	}
	p, err := n.GetObjectValue(deltaPageFactory(create, names))
	if err != nil {
		return res, err
	}
	if p == nil {
		return pageResult{Nil: true}, nil
	}
	page := p.(*deltaPage)
	sets := presentSets{names: names}
	var items []tenant.DeltaItem[T]
	for _, t := range page.GetValue() {
		m, ok := t.model.(M)
		if !ok {
			return res, errors.New("not a model")
		}
		items = append(items, tenant.DeltaItem[T]{Object: convert(m), Removed: t.removed(), Present: sets.get(t.seen)})
	}
	if len(items) > 0 {
		res.Items = items
	}
	res.Next, res.Delta = deref(page.GetOdataNextLink()), deref(page.GetOdataDeltaLink())
	return res, nil
}

func userFromGraph(u models.Userable) tenant.User {
	out := tenant.User{
		ID:             str(u.GetId()),
		UPN:            str(u.GetUserPrincipalName()),
		DisplayName:    str(u.GetDisplayName()),
		UserType:       intern(str(u.GetUserType())),
		AccountEnabled: deref(u.GetAccountEnabled()),
		Created:        toTime(u.GetCreatedDateTime()),
	}
	if a := u.GetSignInActivity(); a != nil {
		out.LastSuccessfulSignIn = toTime(a.GetLastSuccessfulSignInDateTime())
	}
	for _, l := range u.GetAssignedLicenses() {
		if l == nil {
			continue
		}
		lic := tenant.License{SkuID: intern(stringer(l.GetSkuId()))}
		for _, p := range l.GetDisabledPlans() {
			lic.DisabledPlans = append(lic.DisabledPlans, intern(p.String()))
		}
		out.Licenses = append(out.Licenses, lic)
	}
	return out
}

func registrationFromGraph(r models.UserRegistrationDetailsable) tenant.Registration {
	return tenant.Registration{
		UserID:          str(r.GetId()),
		UPN:             str(r.GetUserPrincipalName()),
		DisplayName:     str(r.GetUserDisplayName()),
		UserType:        intern(stringer(r.GetUserType())),
		IsAdmin:         deref(r.GetIsAdmin()),
		IsMfaRegistered: deref(r.GetIsMfaRegistered()),
		IsMfaCapable:    deref(r.GetIsMfaCapable()),
		Methods:         internAll(r.GetMethodsRegistered()),
	}
}

func internAll(ss []string) []string {
	for i := range ss {
		ss[i] = intern(ss[i])
	}
	return ss
}

func servicePrincipalFromGraph(sp models.ServicePrincipalable) tenant.ServicePrincipal {
	out := tenant.ServicePrincipal{
		ID:                     str(sp.GetId()),
		AppID:                  str(sp.GetAppId()),
		DisplayName:            str(sp.GetDisplayName()),
		AppOwnerOrganizationID: stringer(sp.GetAppOwnerOrganizationId()),
		ServicePrincipalType:   str(sp.GetServicePrincipalType()),
		AccountEnabled:         deref(sp.GetAccountEnabled()),
		Credentials:            credentialsFromGraph(sp.GetKeyCredentials(), sp.GetPasswordCredentials()),
		ReplyURLs:              sp.GetReplyUrls(),
	}
	for _, r := range sp.GetAppRoles() {
		if r == nil {
			continue
		}
		out.AppRoles = append(out.AppRoles, tenant.AppRole{
			ID:                 stringer(r.GetId()),
			Value:              str(r.GetValue()),
			DisplayName:        str(r.GetDisplayName()),
			AllowedMemberTypes: r.GetAllowedMemberTypes(),
		})
	}
	return out
}

func credentialsFromGraph(keys []models.KeyCredentialable, passwords []models.PasswordCredentialable) []tenant.Credential {
	var out []tenant.Credential
	for _, k := range keys {
		if k == nil {
			continue
		}
		out = append(out, tenant.Credential{
			Kind:        tenant.KeyCredential,
			KeyID:       stringer(k.GetKeyId()),
			Type:        str(k.GetTypeEscaped()),
			Usage:       str(k.GetUsage()),
			DisplayName: str(k.GetDisplayName()),
			Start:       toTime(k.GetStartDateTime()),
			End:         toTime(k.GetEndDateTime()),
		})
	}
	for _, p := range passwords {
		if p == nil {
			continue
		}
		out = append(out, tenant.Credential{
			Kind:        tenant.PasswordCredential,
			KeyID:       stringer(p.GetKeyId()),
			DisplayName: str(p.GetDisplayName()),
			Start:       toTime(p.GetStartDateTime()),
			End:         toTime(p.GetEndDateTime()),
		})
	}
	return out
}

func applicationFromGraph(a models.Applicationable) tenant.Application {
	out := tenant.Application{
		ID:          str(a.GetId()),
		AppID:       str(a.GetAppId()),
		DisplayName: str(a.GetDisplayName()),
		Credentials: credentialsFromGraph(a.GetKeyCredentials(), a.GetPasswordCredentials()),
	}
	// web ∪ spa ∪ publicClient, first occurrence kept.
	seen := map[string]bool{}
	add := func(uris []string) {
		for _, u := range uris {
			if !seen[u] {
				seen[u] = true
				out.RedirectURIs = append(out.RedirectURIs, u)
			}
		}
	}
	if w := a.GetWeb(); w != nil {
		add(w.GetRedirectUris())
	}
	if s := a.GetSpa(); s != nil {
		add(s.GetRedirectUris())
	}
	if p := a.GetPublicClient(); p != nil {
		add(p.GetRedirectUris())
	}
	return out
}

func appRoleAssignmentFromGraph(a models.AppRoleAssignmentable) tenant.AppRoleAssignment {
	return tenant.AppRoleAssignment{
		ID:                   str(a.GetId()),
		AppRoleID:            stringer(a.GetAppRoleId()),
		PrincipalID:          stringer(a.GetPrincipalId()),
		PrincipalType:        str(a.GetPrincipalType()),
		PrincipalDisplayName: str(a.GetPrincipalDisplayName()),
		ResourceID:           stringer(a.GetResourceId()),
		ResourceDisplayName:  str(a.GetResourceDisplayName()),
		Created:              toTime(a.GetCreatedDateTime()),
	}
}

func auditFromGraph(a models.DirectoryAuditable) tenant.AuditEvent {
	out := tenant.AuditEvent{
		ID:              str(a.GetId()),
		Time:            toTime(a.GetActivityDateTime()),
		Activity:        str(a.GetActivityDisplayName()),
		Category:        str(a.GetCategory()),
		LoggedByService: str(a.GetLoggedByService()),
		OperationType:   str(a.GetOperationType()),
		Result:          stringer(a.GetResult()),
		ResultReason:    str(a.GetResultReason()),
		CorrelationID:   str(a.GetCorrelationId()),
	}
	if by := a.GetInitiatedBy(); by != nil {
		if u := by.GetUser(); u != nil {
			out.Initiator.UserID = str(u.GetId())
			out.Initiator.UPN = str(u.GetUserPrincipalName())
			out.Initiator.IP = str(u.GetIpAddress())
			out.Initiator.DisplayName = str(u.GetDisplayName())
		}
		if app := by.GetApp(); app != nil {
			out.Initiator.AppID = str(app.GetAppId())
			out.Initiator.SPID = str(app.GetServicePrincipalId())
			if out.Initiator.DisplayName == "" {
				out.Initiator.DisplayName = str(app.GetDisplayName())
			}
		}
	}
	for _, t := range a.GetTargetResources() {
		if t == nil {
			continue
		}
		target := tenant.Target{
			ID:          str(t.GetId()),
			DisplayName: str(t.GetDisplayName()),
			Type:        targetType(t),
			UPN:         str(t.GetUserPrincipalName()),
		}
		for _, m := range t.GetModifiedProperties() {
			if m == nil {
				continue
			}
			target.Modified = append(target.Modified, tenant.ModifiedProperty{
				Name: str(m.GetDisplayName()), Old: str(m.GetOldValue()), New: str(m.GetNewValue())})
		}
		out.Targets = append(out.Targets, target)
	}
	for _, d := range a.GetAdditionalDetails() {
		if d != nil {
			out.Details = append(out.Details, tenant.KeyValue{Key: str(d.GetKey()), Value: str(d.GetValue())})
		}
	}
	return out
}

func targetType(t models.TargetResourceable) string {
	if v := t.GetTypeEscaped(); v != nil {
		return *v
	}
	for k, v := range t.GetAdditionalData() {
		if !strings.EqualFold(k, "type") {
			continue
		}
		switch s := v.(type) {
		case *string:
			if s != nil {
				return *s
			}
		case string:
			return s
		}
	}
	return ""
}

func signInFromGraph(s models.SignInable) tenant.SignIn {
	out := tenant.SignIn{
		ID:             str(s.GetId()),
		Time:           toTime(s.GetCreatedDateTime()),
		UserID:         str(s.GetUserId()),
		UPN:            str(s.GetUserPrincipalName()),
		AppID:          str(s.GetAppId()),
		AppDisplayName: str(s.GetAppDisplayName()),
		IP:             str(s.GetIpAddress()),
		ClientApp:      str(s.GetClientAppUsed()),
		ResourceID:     str(s.GetResourceId()),
		// resourceDisplayName, below
		Interactive: deref(s.GetIsInteractive()),
		// msgraph-sdk-go (v1.0) has no beta model: the SDK path keeps
		// beta's properties in the model's additional data, as strings.
		AuthProtocol:           additionalString(s.GetAdditionalData(), "authenticationProtocol"),
		OriginalTransferMethod: additionalString(s.GetAdditionalData(), "originalTransferMethod"),
	}
	out.ResourceDisplayName = str(s.GetResourceDisplayName())
	if l := s.GetLocation(); l != nil {
		out.Country = str(l.GetCountryOrRegion())
	}
	if d := s.GetDeviceDetail(); d != nil {
		out.DeviceID = str(d.GetDeviceId())
	}
	// No status.errorCode (never seen with $select=status) must not read
	// as 0, "success": mark it unknown.
	out.ErrorCode = -1
	if st := s.GetStatus(); st != nil && st.GetErrorCode() != nil {
		out.ErrorCode = int(*st.GetErrorCode())
	}
	return out
}

func signInActivityFromGraph(u models.Userable) tenant.SignInActivity {
	out := tenant.SignInActivity{UserID: str(u.GetId())}
	if a := u.GetSignInActivity(); a != nil {
		out.LastSuccessfulSignIn = toTime(a.GetLastSuccessfulSignInDateTime())
	}
	return out
}

// tracked wraps an SDK model while the JSON parse node fills it, and records
// which of the watched properties the item carried: the parse node calls a
// property's deserializer for every key present, null values included, and
// puts keys it has no deserializer for (such as "@removed") in the additional
// data.
type tracked struct {
	model serialization.Parsable
	names []string // watched JSON property names; at most maxTracked
	seen  uint64   // bit i: names[i] was present
}

// GetFieldDeserializers returns the model's deserializers, the watched ones
// wrapped to record their property.
func (t *tracked) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	fs := t.model.GetFieldDeserializers()
	for i, name := range t.names[:min(len(t.names), maxTracked)] {
		if f, ok := fs[name]; ok {
			bit := uint64(1) << i
			fs[name] = func(n serialization.ParseNode) error {
				t.seen |= bit
				return f(n)
			}
		}
	}
	return fs
}

// Serialize is never used: delta items are only read.
func (t *tracked) Serialize(w serialization.SerializationWriter) error { return t.model.Serialize(w) }

// GetAdditionalData and SetAdditionalData make the parse node keep
// unknown keys ("@removed") on the model.
func (t *tracked) GetAdditionalData() map[string]any {
	if h, ok := t.model.(serialization.AdditionalDataHolder); ok {
		return h.GetAdditionalData()
	}
	return nil
}

func (t *tracked) SetAdditionalData(v map[string]any) {
	if h, ok := t.model.(serialization.AdditionalDataHolder); ok {
		h.SetAdditionalData(v)
	}
}

// removed reports whether the item carried "@removed".
func (t *tracked) removed() bool {
	_, ok := t.GetAdditionalData()["@removed"]
	return ok
}

// deltaPage is one page of a delta round, parsed with tracked items.
type deltaPage struct {
	item       serialization.ParsableFactory
	value      []*tracked
	next, last *string
}

// deltaPageFactory returns the factory of pages whose items create makes,
// watching the properties names.
func deltaPageFactory(create serialization.ParsableFactory, names []string) serialization.ParsableFactory {
	item := func(n serialization.ParseNode) (serialization.Parsable, error) {
		m, err := create(n)
		if err != nil {
			return nil, err
		}
		return &tracked{model: m, names: names}, nil
	}
	return func(serialization.ParseNode) (serialization.Parsable, error) {
		return &deltaPage{item: item}, nil
	}
}

func (p *deltaPage) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"value": func(n serialization.ParseNode) error {
			vs, err := n.GetCollectionOfObjectValues(p.item)
			if err != nil {
				return err
			}
			p.value = make([]*tracked, 0, len(vs))
			for _, v := range vs {
				if t, ok := v.(*tracked); ok && t != nil {
					p.value = append(p.value, t)
				}
			}
			return nil
		},
		"@odata.nextLink": func(n serialization.ParseNode) (err error) {
			p.next, err = n.GetStringValue()
			return err
		},
		"@odata.deltaLink": func(n serialization.ParseNode) (err error) {
			p.last, err = n.GetStringValue()
			return err
		},
	}
}

// Serialize is never used: pages are only read.
func (p *deltaPage) Serialize(serialization.SerializationWriter) error {
	return errors.New("graph: a delta page is never sent")
}

// GetValue, GetOdataNextLink and GetOdataDeltaLink are what the SDK page
// iterator reads.
func (p *deltaPage) GetValue() []*tracked       { return p.value }
func (p *deltaPage) GetOdataNextLink() *string  { return p.next }
func (p *deltaPage) GetOdataDeltaLink() *string { return p.last }

// additionalString is the string the SDK kept for an unmodelled property
// (name matched exactly); "" when absent, null or not a string.
func additionalString(data map[string]any, name string) string {
	switch v := data[name].(type) {
	case *string:
		if v != nil {
			return *v
		}
	case string:
		return v
	}
	return ""
}

func deviceFromGraph(d models.Deviceable) tenant.Device {
	out := tenant.Device{
		ID:                     str(d.GetId()),
		DeviceID:               str(d.GetDeviceId()),
		DisplayName:            str(d.GetDisplayName()),
		OperatingSystem:        str(d.GetOperatingSystem()),
		OperatingSystemVersion: str(d.GetOperatingSystemVersion()),
		TrustType:              str(d.GetTrustType()),
		IsManaged:              deref(d.GetIsManaged()),
		IsCompliant:            deref(d.GetIsCompliant()),
		AccountEnabled:         deref(d.GetAccountEnabled()),
		Registered:             toTime(d.GetRegistrationDateTime()),
		LastSignIn:             toTime(d.GetApproximateLastSignInDateTime()),
	}
	for _, o := range d.GetRegisteredOwners() {
		if o != nil {
			out.OwnerIDs = append(out.OwnerIDs, str(o.GetId()))
		}
	}
	return out
}

func delegatedGrantFromGraph(g models.OAuth2PermissionGrantable) tenant.DelegatedGrant {
	return tenant.DelegatedGrant{ID: str(g.GetId()), ClientID: str(g.GetClientId()), ConsentType: str(g.GetConsentType()),
		PrincipalID: str(g.GetPrincipalId()), ResourceID: str(g.GetResourceId()), Scope: str(g.GetScope())}
}

func memberIDFromGraph(u models.Userable) string { return str(u.GetId()) }
