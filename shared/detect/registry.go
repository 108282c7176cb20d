package detect

// All returns every detector, in catalogue order. The list is explicit: a
// rule exists when it is written here, and registry_test.go checks it.
func All() []Detector {
	return []Detector{
		newAdvancedAuditingDisabled(),
		newDormantUnregistered(),
		newNotRegistered(),
		newDormantRegistration(),
		newRegistrationUntrustedLocation(),
		newRegistrationUnrestricted(),
		newDormantExcludedFromMFA(),
		newDeviceCodeUnrestricted(),
		newSignInAzureIP(),
		newSignInDeviceCode(),
		newBrokerDeviceRegistration(),
		newRogueRegistration(),
		newPasswordSpray(),
		newCredentialAdded(),
		newCredentialNameMimicry(),
		newReplyURLAdded(),
		newMailAccess(),
		newFirstPartyCredential(),
		newGlobalAdminAdded(),
		newMailPermissionGranted(),
		newMailboxAuditBypass(),
		newMailboxAuditReduced(),
		newOrgAuditDisabled(),
		newImpersonationGranted(),
		newAppCollection(),
		newAuditGap(),
		// Issue 12, rules-b: consent and cross-tenant apps, federation.
		newCrossTenantMailAccess(),
		newConsentMailScopes(),
		newNewAppChain(),
		newFederationChanged(),
		newFederatedCredentialAdded(),
		newUserConsentAllowed(),
	}
}
