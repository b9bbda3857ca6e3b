package submit_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/formpdf"
)

func TestPrintableFormKeepsFilledValues(t *testing.T) {
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Name = "𠮷小明"
	receipt := h.register(t, "parent-1", request)

	document, err := h.service.PrintableForm(context.Background(), "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("PrintableForm returned %v", err)
	}
	if document.Number != receipt.Number {
		t.Errorf("Number = %q, want %q", document.Number, receipt.Number)
	}
	rows := map[string]string{}
	for _, section := range document.Sections {
		for _, row := range section.Rows {
			rows[row.Label] = row.Value
		}
	}
	if rows["幼儿姓名"] != "𠮷小明" {
		t.Errorf("幼儿姓名 = %q, want 𠮷小明", rows["幼儿姓名"])
	}
	if number := rows["证件号码"]; !strings.Contains(number, "*") || strings.Contains(number, request.Child.Document.Number) {
		t.Errorf("证件号码 = %q, want the number masked", number)
	}
	if phone := rows["母亲手机号码"]; phone != "139****0000" {
		t.Errorf("母亲手机号码 = %q, want 139****0000", phone)
	}

	_, err = h.service.PrintableForm(context.Background(), "parent-2", receipt.Number)
	if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != "receipt_not_found" {
		t.Errorf("another parent's PrintableForm error = %v, want receipt_not_found", err)
	}
}

func TestFormPDFBusy(t *testing.T) {
	h := newHarness(t)
	receipt := h.register(t, "parent-1", h.fixture.Registration(t))
	slots := submit.NewPDFLimiter(1)
	slots <- struct{}{} // another render holds the only slot
	handlers := &submit.Handlers{Service: h.service, PDF: &formpdf.Renderer{}, PDFSlots: slots}

	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&fasthttp.Request{}, nil, nil) // gives the context the server that Done needs
	api.SetSubject(ctx, "parent-1")
	ctx.SetUserValue("number", receipt.Number)
	err := handlers.GetFormPDF(ctx)
	apiErr := apierror.As(err)
	if apiErr == nil || apiErr.Code != "pdf_busy" || apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("GetFormPDF error = %v, want 503 pdf_busy", err)
	}
	if retry := string(ctx.Response.Header.Peek("Retry-After")); retry == "" {
		t.Error("no Retry-After header on pdf_busy")
	}
}
