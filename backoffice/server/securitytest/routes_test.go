package securitytest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
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
	// header, when set, adds or replaces request headers, such as the
	// Content-Type of a multipart body.
	header map[string]string
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
	"GET /api/v1/forms/fields": {
		filters: []string{"district"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's overrides", path: "/api/v1/forms/fields?district=" + changning, want: denied},
				{name: "own library", path: "/api/v1/forms/fields", want: filtered, check: contains(`"city":[{`)},
			}
		},
	},
	"GET /api/v1/forms/certificates": {
		filters: []string{"district"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's overrides", path: "/api/v1/forms/certificates?district=" + changning, want: denied},
				{name: "own library", path: "/api/v1/forms/certificates", want: filtered, check: contains(`"city":[{`)},
			}
		},
	},
	"GET /api/v1/forms/categories": {
		unscoped: "lists the city-wide household categories, which are public reference data",
		probes: func(f fixtures) []probe {
			return []probe{{name: "household categories", path: "/api/v1/forms/categories", want: allowed, status: http.StatusOK,
				check: contains(f.category)}}
		},
	},
	"GET /api/v1/forms/designs/{kind}": {
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's application form", path: otherFormPath(f, ""), want: denied},
				{name: "city-wide registration form", path: "/api/v1/forms/designs/registration", want: denied},
			}
		},
	},
	"GET /api/v1/forms/designs/{kind}/versions/{version}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "version 1 of 长宁's application form", path: otherFormPath(f, "/versions/1"), want: denied}}
		},
	},
	"POST /api/v1/forms/designs/{kind}/preview": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "preview 长宁's application form", path: otherFormPath(f, "/preview"),
				body: `{"design": {"sections": []}}`, want: denied}}
		},
	},
	"PUT /api/v1/forms/designs/{kind}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "save 长宁's draft", path: otherFormPath(f, ""), body: `{"design": {"sections": []}}`, want: denied,
				check: countIs(`SELECT count(*) FROM form_draft WHERE district_code = '`+changning+`' AND updated_by IS NULL`, 1)}}
		},
	},
	"POST /api/v1/forms/designs/{kind}/publish": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "publish 长宁's draft", path: otherFormPath(f, "/publish"), want: denied,
				check: countIs(`SELECT count(*) FROM form_schema WHERE district_code = '`+changning+`' AND published_by IS NOT NULL`, 0)}}
		},
	},
	"GET /api/v1/forms/filled/{number}": {
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "a 长宁 registration's form values", path: "/api/v1/forms/filled/" + f.otherRegistration, want: denied},
				{name: "a 长宁 application's form values", path: "/api/v1/forms/filled/" + f.otherApplication, want: denied},
			}
		},
	},
	"GET /api/v1/forms/filled/{number}/files/{fileId}": {
		probes: func(f fixtures) []probe {
			const fileID = "0123456789abcdef0123456789abcdef"
			return []probe{
				{name: "a file of a 长宁 registration", path: "/api/v1/forms/filled/" + f.otherRegistration + "/files/" + fileID, want: denied},
				{name: "a file of a 长宁 application", path: "/api/v1/forms/filled/" + f.otherApplication + "/files/" + fileID, want: denied},
			}
		},
	},
	"POST /api/v1/forms/fields": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "create a 长宁 override", path: "/api/v1/forms/fields", want: denied,
				body:  `{"code": "` + f.fieldCode + `", "districtCode": "` + changning + `", "label": "越权新增字段", "type": "text"}`,
				check: countIs(`SELECT count(*) FROM form_field WHERE label = '越权新增字段'`, 0)}}
		},
	},
	"PUT /api/v1/forms/fields/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "relabel a 长宁 override", path: "/api/v1/forms/fields/" + strconv.FormatInt(f.otherField, 10),
				body: `{"label": "越权修改字段", "type": "text", "enabled": true}`, want: denied,
				check: countIs(`SELECT count(*) FROM form_field WHERE label = '`+otherDistrictPrefix+`字段'`, 1)}}
		},
	},
	"DELETE /api/v1/forms/fields/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "delete a 长宁 override", path: "/api/v1/forms/fields/" + strconv.FormatInt(f.otherField, 10), want: denied,
				check: countIs(`SELECT count(*) FROM form_field WHERE id = `+strconv.FormatInt(f.otherField, 10), 1)}}
		},
	},
	"POST /api/v1/forms/certificates": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "create a 长宁 override", path: "/api/v1/forms/certificates", want: denied,
				body: `{"code": "` + f.certificateCode + `", "districtCode": "` + changning + `", "name": "越权新增材料", ` +
					`"acceptedTypes": ["jpg"], "maxSizeKB": 100, "maxCount": 1}`,
				check: countIs(`SELECT count(*) FROM form_certificate WHERE name = '越权新增材料'`, 0)}}
		},
	},
	"PUT /api/v1/forms/certificates/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "rename a 长宁 override", path: "/api/v1/forms/certificates/" + strconv.FormatInt(f.otherCertificate, 10),
				body: `{"name": "越权修改材料", "acceptedTypes": ["jpg"], "maxSizeKB": 100, "maxCount": 1, "enabled": true}`, want: denied,
				check: countIs(`SELECT count(*) FROM form_certificate WHERE name = '`+otherDistrictPrefix+`材料'`, 1)}}
		},
	},
	"DELETE /api/v1/forms/certificates/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "delete a 长宁 override", path: "/api/v1/forms/certificates/" + strconv.FormatInt(f.otherCertificate, 10),
				want: denied, check: countIs(`SELECT count(*) FROM form_certificate WHERE id = `+strconv.FormatInt(f.otherCertificate, 10), 1)}}
		},
	},

	"GET /api/v1/matching/rules": {
		filters: []string{"year", "district", "mode", "audience", "street", "search", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "filter on 长宁", path: "/api/v1/matching/rules?district=" + changning, want: denied},
				{name: "whole list", path: "/api/v1/matching/rules?size=100", want: filtered,
					check: contains(`"districtCode":"` + xuhui + `"`)},
				{name: "a 长宁 street", path: "/api/v1/matching/rules?street=" + f.otherStreet, want: filtered},
			}
		},
	},
	"GET /api/v1/matching/options": {
		filters: []string{"district"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's options", path: "/api/v1/matching/options?district=" + changning, want: denied},
				{name: "own options", path: "/api/v1/matching/options", want: filtered},
			}
		},
	},
	"GET /api/v1/matching/rules/template.xlsx": {
		unscoped: "returns the blank import workbook, whose header row is the same for every district",
		probes: func(f fixtures) []probe {
			return []probe{{name: "blank template", path: "/api/v1/matching/rules/template.xlsx?district=" + changning,
				want: allowed, status: http.StatusOK}}
		},
	},
	"GET /api/v1/matching/validation": {
		filters: []string{"district", "year", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{{name: "validate 长宁's rules", path: "/api/v1/matching/validation?district=" + changning, want: denied}}
		},
	},
	"GET /api/v1/matching/validation/unmatched.xlsx": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "export 长宁's unmatched addresses",
				path: "/api/v1/matching/validation/unmatched.xlsx?district=" + changning, want: denied}}
		},
	},
	"POST /api/v1/matching/rules": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "create a 长宁 rule", path: "/api/v1/matching/rules", want: denied,
				body:  `{"districtCode": "` + changning + `", "mode": 1, "audience": "local", "offer": "public", "streetCode": "` + f.otherStreet + `"}`,
				check: countIs(`SELECT count(*) FROM matching_rule WHERE district_code = '`+changning+`' AND offer = 'public'`, 0)}}
		},
	},
	"POST /api/v1/matching/rules/import": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "import into 长宁", path: "/api/v1/matching/rules/import?district=" + changning,
				body: multipartBody, header: multipartHeader, want: denied}}
		},
	},
	"PUT /api/v1/matching/rules/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "change a 长宁 rule", path: "/api/v1/matching/rules/" + strconv.FormatInt(f.otherRule, 10), want: denied,
				body:  `{"districtCode": "` + xuhui + `", "mode": 1, "audience": "local", "offer": "public", "streetCode": "` + f.otherStreet + `"}`,
				check: countIs(`SELECT count(*) FROM matching_rule WHERE id = `+strconv.FormatInt(f.otherRule, 10)+` AND offer = 'campus'`, 1)}}
		},
	},
	"DELETE /api/v1/matching/rules/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "delete a 长宁 rule", path: "/api/v1/matching/rules/" + strconv.FormatInt(f.otherRule, 10), want: denied,
				check: countIs(`SELECT count(*) FROM matching_rule WHERE id = `+strconv.FormatInt(f.otherRule, 10), 1)}}
		},
	},

	"GET /api/v1/application-returns": {
		filters: []string{"page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "whole list", path: "/api/v1/application-returns?size=100", want: filtered,
					check: contains(ownDistrictPrefix + "退回原因")},
				{name: "filter on 长宁", path: "/api/v1/application-returns?district=" + changning, want: filtered},
			}
		},
	},
	"GET /api/v1/deletion-requests": {
		filters: []string{"status", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "whole list", path: "/api/v1/deletion-requests?size=100", want: filtered,
					check: contains(ownDistrictPrefix + "删除理由")},
				{name: "pending requests", path: "/api/v1/deletion-requests?status=pending&district=" + changning, want: filtered},
			}
		},
	},
	"POST /api/v1/applications/{number}/return": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "return a 长宁 application", path: "/api/v1/applications/" + f.otherApplication + "/return",
				body: `{"reason": "越权退回测试"}`, want: denied,
				check: countIs(`SELECT count(*) FROM application_return WHERE reason = '越权退回测试'`, 0)}}
		},
	},
	"GET /api/v1/applications/{number}/verification": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁 application's certificates", path: "/api/v1/applications/" + f.otherApplication + "/verification",
				want: denied}}
		},
	},
	"POST /api/v1/applications/{number}/verification": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "verify a 长宁 application", path: "/api/v1/applications/" + f.otherApplication + "/verification",
				body: `{"revision": ""}`, want: denied,
				check: countIs(`SELECT count(*) FROM application WHERE application_number = '`+f.otherApplication+`' AND status = 'documents_verified'`, 0)}}
		},
	},
	"PUT /api/v1/applications/{number}/verification/certificates/{code}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "check a 长宁 certificate", path: "/api/v1/applications/" + f.otherApplication + "/verification/certificates/birth_certificate",
				body: `{"verified": true, "revision": ""}`, want: denied,
				check: countIs(`SELECT count(*) FROM application_certificate_check`, 0)}}
		},
	},
	"POST /api/v1/deletion-requests": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "request deleting a 长宁 application", path: "/api/v1/deletion-requests", want: denied,
				body: `{"recordKind": "application", "recordNumber": "` + f.otherApplication + `", "reason": "越权删除测试", ` +
					`"confirmation": "确认删除"}`,
				check: countIs(`SELECT count(*) FROM deletion_request WHERE reason = '越权删除测试'`, 0)}}
		},
	},
	"POST /api/v1/deletion-requests/{id}/approve": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "approve a 长宁 request", path: deletionPath(f, "/approve"), body: `{}`, want: denied,
				check: deletionPending(f)}}
		},
	},
	"POST /api/v1/deletion-requests/{id}/reject": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "reject a 长宁 request", path: deletionPath(f, "/reject"), body: `{"reason": "越权驳回测试"}`,
				want: denied, check: deletionPending(f)}}
		},
	},

	"GET /api/v1/admission/rules": {
		filters: []string{"district", "year"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's admission rules", path: "/api/v1/admission/rules?district=" + changning, want: denied},
				{name: "own admission rules", path: "/api/v1/admission/rules", want: filtered},
			}
		},
	},
	"GET /api/v1/admission/proposal": {
		filters: []string{"district", "year", "campus", "outcome", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's proposal", path: "/api/v1/admission/proposal?district=" + changning, want: denied},
				{name: "own proposal", path: "/api/v1/admission/proposal?size=100", want: filtered},
				{name: "a 长宁 kindergarten ID as the campus filter", path: "/api/v1/admission/proposal?campus=" +
					strconv.FormatInt(f.otherKindergarten, 10), want: filtered},
			}
		},
	},
	"PUT /api/v1/admission/rules": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "change 长宁's admission rules", path: "/api/v1/admission/rules", want: denied,
				body:  `{"districtCode": "` + changning + `", "categoryOrder": ["` + f.category + `"]}`,
				check: countIs(`SELECT count(*) FROM admission_rule WHERE district_code = '`+changning+`'`, 0)}}
		},
	},
	"POST /api/v1/admission/proposal": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "propose 长宁's admission list", path: "/api/v1/admission/proposal", want: denied,
				body:  `{"districtCode": "` + changning + `"}`,
				check: countIs(`SELECT count(*) FROM admission_round WHERE district_code = '`+changning+`'`, 0)}}
		},
	},
	"POST /api/v1/admission/proposal/confirm": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "confirm 长宁's admission list", path: "/api/v1/admission/proposal/confirm", want: denied,
				body: `{"districtCode": "` + changning + `"}`,
				check: countIs(`SELECT count(*) FROM application WHERE district_code = '`+changning+
					`' AND status IN ('admitted', 'not_admitted')`, 0)}}
		},
	},
	"POST /api/v1/admission/proposal/resync": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "resync 长宁's admission outcomes", path: "/api/v1/admission/proposal/resync", want: denied,
				body: `{"districtCode": "` + changning + `"}`}}
		},
	},
	"POST /api/v1/supplementary/lookup": {
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "look up a 长宁 registration", path: "/api/v1/supplementary/lookup",
					body: `{"registrationNumber": "` + f.otherRegistration + `"}`, want: denied},
			}
		},
	},
	"GET /api/v1/supplementary/options": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁 campuses", path: "/api/v1/supplementary/options?year=" + strconv.Itoa(f.year) + "&district=" + changning,
				want: denied}}
		},
	},
	"POST /api/v1/supplementary/applications": {
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "supplementary application for a 长宁 registration", path: "/api/v1/supplementary/applications",
					body: `{"registrationNumber": "` + f.otherRegistration + `", "campusId": ` + strconv.FormatInt(f.ownCampus, 10) +
						`, "categoryCode": "` + f.category + `"}`, want: denied,
					check: countIs(`SELECT count(*) FROM application WHERE supplementary`, 0)},
				{name: "supplementary application at a 长宁 campus", path: "/api/v1/supplementary/applications",
					body: `{"registrationNumber": "` + f.ownRegistration + `", "campusId": ` + strconv.FormatInt(f.otherCampus, 10) +
						`, "categoryCode": "` + f.category + `"}`, want: denied,
					check: countIs(`SELECT count(*) FROM application WHERE supplementary`, 0)},
			}
		},
	},

	"GET /api/v1/sms/events": {
		unscoped: "lists the SMS events and their placeholders, which are the same for every district",
		probes: func(f fixtures) []probe {
			return []probe{{name: "event catalogue", path: "/api/v1/sms/events", want: allowed, status: http.StatusOK,
				check: contains("application_succeeded")}}
		},
	},
	"GET /api/v1/sms/templates": {
		filters: []string{"district"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's templates", path: "/api/v1/sms/templates?district=" + changning, want: denied},
				{name: "own templates", path: "/api/v1/sms/templates", want: filtered, check: contains(ownDistrictPrefix + "短信模板")},
			}
		},
	},
	"GET /api/v1/sms/outbox": {
		filters: []string{"status", "district", "record", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's messages", path: "/api/v1/sms/outbox?district=" + changning, want: denied},
				{name: "whole list", path: "/api/v1/sms/outbox?size=100", want: filtered, check: contains(ownDistrictPrefix + "短信内容")},
				{name: "a 长宁 application's messages", path: "/api/v1/sms/outbox?record=" + f.otherApplication, want: filtered},
			}
		},
	},
	"GET /api/v1/feedback": {
		filters: []string{"category", "district", "status", "page", "size"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's reports", path: "/api/v1/feedback?district=" + changning, want: denied},
				{name: "whole list", path: "/api/v1/feedback?size=100", want: filtered, check: contains(ownDistrictPrefix + "办不成事反映")},
			}
		},
	},
	"GET /api/v1/feedback/summary": {
		filters: []string{"category", "district", "status"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "长宁's counts", path: "/api/v1/feedback/summary?district=" + changning, want: denied},
				{name: "own counts", path: "/api/v1/feedback/summary", want: filtered, check: contains(`"total":1`)},
			}
		},
	},
	"POST /api/v1/sms/templates": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "create a 长宁 template", path: "/api/v1/sms/templates", want: denied,
				body:  `{"event": "application_returned", "districtCode": "` + changning + `", "body": "越权新增短信模板"}`,
				check: countIs(`SELECT count(*) FROM sms_template WHERE body = '越权新增短信模板'`, 0)}}
		},
	},
	"PUT /api/v1/sms/templates/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "change a 长宁 template", path: templatePath(f), want: denied,
				body:  `{"body": "越权修改短信模板", "enabled": true}`,
				check: countIs(`SELECT count(*) FROM sms_template WHERE body = '`+otherDistrictPrefix+`短信模板'`, 1)}}
		},
	},
	"DELETE /api/v1/sms/templates/{id}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "delete a 长宁 template", path: templatePath(f), want: denied,
				check: countIs(`SELECT count(*) FROM sms_template WHERE id = `+strconv.FormatInt(f.otherTemplate, 10), 1)}}
		},
	},
	"POST /api/v1/sms/outbox/{id}/retry": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "retry a failed 长宁 message", path: "/api/v1/sms/outbox/" + strconv.FormatInt(f.otherOutbox, 10) + "/retry",
				want:  denied,
				check: countIs(`SELECT count(*) FROM sms_outbox WHERE id = `+strconv.FormatInt(f.otherOutbox, 10)+` AND status = 'failed'`, 1)}}
		},
	},

	"GET /api/v1/entry-states": {
		filters: []string{"year"},
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			return []probe{{name: "the year's states", path: "/api/v1/entry-states?year=" + strconv.Itoa(f.year) + "&district=" + changning,
				want: filtered, check: all(contains(`"code":"`+xuhui+`"`), lacks(`"code":"`+changning+`"`))}}
		},
	},
	"PUT /api/v1/entry-states/{year}/registration": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "close the city's registration", path: "/api/v1/entry-states/" + strconv.Itoa(f.year) + "/registration",
				body: `{"open": false}`, want: denied}}
		},
	},
	"PUT /api/v1/entry-states/{year}/districts/{district}/application": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "close 长宁's application",
				path: "/api/v1/entry-states/" + strconv.Itoa(f.year) + "/districts/" + changning + "/application",
				body: `{"open": false}`, want: denied}}
		},
	},

	"POST /api/v1/monitoring/attendance": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "send a 长宁 kindergarten's attendance", path: "/api/v1/monitoring/attendance", want: denied,
				body: `{"kindergartenId": ` + strconv.FormatInt(f.otherKindergarten, 10) + `, "records": [{"childKey": "walk-child", ` +
					`"grade": "小班", "date": "` + shanghaiToday() + `", "status": "present"}]}`,
				check: countIs(`SELECT count(*) FROM monitoring_child WHERE child_key = 'walk-child'`, 0)}}
		},
	},
	"POST /api/v1/monitoring/attendance/import": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "import a 长宁 kindergarten's attendance", path: "/api/v1/monitoring/attendance/import", want: denied,
				body: attendanceImportBody(f.otherKindergarten), header: multipartHeader,
				check: countIs(`SELECT count(*) FROM monitoring_child WHERE child_key = 'walk-child'`, 0)}}
		},
	},
	"POST /api/v1/monitoring/weather": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "send 长宁's weather", path: "/api/v1/monitoring/weather", want: denied,
				body: `{"records": [{"date": "` + shanghaiToday() + `", "districtCode": "` + changning + `", "condition": "sunny", ` +
					`"temperatureHigh": 20, "temperatureLow": 10, "precipitationMm": 0}]}`,
				check: countIs(`SELECT count(*) FROM weather_day WHERE district_code = '`+changning+`'`, 0)}}
		},
	},
	"POST /api/v1/monitoring/system/attendance": {
		public: "kindergarten systems sign each batch with their API key instead of a session, and the key decides the kindergarten",
		probes: func(f fixtures) []probe {
			return []probe{
				{name: "a 长宁 batch without a key", path: "/api/v1/monitoring/system/attendance", want: allowed, status: http.StatusUnauthorized,
					body: `{"kindergartenId": ` + strconv.FormatInt(f.otherKindergarten, 10) + `, "records": []}`},
				{name: "a 长宁 batch with a made-up key", path: "/api/v1/monitoring/system/attendance", want: allowed,
					status: http.StatusUnauthorized, header: map[string]string{"X-API-Key": "made-up"},
					body: `{"kindergartenId": ` + strconv.FormatInt(f.otherKindergarten, 10) + `, "records": []}`},
			}
		},
	},

	"GET /api/v1/dashboard/enrolment/overview":        areaPanel("/api/v1/dashboard/enrolment/overview", enrolmentPanelFilters...),
	"GET /api/v1/dashboard/enrolment/state":           areaPanel("/api/v1/dashboard/enrolment/state", enrolmentPanelFilters...),
	"GET /api/v1/dashboard/enrolment/opinion":         areaPanel("/api/v1/dashboard/enrolment/opinion", enrolmentPanelFilters...),
	"GET /api/v1/dashboard/enrolment/certificates":    areaPanel("/api/v1/dashboard/enrolment/certificates", enrolmentPanelFilters...),
	"GET /api/v1/dashboard/enrolment/{kind}/summary":  areaPanel("/api/v1/dashboard/enrolment/application/summary"),
	"GET /api/v1/dashboard/enrolment/{kind}/trend":    areaPanel("/api/v1/dashboard/enrolment/registration/trend"),
	"GET /api/v1/dashboard/enrolment/{kind}/history":  areaPanel("/api/v1/dashboard/enrolment/registration/history"),
	"GET /api/v1/dashboard/enrolment/nursery":         areaPanel("/api/v1/dashboard/enrolment/nursery", enrolmentPanelFilters...),
	"GET /api/v1/dashboard/enrolment/report":          areaPanel("/api/v1/dashboard/enrolment/report", enrolmentPanelFilters...),
	"GET /api/v1/dashboard/enrolment/report.xlsx":     areaPanel("/api/v1/dashboard/enrolment/report.xlsx"),
	"GET /api/v1/dashboard/development/kindergartens": areaPanel("/api/v1/dashboard/development/kindergartens", developmentPanelFilters...),
	"GET /api/v1/dashboard/development/children":      areaPanel("/api/v1/dashboard/development/children", developmentPanelFilters...),
	"GET /api/v1/dashboard/development/class-sizes":   areaPanel("/api/v1/dashboard/development/class-sizes", developmentPanelFilters...),
	"GET /api/v1/dashboard/development/coverage":      areaPanel("/api/v1/dashboard/development/coverage", developmentPanelFilters...),
	"GET /api/v1/dashboard/development/workforce":     areaPanel("/api/v1/dashboard/development/workforce", developmentPanelFilters...),
	"GET /api/v1/dashboard/development/report":        areaPanel("/api/v1/dashboard/development/report", developmentPanelFilters...),
	"GET /api/v1/dashboard/development/report.xlsx":   areaPanel("/api/v1/dashboard/development/report.xlsx"),

	"GET /api/v1/dashboard/attendance/today":         attendancePanel("/api/v1/dashboard/attendance/today", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/ranking":       attendancePanel("/api/v1/dashboard/attendance/ranking", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/morning-check": attendancePanel("/api/v1/dashboard/attendance/morning-check", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/morning-check/abnormal": {
		// The details are per kindergarten, so every probe names one.
		probes: func(f fixtures) []probe {
			path := "/api/v1/dashboard/attendance/morning-check/abnormal?kindergarten="
			return []probe{
				{name: "a 长宁 kindergarten", path: path + strconv.FormatInt(f.otherKindergarten, 10), want: denied},
				{name: "an own kindergarten", path: path + strconv.FormatInt(f.ownKindergarten, 10), want: filtered,
					check: lacks(changning)},
			}
		},
	},
	"GET /api/v1/dashboard/attendance/trend":         attendancePanel("/api/v1/dashboard/attendance/trend", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/leave-reasons": attendancePanel("/api/v1/dashboard/attendance/leave-reasons", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/arrivals":      attendancePanel("/api/v1/dashboard/attendance/arrivals", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/report":        attendancePanel("/api/v1/dashboard/attendance/report", attendancePanelFilters...),
	"GET /api/v1/dashboard/attendance/report.xlsx":   attendancePanel("/api/v1/dashboard/attendance/report.xlsx"),

	"GET /api/v1/dashboard/alerts": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "alerts of the walker's scope", path: "/api/v1/dashboard/alerts?district=" + changning, want: filtered}}
		},
	},
	"GET /api/v1/dashboard/system": {
		unscoped: "the data links are shared city-wide infrastructure; the servers are left out below the city",
		probes: func(f fixtures) []probe {
			return []probe{{name: "links without servers", path: "/api/v1/dashboard/system", want: allowed, status: http.StatusOK,
				check: contains(`"serversVisible":false`)}}
		},
	},
	"GET /api/v1/dashboard/system/visits": {
		unscoped: "page views and visitors of the parents' site belong to no district",
		probes: func(f fixtures) []probe {
			return []probe{{name: "visits", path: "/api/v1/dashboard/system/visits", want: allowed, status: http.StatusOK}}
		},
	},
	"GET /api/v1/dashboard/alert-thresholds": {
		unscoped: "the alert thresholds are one city-wide setting that every dashboard viewer reads",
		probes: func(f fixtures) []probe {
			return []probe{{name: "thresholds", path: "/api/v1/dashboard/alert-thresholds", want: allowed, status: http.StatusOK}}
		},
	},
	"PUT /api/v1/dashboard/alert-thresholds/{code}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "change a city threshold", path: "/api/v1/dashboard/alert-thresholds/unresolved_questions",
				body: `{"threshold": 1}`, want: denied,
				check: countIs(`SELECT count(*) FROM dashboard_alert_threshold WHERE code = 'unresolved_questions' AND threshold = 50`, 1)}}
		},
	},

	"POST /api/v1/auth/certificate": {
		public: "the certificate sign-in, which trusts only an identity the security gateway signed",
		// The walk runs without a gateway key, so the route is off (404).
		// TestCertificateSignInNeedsGatewaySignature in the server package
		// rejects unsigned and forged identities with the gateway on.
		probes: func(f fixtures) []probe {
			return []probe{{name: "sign-in without a gateway identity", path: "/api/v1/auth/certificate", want: allowed,
				status: http.StatusNotFound}}
		},
	},
	"GET /api/v1/staff/scope-options": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "长宁's streets", path: "/api/v1/staff/scope-options?district=" + changning, want: denied}}
		},
	},
	"GET /api/v1/staff/{id}/certificates": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "a 长宁 account's certificates", path: staffPath(f, "/certificates"), want: denied}}
		},
	},
	"POST /api/v1/staff/{id}/certificates": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "bind a certificate to a 长宁 account", path: staffPath(f, "/certificates"),
				body: `{"certificate": "walk"}`, want: denied,
				check: countIs(`SELECT count(*) FROM staff_certificate WHERE staff_id = `+strconv.FormatInt(f.otherStaffID, 10), 0)}}
		},
	},
	"DELETE /api/v1/staff/{id}/certificates/{fingerprint}": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "unbind a 长宁 account's certificate", path: staffPath(f, "/certificates/"+strings.Repeat("ab", 32)),
				want: denied}}
		},
	},

	"GET /api/v1/login-log/export": {
		probes: func(f fixtures) []probe {
			return []probe{{name: "export 长宁 admin's sign-ins", path: "/api/v1/login-log/export?username=" + changningAdmin,
				want: denied}}
		},
	},
}

func otherFormPath(f fixtures, suffix string) string {
	return "/api/v1/forms/designs/application" + suffix + "?district=" + changning + "&category=" + url.QueryEscape(f.category)
}

func deletionPath(f fixtures, suffix string) string {
	return "/api/v1/deletion-requests/" + strconv.FormatInt(f.otherDeletion, 10) + suffix
}

func templatePath(f fixtures) string {
	return "/api/v1/sms/templates/" + strconv.FormatInt(f.otherTemplate, 10)
}

// shanghaiToday is today's date in Shanghai (UTC+8), the date of the
// attendance and weather probes.
func shanghaiToday() string {
	return time.Now().In(time.FixedZone("CST", 8*60*60)).Format(time.DateOnly)
}

// multipartBoundary separates the parts of the walk's multipart bodies.
const multipartBoundary = "walk-boundary"

// multipartHeader is the Content-Type of a multipart probe.
var multipartHeader = map[string]string{"Content-Type": "multipart/form-data; boundary=" + multipartBoundary}

// multipartBody is a form with one empty xlsx file part, enough for a route
// that checks the district before it reads the file.
var multipartBody = "--" + multipartBoundary + "\r\n" +
	`Content-Disposition: form-data; name="file"; filename="rules.xlsx"` + "\r\n" +
	"Content-Type: application/octet-stream\r\n\r\n\r\n" +
	"--" + multipartBoundary + "--\r\n"

// attendanceImportBody is an attendance import form for one kindergarten
// with a one-row CSV file.
func attendanceImportBody(kindergarten int64) string {
	return "--" + multipartBoundary + "\r\n" +
		`Content-Disposition: form-data; name="kindergartenId"` + "\r\n\r\n" +
		strconv.FormatInt(kindergarten, 10) + "\r\n" +
		"--" + multipartBoundary + "\r\n" +
		`Content-Disposition: form-data; name="file"; filename="attendance.csv"` + "\r\n" +
		"Content-Type: text/csv\r\n\r\n" +
		"childKey,grade,date,status\r\nwalk-child,小班," + shanghaiToday() + ",present\r\n" +
		"--" + multipartBoundary + "--\r\n"
}

// Query parameters of the dashboard panels, which the injection test
// attacks. Workbook and {kind} routes get none, because the injection test
// expects JSON and cannot fill path parameters.
var (
	enrolmentPanelFilters   = []string{"district", "street", "year", "period", "date", "kind", "sex", "supplementary"}
	developmentPanelFilters = []string{"district", "street", "year", "ownership", "inclusive", "level"}
	attendancePanelFilters  = []string{"district", "street", "kindergarten", "date", "range", "from", "to", "metric",
		"limit", "granularity", "by", "page"}
)

// areaPanel is the row of a dashboard panel that reads the "district" and
// "street" query parameters: both naming 长宁 must be rejected, and the
// walker's own district's panel must leave 长宁 out.
// A workbook (.xlsx) is a zip file, so its own-district probe unpacks it
// before it looks for 长宁's rows.
func areaPanel(path string, filters ...string) routeCase {
	return routeCase{
		filters: filters,
		reader:  xuhuiAdmin,
		probes: func(f fixtures) []probe {
			own := probe{name: "own district", path: path, want: filtered, check: lacks(changning)}
			if strings.HasSuffix(path, ".xlsx") {
				own.check = workbookLacks(append(f.otherDistrictMarkers(), changning))
			}
			return []probe{
				{name: "长宁", path: path + "?district=" + changning, want: denied},
				{name: "a 长宁 street", path: path + "?street=" + f.otherStreet, want: denied},
				own,
			}
		},
	}
}

// workbookLacks checks that a workbook response unpacks and that none of
// its parts contains any of fragments.
func workbookLacks(fragments []string) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, answer response) {
		archive, err := zip.NewReader(bytes.NewReader(answer.body), int64(len(answer.body)))
		if err != nil {
			t.Fatalf("workbook does not unpack: %v", err)
		}
		for _, file := range archive.File {
			part, err := file.Open()
			if err != nil {
				t.Fatalf("open workbook part %s: %v", file.Name, err)
			}
			content, err := io.ReadAll(part)
			part.Close()
			if err != nil {
				t.Fatalf("read workbook part %s: %v", file.Name, err)
			}
			for _, fragment := range fragments {
				if strings.Contains(string(content), fragment) {
					t.Errorf("workbook part %s contains 长宁's %q", file.Name, fragment)
				}
			}
		}
	}
}

// attendancePanel is the row of an attendance panel, which also reads a
// "kindergarten" query parameter.
func attendancePanel(path string, filters ...string) routeCase {
	panel := areaPanel(path, filters...)
	area := panel.probes
	panel.probes = func(f fixtures) []probe {
		return append(area(f), probe{name: "a 长宁 kindergarten",
			path: path + "?kindergarten=" + strconv.FormatInt(f.otherKindergarten, 10), want: denied})
	}
	return panel
}

// lacks checks that a response does not contain a fragment of another
// district's data that the global markers do not cover, such as a bare
// district code.
func lacks(fragment string) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, answer response) {
		if strings.Contains(string(answer.body), fragment) {
			t.Errorf("answer contains 长宁's %q: %s", fragment, answer.body)
		}
	}
}

// all runs every check.
func all(checks ...func(t *testing.T, h *harness, answer response)) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, answer response) {
		for _, check := range checks {
			check(t, h, answer)
		}
	}
}

// countIs checks that a rejected request left the rows that query counts as
// they were.
func countIs(query string, want int) func(t *testing.T, h *harness, answer response) {
	return func(t *testing.T, h *harness, _ response) {
		if n := h.count(t, query); n != want {
			t.Errorf("after the rejected request %s = %d, want %d", query, n, want)
		}
	}
}

// deletionPending checks that a rejected decision left the 长宁 deletion
// request pending.
func deletionPending(f fixtures) func(t *testing.T, h *harness, answer response) {
	return countIs(`SELECT count(*) FROM deletion_request WHERE id = `+strconv.FormatInt(f.otherDeletion, 10)+
		` AND status = 'pending'`, 1)
}

func itemPath(f fixtures, id int64) string {
	return "/api/v1/dictionaries/" + f.dictionary + "/items/" + strconv.FormatInt(id, 10)
}

func staffPath(f fixtures, suffix string) string {
	return "/api/v1/staff/" + strconv.FormatInt(f.otherStaffID, 10) + suffix
}

// contains checks that a response body contains want, so a filtered list that
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
