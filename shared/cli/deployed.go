//go:build deploy

package cli

// devCommands is empty in the deployed build (make package, -tags deploy):
// what runs in Azure carries scan, serve and doctor, and links none of the
// code that exists only for development (see dev.go).
func devCommands() []command { return nil }
