package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/session"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
	pudong    = backofficetest.Pudong
)

// scopeData is a set of stored registrations and applications with known
// districts.
type scopeData struct {
	registrations []string // by index, see newScopeData
	applications  map[string]string
}

// newScopeData stores seven registrations and five applications:
//
//	0 hukou 徐汇, home 徐汇, applies in 徐汇
//	1 hukou 徐汇, home 长宁, applies in 长宁
//	2 hukou 长宁, home 徐汇, applies in 徐汇
//	3 hukou 长宁, home 长宁, applies in 长宁
//	4 hukou outside Shanghai, home 长宁
//	5 hukou outside Shanghai, home 徐汇
//	6 hukou 浦东, home 浦东, applies in 浦东
func newScopeData(t *testing.T, env *backofficetest.Env) scopeData {
	t.Helper()
	homes := []struct{ hukou, home, applyIn string }{
		{xuhui, xuhui, xuhui},
		{xuhui, changning, changning},
		{changning, xuhui, xuhui},
		{changning, changning, changning},
		{"", changning, ""},
		{"", xuhui, ""},
		{pudong, pudong, pudong},
	}
	data := scopeData{applications: map[string]string{}}
	for i, h := range homes {
		request := env.OtherProvinceChild(t, i, h.home)
		if h.hukou != "" {
			request = env.ShanghaiChild(t, i, h.hukou, h.home)
		}
		subject := backofficetest.Subject(i)
		number := env.Register(t, subject, request)
		data.registrations = append(data.registrations, number)
		if h.applyIn != "" {
			data.applications[number] = env.Apply(t, subject, number, h.applyIn)
		}
	}

	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.WaitForRows(t, time.Minute, len(data.registrations), `SELECT count(*) FROM registration`)
	env.WaitForRows(t, time.Minute, len(data.applications), `SELECT count(*) FROM application`)
	running.Stop(t)
	return data
}

func (d scopeData) registrationsAt(indexes ...int) []string {
	numbers := make([]string, 0, len(indexes))
	for _, i := range indexes {
		numbers = append(numbers, d.registrations[i])
	}
	sort.Strings(numbers)
	return numbers
}

func (d scopeData) applicationsAt(indexes ...int) []string {
	numbers := make([]string, 0, len(indexes))
	for _, i := range indexes {
		numbers = append(numbers, d.applications[d.registrations[i]])
	}
	sort.Strings(numbers)
	return numbers
}

// client calls the back office's API with one session cookie.
type client struct {
	base   string
	cookie string
}

type response struct {
	status int
	body   []byte
}

func (c client) do(t *testing.T, method, path, contentType, body string) response {
	t.Helper()
	request, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}
	if c.cookie != "" {
		request.AddCookie(&http.Cookie{Name: access.CookieName, Value: c.cookie})
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	answer, err := httpClient.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer answer.Body.Close()
	data, err := io.ReadAll(answer.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: answer.StatusCode, body: data}
}

func (c client) get(t *testing.T, path string) response {
	t.Helper()
	return c.do(t, http.MethodGet, path, "", "")
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body %s does not decode: %v", r.body, err)
	}
	return body.Error.Code
}

type listPage struct {
	Total int `json:"total"`
	Page  int `json:"page"`
	Size  int `json:"size"`
	Items []struct {
		RegistrationNumber string `json:"registrationNumber"`
		ApplicationNumber  string `json:"applicationNumber"`
		ChildName          string `json:"childName"`
	} `json:"items"`
}

// list fetches a list page and returns it with its numbers sorted: the
// application numbers for /applications, else the registration numbers.
func (c client) list(t *testing.T, path string) (listPage, []string) {
	t.Helper()
	answer := c.get(t, path)
	if answer.status != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", path, answer.status, answer.body)
	}
	var page listPage
	if err := json.Unmarshal(answer.body, &page); err != nil {
		t.Fatalf("GET %s: body does not decode: %v", path, err)
	}
	numbers := []string{}
	for _, item := range page.Items {
		number := item.RegistrationNumber
		if strings.HasPrefix(path, "/api/v1/applications") {
			number = item.ApplicationNumber
		}
		numbers = append(numbers, number)
	}
	sort.Strings(numbers)
	return page, numbers
}

func signIn(t *testing.T, base, body string) client {
	t.Helper()
	anonymous := client{base: base}
	request, err := http.NewRequest(http.MethodPost, base+"/api/v1/dev/sign-in", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/json")
	answer, err := (&http.Client{Timeout: 30 * time.Second}).Do(request)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	defer answer.Body.Close()
	if answer.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(answer.Body)
		t.Fatalf("sign in with %s = %d %s, want 200", body, answer.StatusCode, data)
	}
	for _, cookie := range answer.Cookies() {
		if cookie.Name == access.CookieName {
			anonymous.cookie = cookie.Value
			return anonymous
		}
	}
	t.Fatalf("sign in with %s set no %s cookie", body, access.CookieName)
	return anonymous
}

func sameNumbers(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestScopeOverHTTP(t *testing.T) {
	env := backofficetest.New(t)
	data := newScopeData(t, env)
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
	base := "http://" + backOffice.Addr()
	xuhuiAdmin := signIn(t, base, `{"level": "district", "districtCode": "310104"}`)
	cityAdmin := signIn(t, base, `{"level": "city"}`)

	t.Run("district admin registrations", func(t *testing.T) {
		page, numbers := xuhuiAdmin.list(t, "/api/v1/registrations")
		sameNumbers(t, "徐汇 registrations", numbers, data.registrationsAt(0, 1, 2, 5))
		if page.Total != 4 {
			t.Errorf("total = %d, want 4", page.Total)
		}
	})
	t.Run("district admin applications", func(t *testing.T) {
		page, numbers := xuhuiAdmin.list(t, "/api/v1/applications")
		sameNumbers(t, "徐汇 applications", numbers, data.applicationsAt(0, 2))
		if page.Total != 2 {
			t.Errorf("total = %d, want 2", page.Total)
		}
	})
	t.Run("district admin other district applications", func(t *testing.T) {
		answer := xuhuiAdmin.get(t, "/api/v1/applications?district=310105")
		if answer.status != http.StatusForbidden {
			t.Fatalf("status = %d %s, want 403", answer.status, answer.body)
		}
		if code := answer.errorCode(t); code != "out_of_scope" {
			t.Errorf("code = %q, want out_of_scope", code)
		}
	})
	t.Run("district admin own district filter", func(t *testing.T) {
		_, numbers := xuhuiAdmin.list(t, "/api/v1/registrations?district=310104")
		sameNumbers(t, "徐汇 registrations", numbers, data.registrationsAt(0, 1, 2, 5))
	})
	t.Run("district admin other district filter", func(t *testing.T) {
		answer := xuhuiAdmin.get(t, "/api/v1/registrations?district=310105")
		if answer.status != http.StatusForbidden {
			t.Fatalf("status = %d %s, want 403", answer.status, answer.body)
		}
		if code := answer.errorCode(t); code != "out_of_scope" {
			t.Errorf("code = %q, want out_of_scope", code)
		}
	})
	t.Run("district admin detail in scope", func(t *testing.T) {
		for _, i := range []int{0, 1, 2, 5} {
			number := data.registrations[i]
			answer := xuhuiAdmin.get(t, "/api/v1/registrations/"+number)
			if answer.status != http.StatusOK {
				t.Errorf("GET registration %s = %d %s, want 200", number, answer.status, answer.body)
				continue
			}
			var item struct {
				RegistrationNumber string `json:"registrationNumber"`
				ChildName          string `json:"childName"`
				HukouDistrict      string `json:"hukouDistrict"`
				HukouProvince      string `json:"hukouProvince"`
			}
			if err := json.Unmarshal(answer.body, &item); err != nil {
				t.Fatalf("detail body does not decode: %v", err)
			}
			if item.RegistrationNumber != number {
				t.Errorf("detail of %s returned %s", number, item.RegistrationNumber)
			}
			if want := "张*" + string([]rune(backofficetest.ChildName(i))[2]); item.ChildName != want {
				t.Errorf("detail of %s child name = %q, want masked %q", number, item.ChildName, want)
			}
			if i == 5 && item.HukouProvince != "江苏省" {
				t.Errorf("detail of %s hukou province = %q, want 江苏省", number, item.HukouProvince)
			}
			if i == 0 && item.HukouDistrict != "徐汇区" {
				t.Errorf("detail of %s hukou district = %q, want 徐汇区", number, item.HukouDistrict)
			}
		}
	})
	t.Run("district admin detail out of scope", func(t *testing.T) {
		for _, i := range []int{3, 6} {
			number := data.registrations[i]
			answer := xuhuiAdmin.get(t, "/api/v1/registrations/"+number)
			if answer.status != http.StatusForbidden {
				t.Errorf("GET registration %s = %d %s, want 403", number, answer.status, answer.body)
				continue
			}
			if code := answer.errorCode(t); code != "out_of_scope" {
				t.Errorf("GET registration %s code = %q, want out_of_scope", number, code)
			}
		}
	})
	t.Run("detail of unknown number", func(t *testing.T) {
		answer := xuhuiAdmin.get(t, "/api/v1/registrations/"+unknownRegistration(env))
		if answer.status != http.StatusNotFound {
			t.Errorf("status = %d %s, want 404", answer.status, answer.body)
		}
	})
	t.Run("detail of malformed number", func(t *testing.T) {
		answer := xuhuiAdmin.get(t, "/api/v1/registrations/"+url.PathEscape("1' OR '1'='1"))
		if answer.status != http.StatusBadRequest {
			t.Errorf("status = %d %s, want 400", answer.status, answer.body)
		}
	})
	t.Run("city admin", func(t *testing.T) {
		page, numbers := cityAdmin.list(t, "/api/v1/registrations")
		sameNumbers(t, "city registrations", numbers, data.registrationsAt(0, 1, 2, 3, 4, 5, 6))
		if page.Total != 7 {
			t.Errorf("total = %d, want 7", page.Total)
		}
		_, applications := cityAdmin.list(t, "/api/v1/applications")
		sameNumbers(t, "city applications", applications, data.applicationsAt(0, 1, 2, 3, 6))
		_, changningNumbers := cityAdmin.list(t, "/api/v1/registrations?district=310105")
		sameNumbers(t, "city registrations filtered to 长宁", changningNumbers, data.registrationsAt(1, 2, 3, 4))
		_, changningApplications := cityAdmin.list(t, "/api/v1/applications?district=310105")
		sameNumbers(t, "city applications filtered to 长宁", changningApplications, data.applicationsAt(1, 3))
		for _, number := range data.registrations {
			if answer := cityAdmin.get(t, "/api/v1/registrations/"+number); answer.status != http.StatusOK {
				t.Errorf("city admin GET registration %s = %d %s, want 200", number, answer.status, answer.body)
			}
		}
	})
}

func unknownRegistration(env *backofficetest.Env) string {
	return enrol.FormatRegistrationNumber(env.Year.Year, 7_654_321)
}

func TestSessionRequired(t *testing.T) {
	env := backofficetest.New(t)
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
	base := "http://" + backOffice.Addr()
	now := time.Now()

	parentToken := func(subject string) string {
		return session.Issue(env.Keyring, "parent", session.Claims{
			Subject: subject, Name: "家长", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(),
		})
	}
	expiredStaff := session.Issue(env.Keyring, "staff", session.Claims{
		Subject: "dev:city", IssuedAt: now.Add(-2 * time.Hour).Unix(), ExpiresAt: now.Add(-time.Hour).Unix(),
	})
	sessions := []struct {
		name   string
		cookie string
	}{
		{"no session", ""},
		{"parent session", parentToken("parent-1")},
		{"parent session naming a city admin", parentToken("dev:city")},
		{"expired staff session", expiredStaff},
		{"garbage", "v1.e30.AAAA"},
	}
	paths := []string{"/api/v1/me", "/api/v1/registrations", "/api/v1/applications",
		"/api/v1/registrations/" + unknownRegistration(env)}
	for _, s := range sessions {
		t.Run(s.name, func(t *testing.T) {
			c := client{base: base, cookie: s.cookie}
			for _, path := range paths {
				answer := c.get(t, path)
				if answer.status != http.StatusUnauthorized {
					t.Errorf("GET %s = %d %s, want 401", path, answer.status, answer.body)
				}
			}
		})
	}

	t.Run("staff session works", func(t *testing.T) {
		staff := signIn(t, base, `{"level": "city"}`)
		if answer := staff.get(t, "/api/v1/me"); answer.status != http.StatusOK {
			t.Errorf("GET /api/v1/me = %d %s, want 200", answer.status, answer.body)
		}
	})
}

func TestDevSignIn(t *testing.T) {
	env := backofficetest.New(t)

	t.Run("off", func(t *testing.T) {
		backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "false", "BACKOFFICE_WORKERS": "false"})
		anonymous := client{base: "http://" + backOffice.Addr()}
		answer := anonymous.do(t, http.MethodPost, "/api/v1/dev/sign-in", "application/json", `{"level": "city"}`)
		if answer.status != http.StatusNotFound {
			t.Fatalf("status = %d %s, want 404", answer.status, answer.body)
		}
		if code := answer.errorCode(t); code != "route_not_found" {
			t.Errorf("code = %q, want route_not_found", code)
		}
		var options struct {
			DevSignIn bool `json:"devSignIn"`
		}
		if err := json.Unmarshal(anonymous.get(t, "/api/v1/sign-in/options").body, &options); err != nil {
			t.Fatalf("sign-in options do not decode: %v", err)
		}
		if options.DevSignIn {
			t.Errorf("sign-in options offer the development sign-in while it is off")
		}
	})

	t.Run("on", func(t *testing.T) {
		backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
		anonymous := client{base: "http://" + backOffice.Addr()}
		cases := []struct {
			name, body string
			status     int
			code       string
		}{
			{"unknown district", `{"level": "district", "districtCode": "319999"}`, http.StatusBadRequest, "unknown_district"},
			{"unknown level", `{"level": "street"}`, http.StatusBadRequest, "invalid_level"},
			{"unknown field", `{"level": "city", "role": "root"}`, http.StatusBadRequest, "malformed_json"},
		}
		for _, test := range cases {
			t.Run(test.name, func(t *testing.T) {
				answer := anonymous.do(t, http.MethodPost, "/api/v1/dev/sign-in", "application/json", test.body)
				if answer.status != test.status {
					t.Fatalf("status = %d %s, want %d", answer.status, answer.body, test.status)
				}
				if code := answer.errorCode(t); code != test.code {
					t.Errorf("code = %q, want %q", code, test.code)
				}
			})
		}
	})
}

func TestListParameters(t *testing.T) {
	env := backofficetest.New(t)
	data := newScopeData(t, env)
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
	base := "http://" + backOffice.Addr()
	xuhuiAdmin := signIn(t, base, `{"level": "district", "districtCode": "310104"}`)
	cityAdmin := signIn(t, base, `{"level": "city"}`)

	t.Run("injection in status", func(t *testing.T) {
		attempts := []string{
			"recorded' OR '1'='1",
			"recorded'; DROP TABLE registration; --",
			"x' UNION SELECT registration_number FROM registration --",
		}
		for _, path := range []string{"/api/v1/registrations", "/api/v1/applications"} {
			for _, attempt := range attempts {
				answer := xuhuiAdmin.get(t, path+"?status="+url.QueryEscape(attempt))
				if answer.status != http.StatusBadRequest {
					t.Errorf("GET %s?status=%s = %d %s, want 400", path, attempt, answer.status, answer.body)
					continue
				}
				if code := answer.errorCode(t); code != "invalid_status" {
					t.Errorf("GET %s?status=%s code = %q, want invalid_status", path, attempt, code)
				}
			}
		}
	})

	t.Run("injection in number and district", func(t *testing.T) {
		attempts := []string{
			"number=" + url.QueryEscape("' OR ''='"),
			"number=" + url.QueryEscape(data.registrations[0]+"' OR TRUE --"),
			"number=" + url.QueryEscape("1 OR 1=1"),
			"number=" + url.QueryEscape("'; DELETE FROM registration; --"),
		}
		for _, path := range []string{"/api/v1/registrations", "/api/v1/applications"} {
			for _, attempt := range attempts {
				answer := xuhuiAdmin.get(t, path+"?"+attempt)
				if answer.status != http.StatusBadRequest {
					t.Errorf("GET %s?%s = %d %s, want 400", path, attempt, answer.status, answer.body)
					continue
				}
				if code := answer.errorCode(t); code != "invalid_number" {
					t.Errorf("GET %s?%s code = %q, want invalid_number", path, attempt, code)
				}
			}
			answer := cityAdmin.get(t, path+"?district="+url.QueryEscape("310104' OR TRUE --"))
			if answer.status != http.StatusBadRequest {
				t.Errorf("GET %s with a district injection = %d %s, want 400", path, answer.status, answer.body)
			} else if code := answer.errorCode(t); code != "unknown_district" {
				t.Errorf("GET %s with a district injection: code = %q, want unknown_district", path, code)
			}
		}
		if rows := env.Count(t, `SELECT count(*) FROM registration`); rows != len(data.registrations) {
			t.Errorf("registration rows after the attempts = %d, want %d", rows, len(data.registrations))
		}
		if rows := env.Count(t, `SELECT count(*) FROM application`); rows != len(data.applications) {
			t.Errorf("application rows after the attempts = %d, want %d", rows, len(data.applications))
		}
	})

	t.Run("filters stay within scope", func(t *testing.T) {
		page, numbers := xuhuiAdmin.list(t, "/api/v1/registrations?number="+data.registrations[0])
		sameNumbers(t, "filtered by number", numbers, data.registrationsAt(0))
		if page.Total != 1 {
			t.Errorf("total = %d, want 1", page.Total)
		}
		other, _ := xuhuiAdmin.list(t, "/api/v1/registrations?number="+data.registrations[3])
		if other.Total != 0 {
			t.Errorf("another district's registration by number: total = %d, want 0", other.Total)
		}
		otherApplication, _ := xuhuiAdmin.list(t, "/api/v1/applications?number="+data.registrations[3])
		if otherApplication.Total != 0 {
			t.Errorf("another district's application by registration number: total = %d, want 0", otherApplication.Total)
		}
		recorded, _ := xuhuiAdmin.list(t, "/api/v1/registrations?status=recorded")
		if recorded.Total != 4 {
			t.Errorf("status=recorded total = %d, want 4", recorded.Total)
		}
	})

	t.Run("invalid paging", func(t *testing.T) {
		cases := []struct {
			query, code string
		}{
			{"page=0", "invalid_page"},
			{"page=-1", "invalid_page"},
			{"page=abc", "invalid_page"},
			{"page=100001", "invalid_page"},
			{"page=1.5", "invalid_page"},
			{"size=0", "invalid_page_size"},
			{"size=101", "invalid_page_size"},
			{"size=-5", "invalid_page_size"},
			{"size=1e2", "invalid_page_size"},
		}
		for _, path := range []string{"/api/v1/registrations", "/api/v1/applications"} {
			for _, test := range cases {
				answer := xuhuiAdmin.get(t, path+"?"+test.query)
				if answer.status != http.StatusBadRequest {
					t.Errorf("GET %s?%s = %d %s, want 400", path, test.query, answer.status, answer.body)
					continue
				}
				if code := answer.errorCode(t); code != test.code {
					t.Errorf("GET %s?%s code = %q, want %q", path, test.query, code, test.code)
				}
			}
		}
	})

	t.Run("pages", func(t *testing.T) {
		seen := map[string]int{}
		for number := 1; number <= 3; number++ {
			page, numbers := cityAdmin.list(t, "/api/v1/registrations?size=3&page="+strconv.Itoa(number))
			if page.Total != 7 {
				t.Errorf("page %d total = %d, want 7", number, page.Total)
			}
			if page.Size != 3 || page.Page != number {
				t.Errorf("page %d echoes page %d size %d", number, page.Page, page.Size)
			}
			wantItems := min(3, 7-3*(number-1))
			if len(numbers) != wantItems {
				t.Errorf("page %d has %d items, want %d", number, len(numbers), wantItems)
			}
			for _, n := range numbers {
				seen[n]++
			}
		}
		if len(seen) != 7 {
			t.Errorf("three pages of 3 cover %d registrations, want 7", len(seen))
		}
		for number, times := range seen {
			if times != 1 {
				t.Errorf("%s appears on %d pages, want 1", number, times)
			}
		}
		beyond, numbers := cityAdmin.list(t, "/api/v1/registrations?size=3&page=4")
		if len(numbers) != 0 || beyond.Total != 7 {
			t.Errorf("page 4 has %d items and total %d, want 0 items and total 7", len(numbers), beyond.Total)
		}
		maximum, _ := cityAdmin.list(t, "/api/v1/registrations?size=100&page=100000")
		if len(maximum.Items) != 0 {
			t.Errorf("page 100000 has %d items, want 0", len(maximum.Items))
		}
	})
}

func TestListInvalidBytes(t *testing.T) {
	env := backofficetest.New(t)
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
	cityAdmin := signIn(t, "http://"+backOffice.Addr(), `{"level": "city"}`)

	queries := []string{"status=%00", "status=%FF", "number=%C0%AF", "number=abc%00", "district=%FF", "district=%00"}
	for _, path := range []string{"/api/v1/registrations", "/api/v1/applications"} {
		for _, query := range queries {
			answer := cityAdmin.get(t, path+"?"+query)
			if answer.status >= http.StatusInternalServerError {
				t.Errorf("GET %s?%s = %d %s, want 200 or 400", path, query, answer.status, answer.body)
			}
		}
	}
}

func TestDetailNullHukouScope(t *testing.T) {
	env := backofficetest.New(t)
	data := newScopeData(t, env)
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_DEV_SIGN_IN": "true", "BACKOFFICE_WORKERS": "false"})
	xuhuiAdmin := signIn(t, "http://"+backOffice.Addr(), `{"level": "district", "districtCode": "310104"}`)

	answer := xuhuiAdmin.get(t, "/api/v1/registrations/"+data.registrations[4])
	if answer.status != http.StatusForbidden {
		t.Fatalf("status = %d %s, want 403", answer.status, answer.body)
	}
	if code := answer.errorCode(t); code != "out_of_scope" {
		t.Errorf("code = %q, want out_of_scope", code)
	}
}
