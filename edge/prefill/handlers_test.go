package prefill_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// newContext returns a request context as a server would pass it, which
// also serves as a context.Context, for a POST with a body.
func newContext(contentType string, body []byte) *fasthttp.RequestCtx {
	var request fasthttp.Request
	request.Header.SetMethod(fasthttp.MethodPost)
	request.Header.SetContentType(contentType)
	request.SetBody(body)
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&request, nil, nil)
	return ctx
}

// post returns a request context with a JSON body, signed in as subject
// unless it is empty.
func post(subject, body string) *fasthttp.RequestCtx {
	ctx := newContext("application/json", []byte(body))
	if subject != "" {
		api.SetSubject(ctx, subject)
	}
	return ctx
}

type answer struct {
	Available    bool   `json:"available"`
	Message      string `json:"message"`
	Certificates []struct {
		Type         string `json:"type"`
		MaskedNumber string `json:"maskedNumber"`
		PrefillToken string `json:"prefillToken"`
	} `json:"certificates"`
}

var handlerKeyring = func() *crypto.Keyring {
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		panic(err)
	}
	return keyring
}()

func TestPostPrefill(t *testing.T) {
	certificateAPI := newCertificateAPI(t, http.StatusOK, oneCertificate)
	var results []string
	handlers := &prefill.Handlers{
		Client:  prefill.NewClient(certificateAPI.URL, time.Second, time.Minute, 0, nil),
		Keyring: handlerKeyring,
		Now:     time.Now,
		Observe: func(result string) { results = append(results, result) },
	}
	body := `{"documentType": "resident_id", "documentNumber": "１１０１０５１９４９１２３１００２ｘ", "certificateTypes": ["birth_certificate"]}`

	ctx := post("parent-1", body)
	if err := handlers.PostPrefill(ctx); err != nil {
		t.Fatalf("PostPrefill returned %v", err)
	}
	var got answer
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Available || len(got.Certificates) != 1 {
		t.Fatalf("answer = %+v, want one certificate", got)
	}
	if strings.Contains(string(ctx.Response.Body()), "SH123") {
		t.Errorf("answer %s shows the full certificate number", ctx.Response.Body())
	}
	if got.Certificates[0].MaskedNumber != "S***3" {
		t.Errorf("masked number = %q, want S***3", got.Certificates[0].MaskedNumber)
	}
	owner := handlerKeyring.Index("owner", []byte("parent-1"))
	fetched, err := prefill.OpenToken(handlerKeyring, owner, got.Certificates[0].PrefillToken, time.Now())
	if err != nil {
		t.Fatalf("OpenToken: %v", err)
	}
	if fetched.Number != "SH123" || fetched.Type != "birth_certificate" || fetched.Holder != "resident_id:11010519491231002X" {
		t.Errorf("token holds %+v, want SH123, birth_certificate, resident_id:11010519491231002X", fetched)
	}
	if _, err := prefill.OpenToken(handlerKeyring, handlerKeyring.Index("owner", []byte("parent-2")), got.Certificates[0].PrefillToken, time.Now()); err == nil {
		t.Error("another parent opened the token")
	}
	if _, err := prefill.OpenToken(handlerKeyring, owner, got.Certificates[0].PrefillToken, time.Now().Add(prefill.TokenTTL+time.Minute)); err == nil {
		t.Error("an expired token opened")
	}

	certificateAPI.status.Store(http.StatusInternalServerError)
	ctx = post("parent-1", body)
	if err := handlers.PostPrefill(ctx); err != nil {
		t.Fatalf("PostPrefill with a failing API returned %v, want the fallback answer", err)
	}
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Available || !edgetest.HasHan(got.Message) || ctx.Response.StatusCode() != http.StatusOK {
		t.Errorf("answer = %d %+v, want 200 with available false and a Chinese message", ctx.Response.StatusCode(), got)
	}
	if len(results) != 2 || results[0] != "ok" || results[1] != "fallback" {
		t.Errorf("observed results %v, want [ok fallback]", results)
	}
}

func TestPostPrefillNoneFound(t *testing.T) {
	certificateAPI := newCertificateAPI(t, http.StatusOK, `{"certificates": []}`)
	handlers := &prefill.Handlers{
		Client:  prefill.NewClient(certificateAPI.URL, time.Second, time.Minute, 0, nil),
		Keyring: handlerKeyring,
		Now:     time.Now,
	}
	body := `{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": ["birth_certificate"]}`

	ctx := post("parent-1", body)
	if err := handlers.PostPrefill(ctx); err != nil {
		t.Fatalf("PostPrefill returned %v", err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if string(got["available"]) != "true" {
		t.Errorf("available = %s, want true", got["available"])
	}
	if string(got["certificates"]) != "[]" {
		t.Errorf("certificates = %s, want [] when the holder has none of the types", got["certificates"])
	}
}

func TestPostPrefillRejected(t *testing.T) {
	certificateAPI := newCertificateAPI(t, http.StatusOK, oneCertificate)
	handlers := &prefill.Handlers{Client: prefill.NewClient(certificateAPI.URL, time.Second, time.Minute, 0, nil), Keyring: handlerKeyring, Now: time.Now}
	tests := []struct {
		name    string
		subject string
		body    string
		status  int
		code    string
		field   string
	}{
		{"signed out", "", `{}`, http.StatusUnauthorized, "not_signed_in", ""},
		{"unknown document type", "parent-1", `{"documentType": "id", "documentNumber": "1", "certificateTypes": ["birth_certificate"]}`,
			http.StatusBadRequest, "unknown_document_type", "documentType"},
		{"wrong checksum", "parent-1", `{"documentType": "resident_id", "documentNumber": "110105194912310021", "certificateTypes": ["birth_certificate"]}`,
			http.StatusBadRequest, "invalid_resident_id_checksum", "documentNumber"},
		{"no document", "parent-1", `{"documentType": "none", "documentNumber": "", "certificateTypes": ["birth_certificate"]}`,
			http.StatusBadRequest, "prefill_not_supported", "documentType"},
		{"no certificate types", "parent-1", `{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": []}`,
			http.StatusBadRequest, "invalid_certificate_types", "certificateTypes"},
		{"too many certificate types", "parent-1", `{"documentType": "resident_id", "documentNumber": "11010519491231002X", "certificateTypes": ["birth_certificate", "birth_certificate", "birth_certificate", "birth_certificate", "birth_certificate", "birth_certificate"]}`,
			http.StatusBadRequest, "invalid_certificate_types", "certificateTypes"},
		{"body over 4 KiB", "parent-1", `{"documentType": "resident_id", "documentNumber": "` + string(bytes.Repeat([]byte("1"), 4<<10)) + `"}`,
			http.StatusRequestEntityTooLarge, "body_too_large", ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := handlers.PostPrefill(post(test.subject, test.body))
			edgetest.CheckError(t, err, test.status, test.code, test.field)
		})
	}
	if got := certificateAPI.calls.Load(); got != 0 {
		t.Errorf("rejected requests made %d calls to the API, want 0", got)
	}
}

// uploadContext returns a signed-in multipart request with one file.
func uploadContext(t *testing.T, subject string, data []byte) *fasthttp.RequestCtx {
	t.Helper()
	var body bytes.Buffer
	writer := multipart.NewWriter(&body)
	part, err := writer.CreateFormFile("file", "scan.pdf")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	writer.Close()
	ctx := newContext(writer.FormDataContentType(), body.Bytes())
	api.SetSubject(ctx, subject)
	return ctx
}

func TestPostUploadPDF(t *testing.T) {
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	uploads := &prefill.Uploads{Dir: t.TempDir(), Keyring: keyring}
	data := []byte("%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n")

	ctx := uploadContext(t, "parent-1", data)
	if err := uploads.PostUpload(ctx); err != nil {
		t.Fatalf("PostUpload returned %v", err)
	}

	var got struct {
		FileID      string `json:"fileId"`
		Size        int    `json:"size"`
		ContentType string `json:"contentType"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if ctx.Response.StatusCode() != http.StatusCreated || got.ContentType != "application/pdf" || got.Size != len(data) {
		t.Errorf("answer = %d %+v, want 201 application/pdf of %d bytes", ctx.Response.StatusCode(), got, len(data))
	}
	owner := keyring.Index("owner", []byte("parent-1"))
	path := uploads.FilePath(owner, got.FileID)
	if filepath.Dir(filepath.Dir(path)) != uploads.Dir {
		t.Errorf("FilePath = %s, want a file two levels under %s", path, uploads.Dir)
	}
	if !uploads.Exists(owner, got.FileID) {
		t.Error("Exists = false for the parent who uploaded the file")
	}
	if info, ok := uploads.Info(owner, got.FileID); !ok || info.ContentType != "application/pdf" || info.Size != len(data) {
		t.Errorf("Info = %+v, %v; want application/pdf of %d bytes", info, ok, len(data))
	}
	if _, ok := uploads.Info(keyring.Index("owner", []byte("parent-2")), got.FileID); ok {
		t.Error("Info found the file for another parent")
	}
	if uploads.Exists(keyring.Index("owner", []byte("parent-2")), got.FileID) {
		t.Error("Exists = true for another parent")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode = %o, want 600", mode)
	}
	sealed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Open(sealed, prefill.UploadContext(keyring.Index("owner", []byte("parent-2")))); err == nil {
		t.Error("the upload opens with another parent's context")
	}
	opened, err := keyring.Open(sealed, prefill.UploadContext(keyring.Index("owner", []byte("parent-1"))))
	if err != nil || !bytes.Equal(opened, data) {
		t.Errorf("the upload opens to %q, %v, want the PDF", opened, err)
	}
}
