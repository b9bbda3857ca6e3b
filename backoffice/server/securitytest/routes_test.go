package securitytest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// The per-route knowledge of the attack tests. Every route that chi.Walk
// finds under /api/v1 needs a row here, keyed by "METHOD pattern". A team
// that adds a route adds its row next to its neighbours.

// outcome is the response the cross-district walk accepts from a probe.
type outcome int

const (
	// denied is a 403 with a denial recorded in the audit trail.
	denied outcome = iota
	// filtered is a 200 that contains none of the other district's rows.
	filtered
	// allowed is any status below 500 (or status, when set) from a public
	// or unscoped route. The probe's check, when set, tests the body.
	allowed
)

// probe is one request of the walk, aimed at the other district's data.
type probe struct {
	name string
	// path is the concrete path with its query.
	path string
	body string
	want outcome
	// status, when not zero, is the status an allowed probe must get.
	status int
	// check, when set, runs after the status checks.
	check func(t *testing.T, h *harness, answer response)
}

// routeCase describes how to attack one route.
type routeCase struct {
	// public is why the route needs no session. The walk sends its probes
	// without a cookie.
	public string
	// unscoped is why the route's response does not depend on the caller's
	// data scope.
	unscoped string
	// filters are the query parameters a list route reads. The injection
	// test puts hostile strings into each of them.
	filters []string
	// reader is the account the injection test reads the list as: one whose
	// role holds the route's permission.
	reader string
	// probes are the walk's requests, as the 徐汇 district admin.
	probes func(f fixtures) []probe
}

// routeCases are the rows of every route under /api/v1.
var routeCases = map[string]routeCase{
	"POST /api/v1/dev/sign-in": {
		public: "the development sign-in, off unless BACKOFFICE_DEV_SIGN_IN=true; the walk runs with it off",
		probes: func(f fixtures) []probe {
			return []probe{{name: "dev sign-in as 长宁 admin", path: "/api/v1/dev/sign-in",
				body: `{"level": "district", "districtCode": "` + changning + `"}`, want: allowed, status: http.StatusNotFound}}
		},
	},
	"POST /api/v1/sign-out": {
		public: "ends only the session whose cookie the request carries",
		probes: func(f fixtures) []probe {
			return []probe{{name: "sign-out without a session", path: "/api/v1/sign-out", want: allowed, status: http.StatusOK}}
		},
	},
	"GET /api/v1/sign-in/options": {
		public: "lists the 16 districts' names for the sign-in page, which are public reference data",
		probes: func(f fixtures) []probe {
			return []probe{{name: "sign-in options", path: "/api/v1/sign-in/options", want: allowed, status: http.StatusOK}}
		},
	},
	"POST /api/v1/auth/login": {
		public: "the password step of the sign-in",
		probes: func(f fixtures) []probe {
			return []probe{{name: "login without a username", path: "/api/v1/auth/login", body: `{}`,
				want: allowed, status: http.StatusBadRequest}}
		},
	},
	"POST /api/v1/auth/totp": {
		public: "the TOTP step of the sign-in, which needs the challenge of a correct password",
		probes: func(f fixtures) []probe {
			return []probe{{name: "code with a made-up challenge", path: "/api/v1/auth/totp",
				body: `{"challenge": "made-up", "code": "123456"}`, want: allowed, status: http.StatusUnauthorized}}
		},
	},
	"GET /api/v1/me": {
		unscoped: "describes the signed-in staff member only",
		probes: func(f fixtures) []probe {
			return []probe{{name: "own profile", path: "/api/v1/me", want: allowed, status: http.StatusOK,
				check: func(t *testing.T, h *harness, answer response) {
					if !strings.Contains(string(answer.body), `"username":"`+xuhuiAdmin+`"`) {
						t.Errorf("/me = %s, want the walker's own account", answer.body)
					}
				}}}
		},
	},
	"POST /api/v1/auth/password": {
		unscoped: "changes the signed-in staff member's own password only",
		probes: func(f fixtures) []probe {
			return []probe{{name: "password change without the current password", path: "/api/v1/auth/password",
				body: `{"newPassword": "Another#Secret2026"}`, want: allowed, status: http.StatusBadRequest}}
		},
	},

	"GET /api/v1/registrations": {
		filters: []string{"status", "district", "number", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "filter on 长宁", path: "/api/v1/registrations?district=" + changning, want: denied},
				{name: "whole list", path: "/api/v1/registrations?size=100", want: filtered,
					check: contains(f.ownRegistration)},
				{name: "长宁 number", path: "/api/v1/registrations?number=" + f.otherRegistration, want: filtered},
			}
		},
	},
	"GET /api/v1/registrations/{number}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁 registration", path: "/api/v1/registrations/" + f.otherRegistration, want: denied}}
		},
	},
	"GET /api/v1/applications": {
		filters: []string{"status", "district", "number", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "filter on 长宁", path: "/api/v1/applications?district=" + changning, want: denied},
				{name: "whole list", path: "/api/v1/applications?size=100", want: filtered,
					check: contains(f.ownApplication)},
				{name: "长宁 application number", path: "/api/v1/applications?number=" + f.otherApplication, want: filtered},
				{name: "长宁 registration number", path: "/api/v1/applications?number=" + f.otherRegistration, want: filtered},
			}
		},
	},

	"GET /api/v1/dictionaries": {
		reader: xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{{name: "dictionary summaries", path: "/api/v1/dictionaries?district=" + changning, want: filtered}}
		},
	},
	"GET /api/v1/dictionaries/{code}/items": {
		unscoped: "dictionaries are public reference data (the edge serves every district's items to parents), " +
			"so any district's items may be read; the walk checks that 长宁's items are not editable",
		filters: []string{"district"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "own items", path: "/api/v1/dictionaries/" + f.dictionary + "/items", want: filtered,
					check: contains(f.ownItemLabel)},
				{name: "长宁 items", path: "/api/v1/dictionaries/" + f.dictionary + "/items?district=" + changning,
					want: allowed, status: http.StatusOK, check: otherItemsReadOnly(f)},
			}
		},
	},
	"POST /api/v1/dictionaries/{code}/items": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "create a 长宁 item", path: "/api/v1/dictionaries/" + f.dictionary + "/items",
				body: `{"districtCode": "` + changning + `", "value": "walk-created", "label": "越权新增"}`, want: denied,
				check: func(t *testing.T, h *harness, _ response) {
					if n := h.count(t, `SELECT count(*) FROM dictionary_item WHERE value = 'walk-created'`); n != 0 {
						t.Errorf("the rejected request stored %d items", n)
					}
				}}}
		},
	},
	"PUT /api/v1/dictionaries/{code}/items/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "relabel a 长宁 item", path: itemPath(f, f.otherItem),
				body: `{"label": "越权修改"}`, want: denied, check: itemLabelIs(f.otherItem, otherDistrictLabel)}}
		},
	},
	"DELETE /api/v1/dictionaries/{code}/items/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "delete a 长宁 item", path: itemPath(f, f.otherItem), want: denied,
				check: itemLabelIs(f.otherItem, otherDistrictLabel)}}
		},
	},

	"GET /api/v1/org/tree": {
		filters: []string{"parent"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "districts", path: "/api/v1/org/tree", want: filtered, check: contains("district:" + xuhui)},
				{name: "长宁's streets", path: "/api/v1/org/tree?parent=district:" + changning, want: denied},
				{name: "a 长宁 street's kindergartens", path: "/api/v1/org/tree?parent=street:" + f.otherStreet, want: denied},
				{name: "a 长宁 kindergarten's campuses",
					path: "/api/v1/org/tree?parent=kindergarten:" + strconv.FormatInt(f.otherKindergarten, 10), want: denied},
			}
		},
	},
	"GET /api/v1/org/search": {
		filters: []string{"q"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "search for 长宁", path: "/api/v1/org/search?q=" + url.QueryEscape("长宁"), want: filtered},
				{name: "search for a 长宁 kindergarten", path: "/api/v1/org/search?q=" + url.QueryEscape(f.otherKindergartenName),
					want: filtered},
			}
		},
	},

	"GET /api/v1/audit-events": {
		filters: []string{"from", "to", "actor", "action", "resource", "outcome", "district", "page", "size"},
		reader:  auditorName,
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁's audit events", path: "/api/v1/audit-events?district=" + changning, want: denied}}
		},
	},
	"GET /api/v1/audit-events/export": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "export 长宁's audit events", path: "/api/v1/audit-events/export?district=" + changning, want: denied}}
		},
	},
	"GET /api/v1/audit-events/verify": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "verify the trail", path: "/api/v1/audit-events/verify", want: denied}}
		},
	},

	"GET /api/v1/staff": {
		filters: []string{"username", "name", "role", "status", "scopeLevel", "district", "page", "size"},
		reader:  securityName,
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁's accounts", path: "/api/v1/staff?district=" + changning, want: denied}}
		},
	},
	"GET /api/v1/staff/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "a 长宁 account", path: staffPath(f, ""), want: denied}}
		},
	},
	"POST /api/v1/staff": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "create a 长宁 admin", path: "/api/v1/staff", want: denied,
				body: `{"username": "walk.created", "displayName": "越权账号", "role": "district_admin", ` +
					`"scope": {"level": "district", "districtCode": "` + changning + `"}}`,
				check: func(t *testing.T, h *harness, _ response) {
					if n := h.count(t, `SELECT count(*) FROM staff_user WHERE username = 'walk.created'`); n != 0 {
						t.Errorf("the rejected request created %d accounts", n)
					}
				}}}
		},
	},
	"PATCH /api/v1/staff/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "move a 长宁 admin to 徐汇", path: staffPath(f, ""), want: denied,
				body: `{"scope": {"level": "district", "districtCode": "` + xuhui + `"}}`, check: staffDistrictIs(f, changning)}}
		},
	},
	"POST /api/v1/staff/{id}/password-reset": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "reset a 长宁 password", path: staffPath(f, "/password-reset"), want: denied}}
		},
	},
	"POST /api/v1/staff/{id}/totp-reset": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "reset a 长宁 TOTP", path: staffPath(f, "/totp-reset"), want: denied}}
		},
	},
	"POST /api/v1/staff/{id}/unlock": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "unlock a 长宁 account", path: staffPath(f, "/unlock"), want: denied}}
		},
	},
	"GET /api/v1/roles": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "roles", path: "/api/v1/roles", want: denied}}
		},
	},
	"GET /api/v1/permissions": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "permission catalogue", path: "/api/v1/permissions", want: denied}}
		},
	},
	"PUT /api/v1/roles/{code}/permissions": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "give district admins the audit trail", path: "/api/v1/roles/district_admin/permissions",
				body: `{"permissions": ["enrolment.read", "audit.read"]}`, want: denied}}
		},
	},
	"GET /api/v1/login-log": {
		filters: []string{"username", "success", "from", "to", "page", "size"},
		reader:  auditorName,
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁 admin's sign-ins", path: "/api/v1/login-log?username=" + changningAdmin, want: denied}}
		},
	},
	"GET /api/v1/login-log/export": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "export 长宁 admin's sign-ins", path: "/api/v1/login-log/export?username=" + changningAdmin,
				want: denied}}
		},
	},
}

func itemPath(f fixtures, id int64) string {
	return "/api/v1/dictionaries/" + f.dictionary + "/items/" + strconv.FormatInt(id, 10)
}

func staffPath(f fixtures, suffix string) string {
	return "/api/v1/staff/" + strconv.FormatInt(f.otherStaffID, 10) + suffix
}

// contains checks that an answer contains want, so a filtered list that
// returns nothing at all does not pass for a scoped one.
func contains(want string) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, answer response) {
		if !strings.Contains(string(answer.body), want) {
			t.Errorf("answer %s does not contain the walker's own %q", answer.body, want)
		}
	}
}

// itemLabelIs checks that a rejected request left a dictionary item as it
// was.
func itemLabelIs(id int64, label string) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, _ response) {
		var stored []string
		if err := h.env.DB.DB.Select(&stored, `SELECT label FROM dictionary_item WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0] != label {
			t.Errorf("dictionary item %d after the rejected request = %v, want label %q", id, stored, label)
		}
	}
}

// staffDistrictIs checks that a rejected request left the 长宁 account in
// district.
func staffDistrictIs(f fixtures, district string) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, _ response) {
		var stored string
		if err := h.env.DB.DB.Get(&stored, `SELECT COALESCE(district_code, '') FROM staff_user WHERE id = $1`, f.otherStaffID); err != nil {
			t.Fatal(err)
		}
		if stored != district {
			t.Errorf("account %d district after the rejected request = %q, want %q", f.otherStaffID, stored, district)
		}
	}
}

// otherItemsReadOnly checks that the walker may read 长宁's overrides but
// not edit them.
func otherItemsReadOnly(f fixtures) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, answer response) {
		var body struct {
			Overrides []struct {
				ID       int64 `json:"id"`
				Editable bool  `json:"editable"`
			} `json:"overrides"`
		}
		if err := json.Unmarshal(answer.body, &body); err != nil {
			t.Fatalf("items body %s does not decode: %v", answer.body, err)
		}
		seen := false
		for _, item := range body.Overrides {
			if item.ID == f.otherItem {
				seen = true
			}
			if item.Editable {
				t.Errorf("长宁 override %d is editable for the 徐汇 admin", item.ID)
			}
		}
		if !seen {
			t.Errorf("长宁 overrides %s do not include item %d", answer.body, f.otherItem)
		}
	}
}
