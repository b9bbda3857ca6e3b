package submit_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// registered registers a new child whose hukou and home are at one address
// in the home district, and returns its number and home address.
func (h *harness) registered(t *testing.T, subject string) (string, edgetest.Address) {
	t.Helper()
	home := h.fixture.Address(t, edgetest.HomeDistrict, 2)
	return h.register(t, subject, h.fixture.Registration(t)).Number, home
}

func (h *harness) apply(t *testing.T, subject string, request *precheck.ApplicationRequest) (string, bool) {
	t.Helper()
	receipt, err := h.service.Apply(context.Background(), subject, request)
	if err != nil {
		t.Fatalf("Apply returned %v", err)
	}
	return receipt.Number, receipt.Duplicate
}

func TestApplyAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	number, home := h.registered(t, "parent-1")

	request := edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident)
	request.Extra = map[string]any{"note": "对花生过敏"}
	application, duplicate := h.apply(t, "parent-1", request)

	if kind := enrolment.NumberKind(application); kind != enrolment.KindApplication {
		t.Errorf("application number %q is not an application number", application)
	}
	if prefix := strconv.Itoa(h.fixture.Year.Year) + edgetest.HomeDistrict[4:]; !strings.HasPrefix(application, prefix) {
		t.Errorf("application number %q does not start with the year and district digits %s", application, prefix)
	}
	if duplicate {
		t.Error("a first application is marked duplicate")
	}
	if got := h.streamLength(t); got != 2 {
		t.Errorf("stream length = %d, want 2", got)
	}
	status, err := h.service.ReceiptStatus(context.Background(), "parent-1", application)
	if err != nil {
		t.Fatalf("ReceiptStatus returned %v", err)
	}
	if status.Kind != enrolment.KindApplication || status.RegistrationNumber != number || status.DistrictCode != edgetest.HomeDistrict {
		t.Errorf("status = %+v, want an application of %s in %s", status, number, edgetest.HomeDistrict)
	}
	if len(status.Choices) != len(request.CampusChoices) {
		t.Fatalf("status choices = %+v, want %d", status.Choices, len(request.CampusChoices))
	}
	for i, choice := range status.Choices {
		if choice.CampusID != request.CampusChoices[i] || choice.KindergartenName == "" {
			t.Errorf("choice %d = %+v, want campus %d with its kindergarten's name", i+1, choice, request.CampusChoices[i])
		}
	}
	entries := h.stream(t)
	record, err := enrolment.DecodeApplication(entries[1].FieldValues[enrolment.StreamFieldNumber], []byte(entries[1].FieldValues[enrolment.StreamFieldBody]))
	if err != nil {
		t.Fatalf("the stream entry does not decode: %v", err)
	}
	if record.RegistrationNumber != number || record.CategoryCode != enrolment.CategoryDistrictHukouResident {
		t.Errorf("record = %+v, want registration %s and category district_hukou_resident", record, number)
	}
	if strings.Contains(entries[1].FieldValues[enrolment.StreamFieldBody], "花生") {
		t.Error("the stream entry contains the note in plain text")
	}
	values, err := h.fixture.Keyring.Open(record.SealedFormValues, enrolment.ContextApplicationForm)
	if err != nil {
		t.Fatalf("the sealed form values do not open: %v", err)
	}
	if !strings.Contains(string(values), "对花生过敏") {
		t.Errorf("the sealed form values %s do not hold the note", values)
	}
}

func TestApplyDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	number, home := h.registered(t, "parent-1")
	request := edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident)
	first, _ := h.apply(t, "parent-1", request)

	again, duplicate := h.apply(t, "parent-1", request)

	if again != first || !duplicate {
		t.Errorf("second application = %q duplicate %t, want %q duplicate", again, duplicate, first)
	}
	if got := h.streamLength(t); got != 2 {
		t.Errorf("stream length = %d, want 2", got)
	}
}

func TestApplyOtherParent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	number, home := h.registered(t, "parent-1")

	_, err := h.service.Apply(context.Background(), "parent-2", edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident))

	edgetest.CheckError(t, err, http.StatusNotFound, "receipt_not_found", "")
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want only the registration", got)
	}
	if _, err := h.service.RegistrationFacts(context.Background(), h.service.OwnerIndex("parent-2"), number); apierror.As(err) == nil || apierror.As(err).Status != http.StatusNotFound {
		t.Errorf("RegistrationFacts for another parent returned %v, want 404", err)
	}
}

func TestApplyRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	other := h.fixture.Address(t, edgetest.OtherDistrict, 1)
	tests := []struct {
		name   string
		edit   func(r *precheck.ApplicationRequest)
		status int
		code   string
		field  string
	}{
		{"category mismatch", func(r *precheck.ApplicationRequest) { r.CategoryCode = enrolment.CategoryResidencePermit },
			http.StatusBadRequest, "category_inconsistent", "categoryCode"},
		{"campus not matched", func(r *precheck.ApplicationRequest) { r.CampusChoices = []int64{other.Campuses[0]} },
			http.StatusBadRequest, "campus_not_matched", "campusChoices"},
		{"more than max choices", func(r *precheck.ApplicationRequest) { r.CampusChoices = []int64{1, 2, 3, 4} },
			http.StatusBadRequest, "too_many_items", "campusChoices"},
		{"district not eligible", func(r *precheck.ApplicationRequest) { r.DistrictCode = edgetest.OtherDistrict },
			http.StatusBadRequest, "district_not_eligible", "districtCode"},
		{"malformed registration number", func(r *precheck.ApplicationRequest) { r.RegistrationNumber = "2027-0001" },
			http.StatusBadRequest, "invalid_registration_number", "registrationNumber"},
		{"unknown registration number", func(r *precheck.ApplicationRequest) {
			r.RegistrationNumber = enrolment.FormatRegistrationNumber(h.fixture.Year.Year, 9999999)
		}, http.StatusNotFound, "receipt_not_found", ""},
		{"application number instead", func(r *precheck.ApplicationRequest) {
			r.RegistrationNumber = enrolment.FormatApplicationNumber(h.fixture.Year.Year, edgetest.HomeDistrict, 1)
		}, http.StatusBadRequest, "invalid_registration_number", "registrationNumber"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			number, home := h.registered(t, "parent-1")
			request := edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident)
			test.edit(request)
			before := h.streamLength(t)

			receipt, err := h.service.Apply(context.Background(), "parent-1", request)

			edgetest.CheckError(t, err, test.status, test.code, test.field)
			if receipt.Number != "" {
				t.Errorf("receipt %q returned with an error", receipt.Number)
			}
			if got := h.streamLength(t); got != before {
				t.Errorf("stream length = %d, want %d as before", got, before)
			}
		})
	}
}

// TestApplySecondDistrict applies for a child whose hukou is in one district
// and home in another, first in the hukou district and then in the home
// district: a child applies in one district only.
func TestApplySecondDistrict(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	home := h.fixture.Address(t, edgetest.HomeDistrict, 1)
	other := h.fixture.Address(t, edgetest.OtherDistrict, 1)
	registration := h.fixture.Registration(t)
	registration.Residence.DistrictCode, registration.Residence.StreetCode, registration.Residence.CommitteeCode = other.District, other.Street, other.Committee
	registration.Residence.AtHukouAddress = false
	number := h.register(t, "parent-1", registration).Number
	first, _ := h.apply(t, "parent-1", edgetest.Application(number, home, enrolment.CategoryDistrictHukouLivesElsewhere))

	_, err := h.service.Apply(context.Background(), "parent-1", edgetest.Application(number, other, enrolment.CategoryDistrictResidentHukouElsewhere))

	edgetest.CheckError(t, err, http.StatusConflict, "already_applied", "")
	apiErr := apierror.As(err)
	if got := apiErr.Detail["applicationNumber"]; got != first {
		t.Errorf("detail.applicationNumber = %q, want %q", got, first)
	}
	if got := apiErr.Detail["districtCode"]; got != edgetest.HomeDistrict {
		t.Errorf("detail.districtCode = %q, want %q", got, edgetest.HomeDistrict)
	}
	if !strings.Contains(apiErr.Message, "徐汇区") {
		t.Errorf("message %q does not name the district of the first application", apiErr.Message)
	}
	if got := h.streamLength(t); got != 2 {
		t.Errorf("stream length = %d, want 2", got)
	}
}

func TestApplyChangedChoices(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	number, home := h.registered(t, "parent-1")
	request := edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident)
	first, _ := h.apply(t, "parent-1", request)

	request.CampusChoices = []int64{home.Campuses[1]}
	_, err := h.service.Apply(context.Background(), "parent-1", request)

	edgetest.CheckError(t, err, http.StatusConflict, "already_applied", "")
	apiErr := apierror.As(err)
	if got := apiErr.Detail["applicationNumber"]; got != first {
		t.Errorf("detail.applicationNumber = %q, want %q", got, first)
	}
	if got, ok := apiErr.Detail["districtCode"]; ok {
		t.Errorf("detail.districtCode = %q for a conflict in the same district, want none", got)
	}
}

func TestRegistrationFactsCarryAddresses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	number := h.register(t, "parent-1", request).Number

	facts, err := h.service.RegistrationFacts(context.Background(), h.service.OwnerIndex("parent-1"), number)
	if err != nil {
		t.Fatalf("RegistrationFacts returned %v", err)
	}
	if facts.ResidenceAddress != request.Residence.Address {
		t.Errorf("residence address = %q, want %q", facts.ResidenceAddress, request.Residence.Address)
	}
	if facts.HukouAddress != request.Child.Hukou.Address {
		t.Errorf("hukou address = %q, want %q", facts.HukouAddress, request.Child.Hukou.Address)
	}

	fields, err := h.redis.Client.Do(context.Background(),
		h.redis.Client.B().Hget().Key(h.keys.Receipt(number)).Field("facts").Build()).ToString()
	if err != nil {
		t.Fatalf("read the receipt's facts: %v", err)
	}
	if strings.Contains(fields, "漕溪北路") {
		t.Errorf("the receipt's facts contain the address in plain text: %s", fields)
	}
}

// TestOwnerReceiptsNameTheChild checks that the parent's list names the
// child of each registration and application, and the status page the
// child of a registration, so a family with twins can tell them apart.
func TestOwnerReceiptsNameTheChild(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	registration := h.fixture.Registration(t)
	number := h.register(t, "parent-1", registration).Number
	home := h.fixture.Address(t, edgetest.HomeDistrict, 2)
	application, _ := h.apply(t, "parent-1", edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident))
	twin := h.fixture.Registration(t)
	twin.Child.Name = "张小亮"
	twinNumber := h.register(t, "parent-1", twin).Number

	statuses, err := h.service.OwnerReceipts(context.Background(), "parent-1")
	if err != nil {
		t.Fatalf("OwnerReceipts returned %v", err)
	}
	want := map[string]string{number: registration.Child.Name, application: registration.Child.Name, twinNumber: "张小亮"}
	for _, status := range statuses {
		if status.ChildName != want[status.ReceiptNumber] {
			t.Errorf("%s lists the child %q, want %q", status.ReceiptNumber, status.ChildName, want[status.ReceiptNumber])
		}
	}
	if len(statuses) != len(want) {
		t.Errorf("listed %d receipts, want %d", len(statuses), len(want))
	}
	status, err := h.service.ReceiptStatus(context.Background(), "parent-1", twinNumber)
	if err != nil || status.ChildName != "张小亮" {
		t.Errorf("the twin's status = %+v, %v; want the child 张小亮", status, err)
	}
}
