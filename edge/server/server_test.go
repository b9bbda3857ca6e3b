package server_test

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

func TestMain(m *testing.M) {
	// The tests mostly wait for Redis and the edge's background pollers, so
	// more of them run at once than there are CPUs, unless -parallel sets
	// another number.
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		flag.Set("test.parallel", "8")
	}
	edgetest.Quiet()
	os.Exit(edgetest.Run(m))
}

// receiptBody is the response body of an accepted submission.
type receiptBody struct {
	ReceiptNumber string `json:"receiptNumber"`
	Status        string `json:"status"`
	StatusLabel   string `json:"statusLabel"`
	Duplicate     bool   `json:"duplicate"`
}

// metric returns the value of the sample whose line starts with series,
// such as `edge_throttled_total{scope="route"}`, and whether it exists.
func metric(t *testing.T, e *edgetest.Edge, series string) (float64, bool) {
	t.Helper()
	response := e.GetOperations(t, "/metrics")
	if response.Status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", response.Status)
	}
	for line := range strings.SplitSeq(string(response.Body), "\n") {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			number, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return number, true
		}
	}
	return 0, false
}

// eventually polls condition until it holds or fifteen seconds pass, for
// the edge's background work: snapshot refresh, backlog polling and the
// limits file watcher, which looks every 2 seconds.
func eventually(t *testing.T, what string, condition func() bool) {
	t.Helper()
	eventuallyWithin(t, 15*time.Second, what, condition)
}

// eventuallyWithin is eventually with a deadline of its own.
func eventuallyWithin(t *testing.T, limit time.Duration, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistrationOverHTTP(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	body := edgetest.JSON(t, f.Registration(t))

	first := e.Post(t, "/api/v1/registrations", "parent-1", body)
	if first.Status != http.StatusAccepted {
		t.Fatalf("POST /api/v1/registrations = %d %s, want 202", first.Status, first.Body)
	}
	var accepted receiptBody
	first.Decode(t, &accepted)
	if enrolment.NumberKind(accepted.ReceiptNumber) != enrolment.KindRegistration {
		t.Errorf("receiptNumber = %q, want a registration number", accepted.ReceiptNumber)
	}
	if accepted.Status != "accepted" || accepted.StatusLabel != "已受理" || accepted.Duplicate {
		t.Errorf("body = %+v, want status accepted labelled 已受理 and no duplicate", accepted)
	}
	if contentType := first.Header.Get("Content-Type"); contentType != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", contentType)
	}

	again := e.Post(t, "/api/v1/registrations", "parent-1", body)
	if again.Status != http.StatusOK {
		t.Fatalf("repeated POST = %d %s, want 200", again.Status, again.Body)
	}
	var duplicate receiptBody
	again.Decode(t, &duplicate)
	if duplicate.ReceiptNumber != accepted.ReceiptNumber || !duplicate.Duplicate {
		t.Errorf("repeated body = %+v, want the same number %s with duplicate true", duplicate, accepted.ReceiptNumber)
	}

	receipt := e.Get(t, "/api/v1/receipts/"+accepted.ReceiptNumber, "parent-1")
	if receipt.Status != http.StatusOK {
		t.Errorf("GET own receipt = %d %s, want 200", receipt.Status, receipt.Body)
	}
	if cache := receipt.Header.Get("Cache-Control"); cache != "no-store" {
		t.Errorf("receipt Cache-Control = %q, want no-store", cache)
	}
	var status struct {
		Kind                  string `json:"kind"`
		Status                string `json:"status"`
		ResidenceDistrictCode string `json:"residenceDistrictCode"`
		HukouDistrictCode     string `json:"hukouDistrictCode"`
	}
	receipt.Decode(t, &status)
	if status.Kind != "registration" || status.Status != "accepted" {
		t.Errorf("receipt = %+v, want an accepted registration", status)
	}
	if status.ResidenceDistrictCode != edgetest.HomeDistrict || status.HukouDistrictCode != edgetest.HomeDistrict {
		t.Errorf("receipt districts = %+v, want %s for both", status, edgetest.HomeDistrict)
	}
	foreign := e.Get(t, "/api/v1/receipts/"+accepted.ReceiptNumber, "parent-2")
	edgetest.CheckAPIError(t, foreign.Error(t), http.StatusNotFound, "receipt_not_found", "")

	var mine struct {
		Receipts []struct {
			ReceiptNumber string `json:"receiptNumber"`
		} `json:"receipts"`
	}
	e.Get(t, "/api/v1/me/receipts", "parent-1").Decode(t, &mine)
	if len(mine.Receipts) != 1 || mine.Receipts[0].ReceiptNumber != accepted.ReceiptNumber {
		t.Errorf("GET /api/v1/me/receipts = %+v, want only %s", mine, accepted.ReceiptNumber)
	}
}

func TestApplicationOverHTTP(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	home := f.Address(t, edgetest.HomeDistrict, 1)
	var registered receiptBody
	e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t))).Decode(t, &registered)

	optionsPath := "/api/v1/registrations/" + registered.ReceiptNumber + "/options?district=" + edgetest.HomeDistrict
	options := e.Get(t, optionsPath, "parent-1")
	if options.Status != http.StatusOK {
		t.Fatalf("GET options = %d %s, want 200", options.Status, options.Body)
	}
	var body struct {
		CategoryCode string `json:"categoryCode"`
		MaxChoices   int    `json:"maxChoices"`
		Open         bool   `json:"open"`
		Campuses     []struct {
			ID int64 `json:"id"`
		} `json:"campuses"`
		Form struct {
			Version int             `json:"version"`
			Body    json.RawMessage `json:"body"`
		} `json:"form"`
	}
	options.Decode(t, &body)
	if body.Form.Version != 1 || len(body.Form.Body) == 0 {
		t.Errorf("options form = version %d, %d bytes; want the city-wide version 1", body.Form.Version, len(body.Form.Body))
	}
	if body.CategoryCode != enrolment.CategoryDistrictHukouResident || !body.Open || body.MaxChoices != 3 {
		t.Errorf("options = %+v, want an open district_hukou_resident entry with 3 choices", body)
	}
	if len(body.Campuses) != len(home.Campuses) || body.Campuses[0].ID != home.Campuses[0] {
		t.Errorf("options list campuses %+v, want %v", body.Campuses, home.Campuses)
	}
	foreignOptions := e.Get(t, optionsPath, "parent-2")
	edgetest.CheckAPIError(t, foreignOptions.Error(t), http.StatusNotFound, "receipt_not_found", "")

	application := edgetest.Application(registered.ReceiptNumber, home, enrolment.CategoryDistrictHukouResident)
	applied := e.Post(t, "/api/v1/applications", "parent-1", edgetest.JSON(t, application))
	if applied.Status != http.StatusAccepted {
		t.Fatalf("POST /api/v1/applications = %d %s, want 202", applied.Status, applied.Body)
	}
	var receipt receiptBody
	applied.Decode(t, &receipt)
	if enrolment.NumberKind(receipt.ReceiptNumber) != enrolment.KindApplication {
		t.Errorf("receiptNumber = %q, want an application number", receipt.ReceiptNumber)
	}
	foreign := e.Post(t, "/api/v1/applications", "parent-2", edgetest.JSON(t, application))
	edgetest.CheckAPIError(t, foreign.Error(t), http.StatusNotFound, "receipt_not_found", "")
}

func TestCatalogueOverHTTP(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	home := f.Address(t, edgetest.HomeDistrict, 1)

	var catalogue struct {
		Year struct {
			Year             int  `json:"year"`
			RegistrationOpen bool `json:"registrationOpen"`
			ApplicationOpen  bool `json:"applicationOpen"`
		} `json:"year"`
		Districts []struct {
			Code string `json:"code"`
		} `json:"districts"`
		Forms map[string]struct {
			Version int `json:"version"`
		} `json:"forms"`
	}
	e.Get(t, "/api/v1/catalogue", "").Decode(t, &catalogue)
	if catalogue.Year.Year != f.Year.Year || !catalogue.Year.RegistrationOpen || !catalogue.Year.ApplicationOpen {
		t.Errorf("year = %+v, want %d with both windows open", catalogue.Year, f.Year.Year)
	}
	if len(catalogue.Districts) != 16 {
		t.Errorf("%d districts, want Shanghai's 16", len(catalogue.Districts))
	}
	if catalogue.Forms["registration"].Version != 1 || catalogue.Forms["application"].Version != 1 {
		t.Errorf("forms = %+v, want version 1 of both", catalogue.Forms)
	}

	streets := e.Get(t, "/api/v1/districts/"+edgetest.HomeDistrict+"/streets", "")
	if streets.Status != http.StatusOK || !strings.Contains(string(streets.Body), home.Street) {
		t.Errorf("GET streets = %d %.200s, want 200 listing %s", streets.Status, streets.Body, home.Street)
	}
	committees := e.Get(t, "/api/v1/streets/"+home.Street+"/committees", "")
	if committees.Status != http.StatusOK || !strings.Contains(string(committees.Body), home.Committee) {
		t.Errorf("GET committees = %d %.200s, want 200 listing %s", committees.Status, committees.Body, home.Committee)
	}
	var entries []struct {
		CategoryCode string `json:"categoryCode"`
		MaxChoices   int    `json:"maxChoices"`
		Open         bool   `json:"open"`
	}
	e.Get(t, "/api/v1/districts/"+edgetest.HomeDistrict+"/entries", "").Decode(t, &entries)
	if len(entries) != 12 {
		t.Errorf("%d entries in the home district, want 12", len(entries))
	}
	for _, entry := range entries {
		if !entry.Open || entry.MaxChoices != 3 || entry.CategoryCode == enrolment.CategoryDistrictHukou {
			t.Errorf("entry %+v, want an open entry with 3 choices of a category other than district_hukou", entry)
		}
	}

	var matching struct {
		Campuses []struct {
			ID int64 `json:"id"`
		} `json:"campuses"`
	}
	e.Get(t, "/api/v1/matching?district="+home.District+"&street="+home.Street+"&committee="+home.Committee, "").Decode(t, &matching)
	if len(matching.Campuses) != len(home.Campuses) {
		t.Errorf("matching lists %d campuses, want %d", len(matching.Campuses), len(home.Campuses))
	}

	tests := []struct {
		path   string
		status int
		code   string
		field  string
	}{
		{"/api/v1/districts/999999/streets", http.StatusNotFound, "district_not_found", ""},
		{"/api/v1/districts/999999/entries", http.StatusNotFound, "district_not_found", ""},
		{"/api/v1/streets/999999999/committees", http.StatusNotFound, "street_not_found", ""},
		{"/api/v1/matching?district=" + edgetest.OtherDistrict + "&street=" + home.Street, http.StatusBadRequest, "division_mismatch", "street"},
		{"/api/v1/matching?district=" + home.District + "&street=" + home.Street + "&committee=310105001001", http.StatusBadRequest, "division_mismatch", "committee"},
	}
	for _, test := range tests {
		t.Run(test.path, func(t *testing.T) {
			response := e.Get(t, test.path, "")
			edgetest.CheckAPIError(t, response.Error(t), test.status, test.code, test.field)
		})
	}
}

// TestDuplicateShowsCurrentStatus submits a registration again after it has
// moved on: the answer is the first receipt with its status now.
func TestDuplicateShowsCurrentStatus(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	body := edgetest.JSON(t, f.Registration(t))

	var first receiptBody
	e.Post(t, "/api/v1/registrations", "parent-1", body).Decode(t, &first)
	key := e.Keys.Receipt(first.ReceiptNumber)
	if err := e.Redis.Client.Do(context.Background(), e.Redis.Client.B().Hset().Key(key).FieldValue().FieldValue(enrolment.FieldStatus, enrolment.StatusVerified).Build()).Error(); err != nil {
		t.Fatal(err)
	}

	response := e.Post(t, "/api/v1/registrations", "parent-1", body)
	var again receiptBody
	response.Decode(t, &again)
	if response.Status != http.StatusOK || !again.Duplicate || again.ReceiptNumber != first.ReceiptNumber {
		t.Fatalf("second submission = %d %+v, want 200, duplicate, %s", response.Status, again, first.ReceiptNumber)
	}
	if again.Status != enrolment.StatusVerified || again.StatusLabel != "已核验" {
		t.Errorf("status = %q %q, want verified 已核验", again.Status, again.StatusLabel)
	}
}
