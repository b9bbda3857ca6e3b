package edgetest

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// CertificateFormVersion is the version of CertificateForm.
const CertificateFormVersion = 4

// CertificateForm is an application form with a required certificate of up
// to two files and an optional one of one file, as the back office's form
// designer publishes it.
const CertificateForm = `{"title": "入园报名", "sections": [
  {"key": "entry", "title": "报名入口", "fields": [{"key": "entry", "label": "报名区与报名类别", "type": "entry", "required": true}]},
  {"key": "choices", "title": "志愿", "fields": [{"key": "campusChoices", "label": "志愿幼儿园", "type": "campusChoices", "required": true}]},
  {"key": "designed1", "title": "住房材料", "fields": [], "certificates": [
    {"code": "property_certificate", "name": "不动产权证书", "required": true, "acceptedTypes": ["jpg", "png", "pdf"], "maxSizeKB": 5120, "maxCount": 2},
    {"code": "vaccination_record", "name": "预防接种证", "required": false, "acceptedTypes": ["jpg"], "maxSizeKB": 2048, "maxCount": 1}
  ]}
]}`

// CertificateCatalogue returns the fixture's catalogue with CertificateForm
// as the home district's application form for the district_hukou_resident
// entry.
func (f *Fixture) CertificateCatalogue(t testing.TB) *catalogue.Catalogue {
	t.Helper()
	return f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Forms = append(s.Forms, snapshot.Form{
			Kind: enrolment.KindApplication, DistrictCode: HomeDistrict, CategoryCode: enrolment.CategoryDistrictHukouResident,
			Version: CertificateFormVersion, Body: json.RawMessage(CertificateForm),
		})
	})
}

// PostUpload uploads data as a file through the edge's upload route as the
// parent subject, and returns the file ID.
func PostUpload(t testing.TB, uploads *prefill.Uploads, subject string, data []byte) string {
	t.Helper()
	var body bytes.Buffer
	writer := multipart.NewWriter(&body)
	part, err := writer.CreateFormFile("file", "证照.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(http.MethodPost)
	ctx.Request.SetRequestURI("/api/v1/uploads")
	ctx.Request.Header.SetContentType(writer.FormDataContentType())
	ctx.Request.SetBody(body.Bytes())
	api.SetSubject(ctx, subject)
	if err := uploads.PostUpload(ctx); err != nil {
		t.Fatalf("PostUpload returned %v", err)
	}
	var uploaded struct {
		FileID string `json:"fileId"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &uploaded); err != nil {
		t.Fatalf("upload response %s: %v", ctx.Response.Body(), err)
	}
	return uploaded.FileID
}

// PNG returns a small valid PNG image, as a certificate photo for upload
// tests: uploads are checked by their content, not only their first bytes.
func PNG(t testing.TB) []byte {
	t.Helper()
	picture := image.NewRGBA(image.Rect(0, 0, 24, 16))
	picture.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buffer bytes.Buffer
	if err := png.Encode(&buffer, picture); err != nil {
		t.Fatalf("encode PNG: %v", err)
	}
	return buffer.Bytes()
}
