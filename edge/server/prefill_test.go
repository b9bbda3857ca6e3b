package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/simulators"
	"github.com/sh-preschool/preschool/simulators/certificates"
	"github.com/sh-preschool/preschool/simulators/fault"
)

type prefillBody struct {
	Available    bool   `json:"available"`
	Message      string `json:"message"`
	Certificates []struct {
		Type         string `json:"type"`
		MaskedNumber string `json:"maskedNumber"`
		PrefillToken string `json:"prefillToken"`
	} `json:"certificates"`
}

// holderWithBirthCertificate returns a child's resident ID for which the
// certificate simulator has a birth certificate when has is true, or none
// when it is false.
func holderWithBirthCertificate(t *testing.T, has bool) string {
	t.Helper()
	birth := time.Date(2023, 10, 1, 0, 0, 0, 0, time.UTC)
	for sequence := range 500 {
		number := document.ValidResidentIDForTest("310104", birth, sequence, 'M')
		found := certificates.Lookup("resident_id", number, []string{"birth_certificate"})
		if (len(found) > 0) == has {
			return number
		}
	}
	t.Fatalf("none of 500 holders has birth certificate = %t", has)
	return ""
}

func prefillRequest(number string) []byte {
	return []byte(`{"documentType": "resident_id", "documentNumber": "` + number + `", "certificateTypes": ["birth_certificate"]}`)
}

func TestPrefillAvailable(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	number := holderWithBirthCertificate(t, true)

	response := e.Post(t, "/api/v1/prefill/certificates", "parent-1", prefillRequest(number))

	if response.Status != http.StatusOK {
		t.Fatalf("POST prefill = %d %s, want 200", response.Status, response.Body)
	}
	var body prefillBody
	response.Decode(t, &body)
	if !body.Available || len(body.Certificates) != 1 || body.Certificates[0].Type != "birth_certificate" || body.Certificates[0].PrefillToken == "" {
		t.Errorf("body = %+v, want one birth certificate", body)
	}
	if value, _ := metric(t, e, `edge_certificate_prefill_total{result="ok"}`); value != 1 {
		t.Errorf("edge_certificate_prefill_total{result=\"ok\"} = %g, want 1", value)
	}
}

// TestPrefillNoCertificate requests a certificate the holder does not have.
// The certificate API responds 404 not_found, which is a result and not a
// failure, so the page should learn that nothing was found rather than that
// the service is down.
func TestPrefillNoCertificate(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	number := holderWithBirthCertificate(t, false)

	response := e.Post(t, "/api/v1/prefill/certificates", "parent-1", prefillRequest(number))

	if response.Status != http.StatusOK {
		t.Fatalf("POST prefill = %d %s, want 200", response.Status, response.Body)
	}
	var body prefillBody
	response.Decode(t, &body)
	if !body.Available || len(body.Certificates) != 0 {
		t.Errorf("body = %+v, want available with no certificates", body)
	}
}

// TestCertificateBreaker makes every certificate API call fail and expects
// the fallback response, then the open breaker to respond without calling
// the API at all.
func TestCertificateBreaker(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{
		Simulators: simulators.Config{Certificates: fault.Config{FailureRate: 1}},
	})
	number := holderWithBirthCertificate(t, true)
	calls := func() int64 {
		stats, err := e.Simulators.Stats(simulators.ServiceCertificates)
		if err != nil {
			t.Fatal(err)
		}
		return stats.Paths["/v1/certificates/query"].Requests
	}

	// The breaker opens after 5 consecutive failures.
	for i := range 5 {
		response := e.Post(t, "/api/v1/prefill/certificates", "parent-1", prefillRequest(number))
		checkFallback(t, response)
		if got := calls(); got != int64(i+1) {
			t.Errorf("after prefill %d the API had %d calls, want %d", i+1, got, i+1)
		}
	}
	if value, _ := metric(t, e, `edge_breaker_state{name="certificates"}`); value != 2 {
		t.Errorf("edge_breaker_state = %g, want 2 (open)", value)
	}

	before := calls()
	for range 3 {
		checkFallback(t, e.Post(t, "/api/v1/prefill/certificates", "parent-1", prefillRequest(number)))
	}
	if after := calls(); after != before {
		t.Errorf("the open breaker let %d calls through to the API, want 0", after-before)
	}
	if value, _ := metric(t, e, `edge_certificate_prefill_total{result="fallback"}`); value != 8 {
		t.Errorf("edge_certificate_prefill_total{result=\"fallback\"} = %g, want 8", value)
	}
}

func checkFallback(t *testing.T, response *edgetest.Response) {
	t.Helper()
	if response.Status != http.StatusOK {
		t.Fatalf("POST prefill = %d %s, want 200", response.Status, response.Body)
	}
	var body prefillBody
	response.Decode(t, &body)
	if body.Available {
		t.Errorf("body = %+v, want available false", body)
	}
	if !edgetest.HasHan(body.Message) {
		t.Errorf("message %q is not in Chinese", body.Message)
	}
}

// TestCertificateBreakerRecovers lets the breaker close again once the API
// responds after the open period.
func TestCertificateBreakerRecovers(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{
		Simulators:     simulators.Config{Certificates: fault.Config{FailureRate: 1}},
		BreakerOpenFor: 200 * time.Millisecond,
	})
	number := holderWithBirthCertificate(t, true)
	for range 5 {
		checkFallback(t, e.Post(t, "/api/v1/prefill/certificates", "parent-1", prefillRequest(number)))
	}
	if err := e.Simulators.SetFault(simulators.ServiceCertificates, fault.Config{}); err != nil {
		t.Fatal(err)
	}

	eventually(t, "the breaker to let a call through", func() bool {
		var body prefillBody
		e.Post(t, "/api/v1/prefill/certificates", "parent-1", prefillRequest(number)).Decode(t, &body)
		return body.Available
	})
}

// upload posts one file as the multipart field "file".
func upload(t *testing.T, e *edgetest.Edge, subject, filename, contentType string, data []byte) *edgetest.Response {
	t.Helper()
	var body bytes.Buffer
	writer := multipart.NewWriter(&body)
	header := textproto.MIMEHeader{}
	header.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	header.Set("Content-Type", contentType)
	part, err := writer.CreatePart(header)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	return e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/uploads", Subject: subject, Body: body.Bytes(), ContentType: writer.FormDataContentType()})
}

func pngImage(t *testing.T) []byte {
	t.Helper()
	picture := image.NewRGBA(image.Rect(0, 0, 4, 4))
	picture.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buffer bytes.Buffer
	if err := png.Encode(&buffer, picture); err != nil {
		t.Fatal(err)
	}
	return buffer.Bytes()
}

func TestUploadPNG(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	data := pngImage(t)

	response := upload(t, e, "parent-1", "户口簿.png", "image/png", data)

	if response.Status != http.StatusCreated {
		t.Fatalf("POST /api/v1/uploads = %d %s, want 201", response.Status, response.Body)
	}
	var body struct {
		FileID      string `json:"fileId"`
		Size        int    `json:"size"`
		ContentType string `json:"contentType"`
	}
	response.Decode(t, &body)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(body.FileID) {
		t.Errorf("fileId = %q, want 32 lower-case hexadecimal digits", body.FileID)
	}
	if body.Size != len(data) || body.ContentType != "image/png" {
		t.Errorf("body = %+v, want size %d and image/png", body, len(data))
	}
	owner := f.Keyring.Index("owner", []byte("parent-1"))
	sealed, err := os.ReadFile(filepath.Join(e.UploadDir, hex.EncodeToString(owner), body.FileID+".sealed"))
	if err != nil {
		t.Fatalf("the upload is not stored: %v", err)
	}
	if bytes.Contains(sealed, data[8:]) {
		t.Error("the stored file contains the image in plain text")
	}
	opened, err := f.Keyring.Open(sealed, prefill.UploadContext(f.Keyring.Index("owner", []byte("parent-1"))))
	if err != nil {
		t.Fatalf("the stored file does not open with the owner's context: %v", err)
	}
	if !bytes.Equal(opened, data) {
		t.Error("the stored file opens to other bytes than were uploaded")
	}
}

func TestUploadRejected(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	tests := []struct {
		name     string
		subject  string
		filename string
		data     []byte
		status   int
		code     string
		field    string
	}{
		{"text renamed png", "parent-1", "photo.png", []byte("这不是图片，只是文字。\n"), http.StatusBadRequest, "unsupported_file_type", "file"},
		{"HTML renamed jpg", "parent-1", "photo.jpg", []byte("<html><script>alert(1)</script></html>"), http.StatusBadRequest, "unsupported_file_type", "file"},
		{"empty file", "parent-1", "empty.png", []byte{}, http.StatusBadRequest, "unsupported_file_type", "file"},
		{"over 5 MiB", "parent-1", "big.png", append(pngImage(t), make([]byte, 5<<20)...), http.StatusRequestEntityTooLarge, "file_too_large", ""},
		{"signed out", "", "photo.png", pngImage(t), http.StatusUnauthorized, "not_signed_in", ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			response := upload(t, e, test.subject, test.filename, "image/png", test.data)
			edgetest.CheckAPIError(t, response.Error(t), test.status, test.code, test.field)
		})
	}

	missing := e.Do(t, edgetest.Request{Method: "POST", Path: "/api/v1/uploads", Subject: "parent-1",
		Body: []byte("--x--\r\n"), ContentType: "multipart/form-data; boundary=x"})
	edgetest.CheckAPIError(t, missing.Error(t), http.StatusBadRequest, "missing_file", "file")
	entries, err := os.ReadDir(e.UploadDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("rejected uploads left %d entries in the upload directory", len(entries))
	}
}

func TestUploadSealedWithCloudDataKey(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{CloudCrypto: true})
	data := pngImage(t)

	response := upload(t, e, "parent-1", "户口簿.png", "image/png", data)
	if response.Status != http.StatusCreated {
		t.Fatalf("POST /api/v1/uploads = %d %s, want 201", response.Status, response.Body)
	}
	var body struct {
		FileID string `json:"fileId"`
	}
	response.Decode(t, &body)
	owner := f.Keyring.Index("owner", []byte("parent-1"))
	sealed, err := os.ReadFile(filepath.Join(e.UploadDir, hex.EncodeToString(owner), body.FileID+".sealed"))
	if err != nil {
		t.Fatalf("the upload is not stored: %v", err)
	}
	if keyID, err := crypto.SealedKeyID(sealed); err != nil || keyID != simulators.CryptoSealingKeyID {
		t.Errorf("the upload is sealed under %q (%v), want the service's master key %s", keyID, err, simulators.CryptoSealingKeyID)
	}
	if _, err := f.Keyring.Open(sealed, prefill.UploadContext(owner)); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Errorf("the keyring file's keys opening the upload = %v, want ErrUnknownKey", err)
	}

	// Another process opens the file by unwrapping its data key through
	// the service.
	service, err := crypto.NewCloudProvider(crypto.CloudConfig{
		URL: e.Simulators.CryptoURL, APIKey: simulators.DefaultCryptoAPIKey, SealingKeyID: simulators.CryptoSealingKeyID,
	})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := f.Keyring.WithDataKeys(context.Background(), service, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := reader.Open(sealed, prefill.UploadContext(owner))
	if err != nil {
		t.Fatalf("the upload does not open through the service: %v", err)
	}
	if !bytes.Equal(opened, data) {
		t.Error("the upload opens to other bytes than were uploaded")
	}
}
