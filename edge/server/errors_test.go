package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/signin"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/session"
)

// TestInvalidRequests sends malformed and unexpected requests: each must get
// a 4xx JSON error with a stable code, never a 5xx.
func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	valid := edgetest.JSON(t, f.Registration(t))
	padded := append(append([]byte{}, valid[:len(valid)-1]...), []byte(`,"extra":{"note":"`+strings.Repeat("a", 64<<10)+`"}}`)...)

	tests := []struct {
		name    string
		request edgetest.Request
		status  int
		code    string
		field   string
	}{
		{"malformed JSON", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"child": {"name": "张三"`)},
			http.StatusBadRequest, "malformed_json", ""},
		{"empty body", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte{}},
			http.StatusBadRequest, "malformed_json", ""},
		{"two JSON values", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: append(append([]byte{}, valid...), '{', '}')},
			http.StatusBadRequest, "malformed_json", ""},
		{"year as text", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"enrolmentYear": "2027"}`)},
			http.StatusBadRequest, "invalid_field_type", "enrolmentYear"},
		{"name as number", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"child": {"name": 42}}`)},
			http.StatusBadRequest, "invalid_field_type", "child.name"},
		{"guardians as object", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"guardians": {"relation": "mother"}}`)},
			http.StatusBadRequest, "invalid_field_type", "guardians"},
		{"campus choice as text", edgetest.Request{Method: "POST", Path: "/api/v1/applications", Body: []byte(`{"campusChoices": ["12"]}`)},
			http.StatusBadRequest, "invalid_field_type", "campusChoices[0]"},
		{"huge year", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"enrolmentYear": 1e400}`)},
			http.StatusBadRequest, "out_of_range", "enrolmentYear"},
		{"deep nesting", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"extra": {"a": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`)},
			http.StatusBadRequest, "malformed_json", ""},
		{"unknown field", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte(`{"isAdmin": true}`)},
			http.StatusBadRequest, "unknown_field", "isAdmin"},
		{"body over 64 KiB", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: padded},
			http.StatusRequestEntityTooLarge, "body_too_large", ""},
		{"form instead of JSON", edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: []byte("a=1"), ContentType: "application/x-www-form-urlencoded"},
			http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"text/plain JSON", edgetest.Request{Method: "POST", Path: "/api/v1/applications", Body: []byte("{}"), ContentType: "text/plain"},
			http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"unknown API route", edgetest.Request{Method: "GET", Path: "/api/v1/nothing"},
			http.StatusNotFound, "route_not_found", ""},
		{"unknown API route with body", edgetest.Request{Method: "POST", Path: "/api/v2/registrations", Body: valid},
			http.StatusNotFound, "route_not_found", ""},
		{"wrong method", edgetest.Request{Method: "DELETE", Path: "/api/v1/registrations"},
			http.StatusMethodNotAllowed, "method_not_allowed", ""},
		{"malformed receipt number", edgetest.Request{Method: "GET", Path: "/api/v1/receipts/abc"},
			http.StatusNotFound, "receipt_not_found", ""},
		{"options of malformed number", edgetest.Request{Method: "GET", Path: "/api/v1/registrations/12/options?district=310104"},
			http.StatusBadRequest, "invalid_registration_number", "registrationNumber"},
		{"prefill of 15-digit ID", edgetest.Request{Method: "POST", Path: "/api/v1/prefill/certificates",
			Body: []byte(`{"documentType": "resident_id", "documentNumber": "310104230901003", "certificateTypes": ["birth_certificate"]}`)},
			http.StatusBadRequest, "resident_id_15_digits", "documentNumber"},
		{"prefill of passport", edgetest.Request{Method: "POST", Path: "/api/v1/prefill/certificates",
			Body: []byte(`{"documentType": "passport", "documentNumber": "E12345678", "certificateTypes": ["birth_certificate"]}`)},
			http.StatusBadRequest, "prefill_not_supported", "documentType"},
		{"prefill of unknown certificate", edgetest.Request{Method: "POST", Path: "/api/v1/prefill/certificates",
			Body: []byte(`{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": ["diploma"]}`)},
			http.StatusBadRequest, "invalid_certificate_types", "certificateTypes"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			test.request.Subject = "parent-1"
			response := e.Do(t, test.request)
			if response.Status >= 500 {
				t.Fatalf("status %d: %s", response.Status, response.Body)
			}
			if contentType := response.Header.Get("Content-Type"); !strings.HasPrefix(contentType, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", contentType)
			}
			edgetest.CheckAPIError(t, response.Error(t), test.status, test.code, test.field)
		})
	}
}

// TestBodyOverServerLimit announces a body larger than the server reads at
// all (an upload's 5 MiB and 64 KiB), which fasthttp rejects from the
// Content-Length header before routing. The test sends only the header,
// because the server closes the connection without reading the body.
func TestBodyOverServerLimit(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	tests := []struct{ path, contentType, code string }{
		{"/api/v1/registrations", "application/json", "body_too_large"},
		// An upload's error names the file size limit.
		{"/api/v1/uploads", "multipart/form-data; boundary=x", "file_too_large"},
	}
	for _, test := range tests {
		t.Run(test.path, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))

			header := "POST " + test.path + " HTTP/1.1\r\nHost: edge\r\nContent-Type: " + test.contentType + "\r\n" +
				"Content-Length: " + strconv.Itoa(6<<20) + "\r\n\r\n"
			if _, err := conn.Write([]byte(header)); err != nil {
				t.Fatal(err)
			}
			response, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			defer response.Body.Close()
			body, err := io.ReadAll(response.Body)
			if err != nil {
				t.Fatal(err)
			}

			edgetest.CheckAPIError(t, (&edgetest.Response{Status: response.StatusCode, Body: body}).Error(t),
				http.StatusRequestEntityTooLarge, test.code, "")
		})
	}
}

func TestNotSignedIn(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	now := time.Now()
	valid := signin.IssueToken(f.Keyring, "parent-1", "李四", now, time.Hour)
	otherKeyring, err := crypto.NewKeyring(crypto.GenerateKeyring("other"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{
		"no cookie":          "",
		"expired":            signin.IssueToken(f.Keyring, "parent-1", "李四", now.Add(-2*time.Hour), time.Hour),
		"staff token":        session.Issue(f.Keyring, "staff", session.Claims{Subject: "parent-1", ExpiresAt: now.Add(time.Hour).Unix()}),
		"tampered":           valid[:len(valid)-2] + "AA",
		"empty subject":      session.Issue(f.Keyring, signin.Purpose, session.Claims{IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}),
		"not a token":        "hello",
		"other key entirely": signin.IssueToken(otherKeyring, "parent-1", "李四", now, time.Hour),
	}
	body := edgetest.JSON(t, f.Registration(t))
	for name, token := range tokens {
		t.Run(name, func(t *testing.T) {
			header := map[string]string{}
			if token != "" {
				header["Cookie"] = signin.SessionCookie + "=" + token
			}
			for _, request := range []edgetest.Request{
				{Method: "POST", Path: "/api/v1/registrations", Body: body, Header: header},
				{Method: "GET", Path: "/api/v1/me/receipts", Header: header},
				{Method: "POST", Path: "/api/v1/prefill/certificates", Body: []byte(`{}`), Header: header},
			} {
				response := e.Do(t, request)
				edgetest.CheckAPIError(t, response.Error(t), http.StatusUnauthorized, "not_signed_in", "")
			}
			var me struct {
				SignedIn bool `json:"signedIn"`
			}
			e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/me", Header: header}).Decode(t, &me)
			if me.SignedIn {
				t.Error("GET /api/v1/me reports signed in")
			}
		})
	}

	var me struct {
		SignedIn bool   `json:"signedIn"`
		Name     string `json:"name"`
	}
	e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/me", Header: map[string]string{"Cookie": signin.SessionCookie + "=" + valid}}).Decode(t, &me)
	if !me.SignedIn || me.Name != "李四" {
		t.Errorf("GET /api/v1/me with a valid token = %+v, want signed in as 李四", me)
	}
}

func TestForeignOrigin(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	host := strings.TrimPrefix(e.URL, "http://")
	tests := []struct {
		origin string
		status int
	}{
		{"https://attacker.invalid", http.StatusForbidden},
		{"http://" + host + ".attacker.invalid", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"http://" + host, http.StatusAccepted},
		{"", http.StatusAccepted},
	}
	for _, test := range tests {
		t.Run("origin "+test.origin, func(t *testing.T) {
			header := map[string]string{}
			if test.origin != "" {
				header["Origin"] = test.origin
			}
			response := e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Subject: "parent-1",
				Body: edgetest.JSON(t, f.Registration(t)), Header: header})
			if test.status == http.StatusForbidden {
				edgetest.CheckAPIError(t, response.Error(t), http.StatusForbidden, "cross_site_request", "")
				return
			}
			if response.Status != test.status {
				t.Errorf("status = %d %s, want %d", response.Status, response.Body, test.status)
			}
		})
	}

	logout := e.Do(t, edgetest.Request{Method: "POST", Path: "/auth/logout", Subject: "parent-1", Header: map[string]string{"Origin": "https://attacker.invalid"}})
	edgetest.CheckAPIError(t, logout.Error(t), http.StatusForbidden, "cross_site_request", "")
	read := e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/catalogue", Header: map[string]string{"Origin": "https://attacker.invalid"}})
	if read.Status != http.StatusOK {
		t.Errorf("GET with a foreign Origin = %d, want 200 because reads change nothing", read.Status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	for _, path := range []string{"/api/v1/catalogue", "/api/v1/nothing", "/"} {
		response := e.Get(t, path, "")
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "same-origin",
		}
		for name, value := range want {
			if got := response.Header.Get(name); got != value {
				t.Errorf("GET %s: %s = %q, want %q", path, name, got, value)
			}
		}
	}

	own := e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/catalogue", Header: map[string]string{"X-Request-ID": "trace-42"}})
	if got := own.Header.Get("X-Request-ID"); got != "trace-42" {
		t.Errorf("X-Request-ID = %q, want the client's trace-42", got)
	}
	injected := e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/catalogue", Header: map[string]string{"X-Request-ID": `a"b`}})
	if got := injected.Header.Get("X-Request-ID"); got == `a"b` || got == "" {
		t.Errorf("X-Request-ID = %q, want a generated ID in place of a quoted one", got)
	}
}

// TestHeaderTooLarge sends a request header larger than fasthttp reads,
// which it rejects before routing.
func TestHeaderTooLarge(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})

	response := e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/catalogue", Header: map[string]string{"X-Padding": strings.Repeat("a", 16<<10)}})

	if response.Status < 400 || response.Status > 499 {
		t.Fatalf("status = %d %s, want 4xx", response.Status, response.Body)
	}
	apiErr := response.Error(t)
	if apiErr.Code == "" || !edgetest.HasHan(apiErr.Message) {
		t.Errorf("error = %+v, want a code and a Chinese message", apiErr)
	}
}

func TestLogoutRevokesSession(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	header := map[string]string{"Cookie": signin.SessionCookie + "=" + e.SessionToken("parent-logout")}
	home := f.Address(t, edgetest.HomeDistrict, 1)
	registration := edgetest.JSON(t, f.Registration(t))
	var registered receiptBody
	e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: registration, Header: header}).Decode(t, &registered)
	if registered.ReceiptNumber == "" {
		t.Fatal("registering before signing out gave no receipt")
	}

	var me struct {
		SignedIn bool `json:"signedIn"`
	}
	e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/me", Header: header}).Decode(t, &me)
	if !me.SignedIn {
		t.Fatal("GET /api/v1/me before signing out reports signed out")
	}
	if response := e.Do(t, edgetest.Request{Method: "POST", Path: "/auth/logout", Header: header}); response.Status != http.StatusOK {
		t.Fatalf("POST /auth/logout = %d %s", response.Status, response.Body)
	}

	// The browser drops the cookie, but a copy of it must not work either.
	e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/me", Header: header}).Decode(t, &me)
	if me.SignedIn {
		t.Error("GET /api/v1/me with the signed-out cookie reports signed in")
	}
	response := e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/me/receipts", Header: header})
	edgetest.CheckAPIError(t, response.Error(t), http.StatusUnauthorized, "not_signed_in", "")

	// The submission routes check the revocation in their claim scripts:
	// neither a repeat, which would give the number, nor a new submission
	// gets through.
	entries := edgetest.StreamLength(t, e.Redis, e.Keys)
	repeat := e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: registration, Header: header})
	edgetest.CheckAPIError(t, repeat.Error(t), http.StatusUnauthorized, "not_signed_in", "")
	newRegistration := e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/registrations", Body: edgetest.JSON(t, f.Registration(t)), Header: header})
	edgetest.CheckAPIError(t, newRegistration.Error(t), http.StatusUnauthorized, "not_signed_in", "")
	application := edgetest.JSON(t, edgetest.Application(registered.ReceiptNumber, home, enrolment.CategoryDistrictHukouResident))
	applied := e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/applications", Body: application, Header: header})
	edgetest.CheckAPIError(t, applied.Error(t), http.StatusUnauthorized, "not_signed_in", "")
	if got := edgetest.StreamLength(t, e.Redis, e.Keys); got != entries {
		t.Errorf("the stream grew from %d to %d entries after signing out", entries, got)
	}

	// An application the pre-check would reject, or for a number of another
	// family, must not show the registration's facts or who owns the number.
	wrongCategory := edgetest.JSON(t, edgetest.Application(registered.ReceiptNumber, home, enrolment.CategoryOtherProvinceOther))
	response = e.Post(t, "/api/v1/applications", "parent-logout", wrongCategory) // a new session of the same parent
	edgetest.CheckAPIError(t, response.Error(t), http.StatusBadRequest, "category_inconsistent", "categoryCode")
	response = e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/applications", Body: wrongCategory, Header: header})
	edgetest.CheckAPIError(t, response.Error(t), http.StatusUnauthorized, "not_signed_in", "")
	var others receiptBody
	e.Post(t, "/api/v1/registrations", "parent-other", edgetest.JSON(t, f.Registration(t))).Decode(t, &others)
	foreign := edgetest.Application(others.ReceiptNumber, home, enrolment.CategoryDistrictHukouResident)
	response = e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/applications", Body: edgetest.JSON(t, foreign), Header: header})
	edgetest.CheckAPIError(t, response.Error(t), http.StatusUnauthorized, "not_signed_in", "")
}
