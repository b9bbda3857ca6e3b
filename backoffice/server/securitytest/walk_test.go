package securitytest

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// TestCrossDistrictWalk signs in as the 徐汇 district admin and sends every
// route under /api/v1 requests for 长宁's data. A scoped route must reject them
// with a 403 and record the denial in the audit trail, or, for a list, leave
// 长宁's rows out. No route may return a 500.
func TestCrossDistrictWalk(t *testing.T) {
	h := newHarness(t, nil)
	walker := h.signIn(t, xuhuiAdmin)
	walkerID := h.ids[xuhuiAdmin]
	markers := h.fixtures.otherDistrictMarkers()

	routes := h.routes(t)
	walked := map[string]bool{}
	probes := 0
	for _, found := range routes {
		key := found.key()
		walked[key] = true
		rules, ok := routeCases[key]
		if !ok {
			t.Errorf("route %s has no row in routeCases (routes_test.go): add one that says how to ask it for "+
				"another district's data, or why the route is public or unscoped", key)
			continue
		}
		if rules.probes == nil {
			t.Errorf("route %s: its row has no probes", key)
			continue
		}
		for _, p := range rules.probes(h.fixtures) {
			probes++
			t.Run(key+"/"+p.name, func(t *testing.T) {
				caller := walker
				if rules.public != "" {
					caller = h.anonymous()
				}
				if (rules.public != "" || rules.unscoped != "") && p.want == denied {
					t.Fatalf("route %s is public or unscoped, so no probe of it can expect a 403", key)
				}
				path, _, _ := strings.Cut(p.path, "?")
				action := found.method + " " + path
				deniedBefore := h.deniedCount(t, action, walkerID)

				answer := caller.send(t, request{method: found.method, path: p.path, body: p.body, header: p.header})
				if answer.status >= http.StatusInternalServerError {
					t.Fatalf("%s %s = %d %s, want no server error", found.method, p.path, answer.status, answer.body)
				}
				switch p.want {
				case denied:
					if answer.status != http.StatusForbidden {
						t.Fatalf("%s %s = %d %s, want 403", found.method, p.path, answer.status, answer.body)
					}
					if after := h.deniedCount(t, action, walkerID); after != deniedBefore+1 {
						t.Errorf("audit trail has %d denials of %q, want %d", after, action, deniedBefore+1)
					}
				case filtered:
					if answer.status != http.StatusOK {
						t.Fatalf("%s %s = %d %s, want 200", found.method, p.path, answer.status, answer.body)
					}
					for _, marker := range markers {
						if strings.Contains(string(answer.body), marker) {
							t.Errorf("%s %s returned 长宁's %q: %s", found.method, p.path, marker, answer.body)
						}
					}
				case allowed:
					if p.status != 0 && answer.status != p.status {
						t.Fatalf("%s %s = %d %s, want %d", found.method, p.path, answer.status, answer.body, p.status)
					}
				}
				if p.check != nil {
					p.check(t, h, answer)
				}
			})
		}
	}

	var stale []string
	for key := range routeCases {
		if !walked[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	for _, key := range stale {
		t.Errorf("routeCases has a row for %s, which the router no longer has: remove or rename the row", key)
	}
	t.Logf("walked %d routes with %d requests as the 徐汇 district admin", len(routes), probes)
}

// crossSite is an Origin header of a page on another site.
const crossSite = "https://attacker.example"

// TestCSRFWalk sends every state-changing route a forged request: without
// the CSRF token, with a wrong one, and with the right one from another
// site's page. Each must get a 403 and change nothing.
func TestCSRFWalk(t *testing.T) {
	h := newHarness(t, nil)
	walker := h.signIn(t, xuhuiAdmin)

	t.Run("well-formed request succeeds", func(t *testing.T) {
		// The forged requests below are this request without the token
		// or from another site, so their rejection is the defence's work.
		answer := walker.send(t, ownItemRequest(h, "csrf-control"))
		answer.expect(t, "create an own-district item with the token", http.StatusCreated, "")
	})

	walked := 0
	for _, found := range h.routes(t) {
		if !found.changesState() {
			continue
		}
		rules, ok := routeCases[found.key()]
		if !ok {
			t.Errorf("route %s has no row in routeCases (routes_test.go)", found.key())
			continue
		}
		walked++
		p := rules.probes(h.fixtures)[0]
		if found.key() == "POST /api/v1/dictionaries/{code}/items" {
			// An own-district item, which the walker may create with the
			// token, so only the token stops it.
			call := ownItemRequest(h, "csrf-forged")
			p.path, p.body = call.path, call.body
		}
		t.Run(found.key(), func(t *testing.T) {
			itemsBefore := h.count(t, `SELECT count(*) FROM dictionary_item`)
			if rules.public == "" {
				forged := &client{base: h.base, cookie: walker.cookie}
				forged.send(t, request{method: found.method, path: p.path, body: p.body, header: p.header}).
					expect(t, "without the CSRF token", http.StatusForbidden, "csrf_failed")
				forged.csrf = walker.csrf + "x"
				forged.send(t, request{method: found.method, path: p.path, body: p.body, header: p.header}).
					expect(t, "with a wrong CSRF token", http.StatusForbidden, "csrf_failed")
			}
			crossSiteHeader := map[string]string{"Origin": crossSite}
			for name, value := range p.header {
				crossSiteHeader[name] = value
			}
			caller := &client{base: h.base, cookie: walker.cookie, csrf: walker.csrf}
			caller.send(t, request{method: found.method, path: p.path, body: p.body, header: crossSiteHeader}).
				expect(t, "from another site's page", http.StatusForbidden, "cross_site_request")
			if after := h.count(t, `SELECT count(*) FROM dictionary_item`); after != itemsBefore {
				t.Errorf("dictionary items went from %d to %d after forged requests", itemsBefore, after)
			}
		})
	}
	if walker.get(t, "/api/v1/me").status != http.StatusOK {
		t.Errorf("the walker's session ended during the forged requests")
	}
	t.Logf("sent forged requests to %d state-changing routes", walked)
}

// ownItemRequest creates an item of the walker's own district.
func ownItemRequest(h *harness, value string) request {
	return request{
		method: http.MethodPost,
		path:   "/api/v1/dictionaries/" + url.PathEscape(h.fixtures.dictionary) + "/items",
		body:   `{"value": "` + value + `", "label": "徐汇区测试新增"}`,
	}
}
