package precheck_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/upload"
)

func fileID(n int) string { return strings.Repeat(string(rune('a'+n)), 32) }

func uploaded(code string, n int) precheck.CertificateRequest {
	return precheck.CertificateRequest{Type: code, Source: "upload", FileID: fileID(n)}
}

func TestFormCertificatesIndexed(t *testing.T) {
	c := edgetest.Shared(t).CertificateCatalogue(t)
	form, ok := c.EntryForm(enrolment.KindApplication, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok {
		t.Fatal("no form for the home district's entry")
	}
	want := []catalogue.Certificate{
		{Code: "property_certificate", Name: "不动产权证书", Required: true, AcceptedTypes: []string{"jpg", "png", "pdf"}, MaxSizeKB: 5120, MaxCount: 2},
		{Code: "vaccination_record", Name: "预防接种证", AcceptedTypes: []string{"jpg"}, MaxSizeKB: 2048, MaxCount: 1},
	}
	if diff := cmp.Diff(want, form.Certificates); diff != "" {
		t.Errorf("certificates differ (-want +got):\n%s", diff)
	}
}

func TestCheckApplicationCertificates(t *testing.T) {
	f := edgetest.Shared(t)
	c := edgetest.Shared(t).CertificateCatalogue(t)
	home := f.Address(t, edgetest.HomeDistrict, 2)
	facts := factsOf(t, f.Registration(t))

	cases := []struct {
		name      string
		files     []precheck.CertificateRequest
		wantCode  string
		wantField string
	}{
		{name: "required one file", files: []precheck.CertificateRequest{uploaded("property_certificate", 0)}},
		{name: "every file allowed", files: []precheck.CertificateRequest{
			uploaded("property_certificate", 0), uploaded("property_certificate", 1), uploaded("vaccination_record", 2),
		}},
		{name: "required missing", files: []precheck.CertificateRequest{uploaded("vaccination_record", 0)},
			wantCode: "missing_certificate", wantField: "certificates.property_certificate"},
		{name: "nothing uploaded", wantCode: "missing_certificate", wantField: "certificates.property_certificate"},
		{name: "more files than allowed", files: []precheck.CertificateRequest{
			uploaded("property_certificate", 0), uploaded("property_certificate", 1), uploaded("property_certificate", 2),
		}, wantCode: "too_many_items", wantField: "certificates[2]"},
		{name: "more files than the form takes", files: []precheck.CertificateRequest{
			uploaded("property_certificate", 0), uploaded("property_certificate", 1), uploaded("vaccination_record", 2), uploaded("vaccination_record", 3),
		}, wantCode: "too_many_items", wantField: "certificates"},
		{name: "certificate not on the form", files: []precheck.CertificateRequest{uploaded("birth_certificate", 0)},
			wantCode: "unknown_certificate", wantField: "certificates[0].type"},
		{name: "fetched certificate", files: []precheck.CertificateRequest{{Type: "property_certificate", Source: "prefill", PrefillToken: "x"}},
			wantCode: "invalid_choice", wantField: "certificates[0].source"},
		{name: "malformed file ID", files: []precheck.CertificateRequest{{Type: "property_certificate", Source: "upload", FileID: "../x"}},
			wantCode: "invalid_file_id", wantField: "certificates[0].fileId"},
		{name: "same file twice", files: []precheck.CertificateRequest{uploaded("property_certificate", 0), uploaded("vaccination_record", 0)},
			wantCode: "duplicate_file", wantField: "certificates[1].fileId"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			request := edgetest.Application(facts.Number, home, enrolment.CategoryDistrictHukouResident)
			request.SchemaVersion = edgetest.CertificateFormVersion
			request.Certificates = test.files

			got, err := precheck.CheckApplication(request, facts, c, time.Now())
			if test.wantCode != "" {
				edgetest.CheckError(t, err, http.StatusBadRequest, test.wantCode, test.wantField)
				return
			}
			if err != nil {
				t.Fatalf("CheckApplication returned %v", err)
			}
			if diff := cmp.Diff(test.files, got.Certificates); diff != "" {
				t.Errorf("certificates differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckApplicationCertificatesWithoutForm(t *testing.T) {
	f := edgetest.Shared(t)
	home := f.Address(t, edgetest.HomeDistrict, 1)
	facts := factsOf(t, f.Registration(t))
	request := edgetest.Application(facts.Number, home, enrolment.CategoryDistrictHukouResident)
	request.Certificates = []precheck.CertificateRequest{uploaded("property_certificate", 0)}

	got, err := precheck.CheckApplication(request, facts, f.Catalogue, time.Now())
	if got != nil {
		t.Errorf("CheckApplication returned %+v with its error", got)
	}
	edgetest.CheckError(t, err, http.StatusBadRequest, "unknown_certificate", "certificates[0].type")
}

func TestCheckCertificateFiles(t *testing.T) {
	c := edgetest.Shared(t).CertificateCatalogue(t)
	form, ok := c.EntryForm(enrolment.KindApplication, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok {
		t.Fatal("no form for the home district's entry")
	}
	infos := map[string]upload.Info{
		fileID(0): {ContentType: "application/pdf", Size: 5 << 20},
		fileID(1): {ContentType: "image/png", Size: 1000},
		fileID(2): {ContentType: "image/jpeg", Size: 2048*1024 + 1},
		fileID(3): {ContentType: "image/jpeg", Size: 2048 * 1024},
	}
	info := func(id string) (upload.Info, bool) {
		described, ok := infos[id]
		return described, ok
	}

	cases := []struct {
		name      string
		files     []precheck.CertificateRequest
		wantCode  string
		wantField string
	}{
		{name: "within the limits", files: []precheck.CertificateRequest{uploaded("property_certificate", 0), uploaded("vaccination_record", 3)}},
		{name: "file without info", files: []precheck.CertificateRequest{uploaded("vaccination_record", 9)}},
		{name: "type not accepted", files: []precheck.CertificateRequest{uploaded("property_certificate", 0), uploaded("vaccination_record", 1)},
			wantCode: "file_type_not_accepted", wantField: "certificates[1].fileId"},
		{name: "over the size limit", files: []precheck.CertificateRequest{uploaded("vaccination_record", 2)},
			wantCode: "file_too_large", wantField: "certificates[0].fileId"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			err := precheck.CheckCertificateFiles(form, test.files, info)
			if test.wantCode == "" {
				if err != nil {
					t.Errorf("CheckCertificateFiles returned %v", err)
				}
				return
			}
			edgetest.CheckError(t, err, http.StatusBadRequest, test.wantCode, test.wantField)
		})
	}
}
