package submit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

func TestApplyWithCertificates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	store := catalogue.NewStore(h.redis.Client, h.keys)
	store.Set(h.fixture.CertificateCatalogue(t))
	h.service.Catalogue = store
	uploads := &prefill.Uploads{Dir: t.TempDir(), Keyring: h.fixture.Keyring}
	h.service.UploadExists = uploads.Exists
	h.service.UploadInfo = uploads.Info

	png := edgetest.PNG(t)
	first, second := edgetest.PostUpload(t, uploads, "parent-1", png), edgetest.PostUpload(t, uploads, "parent-1", png)
	number, home := h.registered(t, "parent-1")
	request := edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident)
	request.SchemaVersion = edgetest.CertificateFormVersion
	request.Certificates = []precheck.CertificateRequest{
		{Type: "property_certificate", Source: "upload", FileID: first},
		{Type: "property_certificate", Source: "upload", FileID: second},
	}

	t.Run("another parent's file", func(t *testing.T) {
		otherNumber, otherHome := h.registered(t, "parent-2")
		other := edgetest.Application(otherNumber, otherHome, enrolment.CategoryDistrictHukouResident)
		other.SchemaVersion = edgetest.CertificateFormVersion
		other.Certificates = request.Certificates[:1]
		_, err := h.service.Apply(context.Background(), "parent-2", other)
		edgetest.CheckError(t, err, http.StatusBadRequest, "invalid_file_id", "certificates[0].fileId")
	})

	t.Run("type the certificate does not accept", func(t *testing.T) {
		withPNG := *request
		withPNG.Certificates = append(slices.Clone(request.Certificates), precheck.CertificateRequest{
			Type: "vaccination_record", Source: "upload", FileID: edgetest.PostUpload(t, uploads, "parent-1", png),
		})
		_, err := h.service.Apply(context.Background(), "parent-1", &withPNG)
		edgetest.CheckError(t, err, http.StatusBadRequest, "file_type_not_accepted", "certificates[2].fileId")
	})

	application, _ := h.apply(t, "parent-1", request)
	var record enrolment.ApplicationRecord
	for _, entry := range h.stream(t) {
		if entry.FieldValues[enrolment.StreamFieldNumber] == application {
			decoded, err := enrolment.DecodeApplication(application, []byte(entry.FieldValues[enrolment.StreamFieldBody]))
			if err != nil {
				t.Fatalf("the stream entry does not decode: %v", err)
			}
			record = decoded
		}
	}
	if strings.Contains(string(record.SealedFormValues), first) {
		t.Error("the stream entry contains a file ID in plain text")
	}
	values, err := h.fixture.Keyring.Open(record.SealedFormValues, enrolment.ContextApplicationForm)
	if err != nil {
		t.Fatalf("the sealed form values do not open: %v", err)
	}
	var form struct {
		Certificates []struct {
			Type   string `json:"type"`
			Source string `json:"source"`
			FileID string `json:"fileId"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal(values, &form); err != nil {
		t.Fatal(err)
	}
	if len(form.Certificates) != 2 || form.Certificates[0].FileID != first || form.Certificates[1].FileID != second {
		t.Errorf("sealed certificates = %+v, want the two uploaded files", form.Certificates)
	}
	for _, certificate := range form.Certificates {
		if certificate.Type != "property_certificate" || certificate.Source != "upload" {
			t.Errorf("sealed certificate = %+v, want an uploaded property_certificate", certificate)
		}
	}

	again, duplicate := h.apply(t, "parent-1", request)
	if again != application || !duplicate {
		t.Errorf("the same application again = %s (duplicate %v), want %s as a duplicate", again, duplicate, application)
	}
}
