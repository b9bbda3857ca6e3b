// Package securitytest contains the back office's attack tests. They start the
// real back office on a loopback port with a freshly seeded database and
// sign staff in with a password and a TOTP code. Then they attack every
// route that chi.Walk finds under /api/v1 with requests for another
// district's data, forged cross-site requests, SQL injection in list
// filters, stored markup, session fixation, password guessing and
// tampering with the audit trail.
//
// A route added to the back office fails TestCrossDistrictWalk until it has
// a row in routeCases (routes_test.go) that describes how to attack it.
package securitytest
