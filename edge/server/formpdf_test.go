package server_test

import (
	"bytes"
	"net/http"
	"os"
	"testing"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/formpdf"
)

func TestFormPDFOverHTTP(t *testing.T) {
	t.Parallel()
	for _, path := range formpdf.DefaultFontPaths {
		if _, err := os.Stat(path); err != nil {
			t.Skipf("font %s is missing (make fonts installs it): %v", path, err)
		}
	}
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})
	request := f.Registration(t)
	request.Child.Name = "𠮷小明"
	var registered receiptBody
	e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, request)).Decode(t, &registered)

	path := "/api/v1/registrations/" + registered.ReceiptNumber + "/form.pdf"
	own := e.Get(t, path, "parent-1")
	if own.Status != http.StatusOK {
		t.Fatalf("GET own form.pdf = %d %s, want 200", own.Status, own.Body)
	}
	if contentType := own.Header.Get("Content-Type"); contentType != "application/pdf" {
		t.Errorf("Content-Type = %q, want application/pdf", contentType)
	}
	if !bytes.HasPrefix(own.Body, []byte("%PDF-")) {
		t.Errorf("body starts with %q, want a PDF", own.Body[:min(8, len(own.Body))])
	}
	// The ToUnicode map of the embedded subset names 𠮷 (U+20BB7) in
	// UTF-16BE, as the surrogate pair D842 DFB7.
	if !bytes.Contains(own.Body, []byte("<D842DFB7>")) {
		t.Error("the PDF's ToUnicode maps do not name 𠮷 (U+20BB7) as <D842DFB7>")
	}

	foreign := e.Get(t, path, "parent-2")
	edgetest.CheckAPIError(t, foreign.Error(t), http.StatusNotFound, "receipt_not_found", "")
	signedOut := e.Get(t, path, "")
	if signedOut.Status != http.StatusUnauthorized {
		t.Errorf("signed-out GET = %d, want 401", signedOut.Status)
	}
}
