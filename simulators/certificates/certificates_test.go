package certificates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(NewHandler(nil))
	t.Cleanup(server.Close)
	return server
}

func postQuery(t *testing.T, server *httptest.Server, body string) (int, string) {
	t.Helper()
	response, err := server.Client().Post(server.URL+"/v1/certificates/query", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST query: %v", err)
	}
	defer response.Body.Close()
	responseBody, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, string(responseBody)
}

// numberWith returns the first passport-style number "E<i>" whose holder
// satisfies match, so tests do not depend on hand-picked hash values.
func numberWith(t *testing.T, match func([]Certificate) bool) string {
	t.Helper()
	for i := range 10_000 {
		number := fmt.Sprintf("E%08d", i)
		if match(Lookup("passport", number, Types())) {
			return number
		}
	}
	t.Fatal("no number in E00000000 to E00009999 matches")
	return ""
}

func TestQueryDeterministic(t *testing.T) {
	server := startServer(t)
	number := numberWith(t, func(found []Certificate) bool { return len(found) >= 3 })
	body := `{"holderDocumentType":"passport","holderDocumentNumber":"` + number + `","certificateTypes":[]}`

	status, first := postQuery(t, server, body)
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", status, first)
	}
	_, second := postQuery(t, server, body)
	if first != second {
		t.Errorf("two identical queries differ:\n%s\n%s", first, second)
	}

	var response QueryResponse
	if err := json.Unmarshal([]byte(first), &response); err != nil {
		t.Fatal(err)
	}
	if want := Lookup("passport", number, Types()); !reflect.DeepEqual(response.Certificates, want) {
		t.Errorf("HTTP answer differs from Lookup:\n%+v\n%+v", response.Certificates, want)
	}

	// Asking for one type gives the same certificate as asking for all.
	last := response.Certificates[len(response.Certificates)-1]
	single := Lookup("passport", strings.ToLower(" "+number+" "), []string{last.Type})
	if len(single) != 1 || !reflect.DeepEqual(single[0], last) {
		t.Errorf("Lookup of %s alone = %+v, want %+v", last.Type, single, last)
	}
}

func TestQueryKeepsRequestOrder(t *testing.T) {
	number := numberWith(t, func(found []Certificate) bool { return len(found) >= 3 })
	all := Lookup("passport", number, Types())
	reversed := make([]string, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		reversed = append(reversed, all[i].Type, all[i].Type)
	}

	got := Lookup("passport", number, reversed)
	if len(got) != len(all) {
		t.Fatalf("Lookup with duplicates returned %d certificates, want %d", len(got), len(all))
	}
	for i := range got {
		if got[i].Type != all[len(all)-1-i].Type {
			t.Errorf("certificate %d has type %s, want %s", i, got[i].Type, all[len(all)-1-i].Type)
		}
	}
}

func TestQueryNotFound(t *testing.T) {
	server := startServer(t)
	number := numberWith(t, func(found []Certificate) bool { return len(found) == 0 })

	status, body := postQuery(t, server, `{"holderDocumentType":"passport","holderDocumentNumber":"`+number+`"}`)
	if status != http.StatusNotFound {
		t.Fatalf("status = %d, want 404 (body %s)", status, body)
	}
	if !strings.Contains(body, `"certificates":[]`) {
		t.Errorf("body = %s, want an empty certificates array (not null)", body)
	}
	if !strings.Contains(body, `"error":"not_found"`) {
		t.Errorf("body = %s, want error not_found", body)
	}
}

func TestQueryRejectsBadInput(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantField  string
	}{
		{name: "not JSON", body: `holder=1`, wantStatus: 400},
		{name: "empty body", body: ``, wantStatus: 400},
		{name: "array", body: `[]`, wantStatus: 400},
		{name: "trailing data", body: `{"holderDocumentType":"passport","holderDocumentNumber":"E1"} {}`, wantStatus: 400},
		{name: "missing type", body: `{"holderDocumentNumber":"E1"}`, wantStatus: 400, wantField: "holderDocumentType"},
		{name: "type with spaces", body: `{"holderDocumentType":"id card","holderDocumentNumber":"E1"}`, wantStatus: 400, wantField: "holderDocumentType"},
		{name: "missing number", body: `{"holderDocumentType":"passport"}`, wantStatus: 400, wantField: "holderDocumentNumber"},
		{name: "number with symbols", body: `{"holderDocumentType":"passport","holderDocumentNumber":"E1;DROP"}`, wantStatus: 400, wantField: "holderDocumentNumber"},
		{name: "resident ID too short", body: `{"holderDocumentType":"resident_id_card","holderDocumentNumber":"31011520230115002"}`, wantStatus: 400, wantField: "holderDocumentNumber"},
		{name: "resident ID letter inside", body: `{"holderDocumentType":"111","holderDocumentNumber":"3101152023011500X1"}`, wantStatus: 400, wantField: "holderDocumentNumber"},
		{name: "unknown certificate type", body: `{"holderDocumentType":"passport","holderDocumentNumber":"E1","certificateTypes":["birth_certificate","marriage_certificate"]}`, wantStatus: 400, wantField: "certificateTypes[1]"},
		{name: "types not an array", body: `{"holderDocumentType":"passport","holderDocumentNumber":"E1","certificateTypes":"birth_certificate"}`, wantStatus: 400, wantField: "certificateTypes"},
		{name: "too many types", body: `{"holderDocumentType":"passport","holderDocumentNumber":"E1","certificateTypes":[` + strings.Repeat(`"birth_certificate",`, 20) + `"birth_certificate"]}`, wantStatus: 400, wantField: "certificateTypes"},
		{name: "unknown field", body: `{"holderDocumentType":"passport","holderDocumentNo":"E1"}`, wantStatus: 400, wantField: "holderDocumentNo"},
		{name: "body too large", body: `{"holderDocumentType":"passport","holderDocumentNumber":"` + strings.Repeat("1", 20_000) + `"}`, wantStatus: 413},
	}
	server := startServer(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postQuery(t, server, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			var errorBody struct{ Error, Message, Field string }
			if err := json.Unmarshal([]byte(body), &errorBody); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, body)
			}
			if errorBody.Error == "" || errorBody.Message == "" {
				t.Errorf("error body = %s, want error and message", body)
			}
			if errorBody.Field != tt.wantField {
				t.Errorf("field = %q, want %q", errorBody.Field, tt.wantField)
			}
		})
	}
}

func TestQueryRejectsOtherMethods(t *testing.T) {
	server := startServer(t)
	response, err := server.Client().Get(server.URL + "/v1/certificates/query")
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d, want 405", response.StatusCode)
	}
}

func TestResidentIDNumberFields(t *testing.T) {
	// 310115 is 浦东新区, born 2023-01-15; digit 17 is the sex digit.
	var number string
	var found []Certificate
	for sequence := range 1000 {
		candidate := fmt.Sprintf("31011520230115%03dX", sequence)
		found = Lookup("resident_id_card", candidate, []string{TypeBirthCertificate, TypeHouseholdRegister})
		if len(found) == 2 {
			number = candidate
			break
		}
	}
	if number == "" {
		t.Fatal("no number 31011520230115nnnX has both a birth certificate and a household register")
	}

	birth, household := found[0], found[1]
	if got := birth.Fields["birthDate"]; got != "2023-01-15" {
		t.Errorf("birthDate = %q, want 2023-01-15 from the number", got)
	}
	wantSex := "女"
	if (number[16]-'0')%2 == 1 {
		wantSex = "男"
	}
	if got := birth.Fields["sex"]; got != wantSex {
		t.Errorf("sex = %q, want %s for digit 17 %c in %s", got, wantSex, number[16], number)
	}
	if got := household.Fields["districtCode"]; got != "310115" {
		t.Errorf("household districtCode = %q, want 310115 from the number", got)
	}
	if got := household.Fields["district"]; got != "浦东新区" {
		t.Errorf("household district = %q, want 浦东新区", got)
	}
}

func TestCertificateContents(t *testing.T) {
	requiredFields := map[string][]string{
		TypeBirthCertificate:    {"childName", "sex", "birthDate", "birthPlace", "motherName", "fatherName"},
		TypeHouseholdRegister:   {"householderName", "relationshipToHouseholder", "address", "districtCode", "streetCode", "registeredAt"},
		TypeResidencePermit:     {"holderName", "address", "validFrom", "validUntil", "pointsStandardMet"},
		TypePropertyCertificate: {"ownerName", "ownership", "usage", "areaSquareMetres", "address"},
		TypeTenancyRegistration: {"tenantName", "landlordName", "leaseStart", "leaseEnd", "address"},
	}
	holders := map[string]int{}
	typeCounts := map[string]int{}
	const numbers = 2000

	for i := range numbers {
		found := Lookup("passport", fmt.Sprintf("P%07d", i), Types())
		holders[fmt.Sprint(len(found) > 0)]++
		present := map[string]bool{}
		for _, certificate := range found {
			present[certificate.Type] = true
			typeCounts[certificate.Type]++
			if certificate.Name != TypeName(certificate.Type) || certificate.Number == "" || certificate.Issuer == "" {
				t.Fatalf("incomplete certificate %+v", certificate)
			}
			if _, err := time.Parse(time.DateOnly, certificate.IssuedAt); err != nil {
				t.Fatalf("issuedAt %q of %s: %v", certificate.IssuedAt, certificate.Type, err)
			}
			for _, field := range requiredFields[certificate.Type] {
				if certificate.Fields[field] == "" {
					t.Fatalf("%s lacks field %s: %+v", certificate.Type, field, certificate.Fields)
				}
			}
			if code := certificate.Fields["streetCode"]; code != "" && !strings.HasPrefix(code, certificate.Fields["districtCode"]) {
				t.Fatalf("streetCode %s is not in district %s", code, certificate.Fields["districtCode"])
			}
		}
		if present[TypeHouseholdRegister] && present[TypeResidencePermit] {
			t.Fatalf("P%07d holds both a household register and a residence permit", i)
		}
		if present[TypePropertyCertificate] && present[TypeTenancyRegistration] {
			t.Fatalf("P%07d holds both a property certificate and a tenancy registration", i)
		}
	}

	if holders["false"] == 0 {
		t.Error("no holder without certificates among 2000 numbers, want about 5%")
	}
	for _, certificateType := range Types() {
		if count := typeCounts[certificateType]; count == 0 || count == numbers {
			t.Errorf("%s held by %d of %d holders, want some but not all", certificateType, count, numbers)
		}
	}
}

func TestDivisionDataLoaded(t *testing.T) {
	if len(districts) != 16 {
		t.Fatalf("loaded %d districts, want 16", len(districts))
	}
	for _, d := range districts {
		for _, s := range d.Streets {
			if !strings.HasPrefix(s.Code, d.Code) {
				t.Errorf("street %s %s filed under district %s", s.Code, s.Name, d.Code)
			}
		}
	}
	if !bytes.Contains([]byte(fmt.Sprint(districts)), []byte("外滩街道")) {
		t.Error("外滩街道 missing from the loaded streets")
	}
}
