package submit_test

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// FuzzDecodeRegistration sends arbitrary bytes as the body of POST
// /api/v1/registrations through the decoder and the pre-check, as the
// handler does before it calls Redis. Every rejection must be an
// *apierror.Error with a 4xx status, a code and a Chinese message, and
// must encode as the JSON error body. The seed corpus is in
// testdata/fuzz/FuzzDecodeRegistration as well as the f.Add calls.
func FuzzDecodeRegistration(f *testing.F) {
	fixture := edgetest.Shared(f)
	now := time.Now()
	valid := fixture.Registration(f)
	valid.Extra = map[string]any{"birthProvince": "上海市"}
	f.Add(edgetest.JSON(f, valid))
	f.Add(edgetest.JSON(f, fixture.OtherProvinceRegistration(f)))

	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBody(body)

		var request precheck.RegistrationRequest
		err := api.DecodeJSON(ctx, submit.MaxSubmissionBytes, &request)
		if err == nil {
			var registration *precheck.Registration
			registration, err = precheck.CheckRegistration(&request, fixture.Catalogue, now)
			if err == nil {
				checkRegistration(t, registration)
				return
			}
		}

		apiErr := apierror.As(err)
		if apiErr == nil {
			t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
		}
		if apiErr.Status < 400 || apiErr.Status > 499 {
			t.Fatalf("status %d for %v, want 4xx", apiErr.Status, apiErr)
		}
		if apiErr.Code == "" || !edgetest.HasHan(apiErr.Message) {
			t.Fatalf("error %+v lacks a code or a Chinese message", apiErr)
		}
		api.WriteError(ctx, err)
		if status := ctx.Response.StatusCode(); status != apiErr.Status {
			t.Fatalf("WriteError wrote status %d, want %d", status, apiErr.Status)
		}
		if written := ctx.Response.Body(); !json.Valid(written) || !utf8.Valid(written) {
			t.Fatalf("WriteError wrote a body that is not valid JSON: %q", written)
		}
	})
}

// checkRegistration checks what an accepted registration must hold.
func checkRegistration(t *testing.T, r *precheck.Registration) {
	t.Helper()
	if !utf8.ValidString(r.Child.Name.Text) || r.Child.Name.Text == "" {
		t.Fatalf("accepted child name %q", r.Child.Name.Text)
	}
	if len(r.Guardians) == 0 || len(r.Guardians) > 2 {
		t.Fatalf("accepted %d guardians", len(r.Guardians))
	}
	if r.Residence.District == "" || r.Residence.Street == "" {
		t.Fatalf("accepted residence %+v without district or street", r.Residence)
	}
	if len(r.Facts.CandidateCategories(r.Residence.District)) == 0 {
		t.Fatalf("accepted household %+v that may apply in no category of its home district", r.Facts)
	}
}
