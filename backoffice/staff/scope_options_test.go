package staff

import (
	"net/http"
	"net/url"
	"testing"
)

func TestScopeOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "security.admin", "security_admin")
	e.createAccount(t, "xuhui.admin", "district_admin", "-district", xuhui)
	securityAdmin, _ := e.signIn(t, "security.admin", testPassword)
	districtAdmin, _ := e.signIn(t, "xuhui.admin", testPassword)

	answer := securityAdmin.do(t, http.MethodGet, "/api/v1/staff/scope-options?district="+xuhui, nil)
	answer.expect(t, "scope options of 徐汇", http.StatusOK, "")
	var body scopeOptionsBody
	answer.decode(t, &body)

	streets := e.count(t, `SELECT count(*) FROM street WHERE district_code = $1`, xuhui)
	kindergartens := e.count(t, `SELECT count(*) FROM kindergarten WHERE district_code = $1`, xuhui)
	if streets == 0 || kindergartens == 0 {
		t.Fatalf("seed has %d streets and %d kindergartens in 徐汇, want some of each", streets, kindergartens)
	}
	if body.DistrictCode != xuhui {
		t.Errorf("districtCode = %q, want %s", body.DistrictCode, xuhui)
	}
	if len(body.Streets) != streets {
		t.Errorf("streets = %d, want %d", len(body.Streets), streets)
	}
	if len(body.Kindergartens) != kindergartens {
		t.Errorf("kindergartens = %d, want %d", len(body.Kindergartens), kindergartens)
	}
	for _, street := range body.Streets {
		if len(street.Code) != 9 || street.Code[:6] != xuhui || street.Name == "" {
			t.Errorf("street %+v is not a named street of 徐汇", street)
		}
	}
	for _, kindergarten := range body.Kindergartens {
		inDistrict := e.count(t, `SELECT count(*) FROM kindergarten WHERE id = $1 AND district_code = $2 AND street_code = $3`,
			kindergarten.ID, xuhui, kindergarten.StreetCode)
		if inDistrict != 1 || kindergarten.Name == "" {
			t.Errorf("kindergarten %+v is not a named kindergarten of 徐汇 in its street", kindergarten)
		}
	}

	// An option from the list is accepted as the scope of a new account.
	created := securityAdmin.do(t, http.MethodPost, "/api/v1/staff", map[string]any{
		"username": "xuhui.kg", "displayName": "园所管理员", "role": "kindergarten_admin",
		"scope": map[string]any{"kindergartenId": body.Kindergartens[0].ID},
	})
	created.expect(t, "account with a listed kindergarten", http.StatusCreated, "")

	for _, district := range []string{"", "31010", "3101044", "310104' OR '1'='1", "999999"} {
		securityAdmin.do(t, http.MethodGet, "/api/v1/staff/scope-options?district="+url.QueryEscape(district), nil).
			expect(t, "district "+district, http.StatusBadRequest, "unknown_district")
	}
	districtAdmin.do(t, http.MethodGet, "/api/v1/staff/scope-options?district="+xuhui, nil).
		expect(t, "district admin", http.StatusForbidden, "no_permission")
}
