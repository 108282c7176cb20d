package app

// OnWait makes l call f each time an invocation starts waiting for a build
// (a test's barrier). Set it before l is used.
func OnWait(l *Lazy, f func()) { l.waiting = f }

// NewWithCredential is New with the credential built by newCredential (a
// test's counting factory).
var NewWithCredential = newService
