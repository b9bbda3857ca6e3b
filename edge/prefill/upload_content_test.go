package prefill_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// Every upload in these tests is named scan.pdf (uploadContext), so only
// the content can decide.
func TestUploadCheckedByContentNotName(t *testing.T) {
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	uploads := &prefill.Uploads{Dir: dir, Keyring: keyring}

	rejected := map[string][]byte{
		"Windows executable":  append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 64)...),
		"ELF executable":      append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...),
		"HTML page":           []byte("<!doctype html><script>alert(1)</script>"),
		"PDF magic not first": []byte(" %PDF-1.4\n%%EOF\n"),
	}
	for name, data := range rejected {
		err := uploads.PostUpload(uploadContext(t, "parent-1", data))
		if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != "unsupported_file_type" {
			t.Errorf("%s named scan.pdf: PostUpload = %v, want unsupported_file_type", name, err)
		}
	}
	entries, err := filepath.Glob(filepath.Join(dir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("rejected uploads left files: %v", entries)
	}

	unreadable := map[string][]byte{
		"PNG signature and zeros": append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...),
		"PDF header and script":   []byte("%PDF-1.4\n<script>"),
		"truncated PNG":           edgetest.PNG(t)[:40],
	}
	for name, data := range unreadable {
		err := uploads.PostUpload(uploadContext(t, "parent-1", data))
		if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != "file_unreadable" {
			t.Errorf("%s: PostUpload = %v, want file_unreadable", name, err)
		}
	}

	png := edgetest.PNG(t)
	ctx := uploadContext(t, "parent-1", png)
	if err := uploads.PostUpload(ctx); err != nil {
		t.Fatalf("PNG named scan.pdf: PostUpload = %v", err)
	}
	var got struct {
		ContentType string `json:"contentType"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if ctx.Response.StatusCode() != http.StatusCreated || got.ContentType != "image/png" {
		t.Errorf("PNG named scan.pdf = %d %q, want 201 image/png from the content", ctx.Response.StatusCode(), got.ContentType)
	}
}
