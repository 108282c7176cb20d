// Package graphsim is a simulated Microsoft Graph v1.0 tenant: an
// http.Handler that answers the reads tenantwatch makes with the JSON
// shapes, paging, query options, throttling and error bodies of the real
// service, and that changes while it runs (delta queries, change
// notification subscriptions with their handshake and deliveries, an
// admin API). It serves any tenant data given to it: a Scenario (data,
// and optionally a story of attack steps) from the packages under
// shared/graphsim/scenario.
//
// It exists so that tests and `make demo` can run the real Graph client
// (msgraph-sdk-go pointed at the simulator's base URL) end to end. It
// imports only the standard library and never detection code.
//
//	sc, _ := scenario.Get("apt29") // or apt29.Scenario()
//	sim, err := graphsim.New(&graphsim.Options{Scenario: sc, Users: 1000, ThrottleRate: 0.05, Seed: 7})
//	srv := httptest.NewServer(sim.Handler())
//	// point the Graph client at srv.URL + "/any/prefix/v1.0"
//	want, _ := sc.Expected() // what a scan must report
//	res, _ := sim.Attack(ctx, apt29.StepSPBackdoor)
//	sim.Change(func(tx *graphsim.Tx) error { … })  // change the tenant in one step
//
// README.md beside this file is the specification: endpoints and page
// sizes with their sources, query options, faults, delta queries,
// subscriptions, notifications, the admin API, the scenario format and how
// to add a collection or a scenario.
package graphsim
