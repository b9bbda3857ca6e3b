package submit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/formpdf"
	"github.com/sh-preschool/preschool/shared/snapshot"
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

// TestPrintableFormKeepsSchemaVersion registers with version 2 of the
// form, publishes version 3 with other labels, and expects the printed form
// to keep version 2's title, labels and option labels.
func TestPrintableFormKeepsSchemaVersion(t *testing.T) {
	h := newHarness(t)
	version := func(number int, title, provinceLabel, shanghaiLabel string) snapshot.Form {
		body := `{"title": "` + title + `", "sections": [{"key": "extra", "title": "补充信息", "fields": [
		  {"key": "extra.note", "label": "备注", "type": "textarea", "maxLength": 20},
		  {"key": "extra.birthProvince", "label": "` + provinceLabel + `", "type": "select", "options": [{"value": "sh", "label": "` + shanghaiLabel + `"}]}]}]}`
		return snapshot.Form{Kind: enrolment.KindRegistration, Version: number, Body: json.RawMessage(body)}
	}
	store := catalogue.NewStore(h.redis.Client, h.keys)
	store.Set(h.fixture.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Forms = append(s.Forms, version(2, "二〇二七年入园登记", "出生地省份", "上海市"))
	}))
	h.service.Catalogue = store
	request := h.fixture.Registration(t)
	request.SchemaVersion = 2
	request.Extra = map[string]any{"birthProvince": "sh", "note": "对花生过敏"}
	receipt := h.register(t, "parent-1", request)

	store.Set(h.fixture.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Forms = append(s.Forms, version(3, "新版登记", "出生省份", "沪"))
	}))
	document, err := h.service.PrintableForm(context.Background(), "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("PrintableForm returned %v", err)
	}

	if document.Title != "二〇二七年入园登记表" {
		t.Errorf("Title = %q, want version 2's 二〇二七年入园登记表", document.Title)
	}
	last := document.Sections[len(document.Sections)-1]
	want := []formpdf.Row{{Label: "备注", Value: "对花生过敏"}, {Label: "出生地省份", Value: "上海市"}}
	if diff := cmp.Diff(want, last.Rows); last.Title != "补充信息" || diff != "" {
		t.Errorf("last section %q rows (-want +got):\n%s", last.Title, diff)
	}
	if !strings.Contains(document.Footer, "表单版本：2") {
		t.Errorf("Footer = %q, want 表单版本：2", document.Footer)
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
	if retry := string(ctx.Response.Header.Peek("Retry-After")); retry != "5" {
		t.Errorf("Retry-After on pdf_busy = %q, want 5 seconds", retry)
	}
}

// TestRegistrationFactsAddresses reads the sealed addresses, which matching
// by detailed address needs, from the record the receipt keeps.
func TestRegistrationFactsAddresses(t *testing.T) {
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Residence.Address = "漕溪北路100弄3号502室"
	receipt := h.register(t, "parent-1", request)

	facts, err := h.service.RegistrationFacts(context.Background(), h.service.OwnerIndex("parent-1"), receipt.Number)
	if err != nil {
		t.Fatalf("RegistrationFacts returned %v", err)
	}
	if facts.ResidenceAddress != "漕溪北路100弄3号502室" {
		t.Errorf("ResidenceAddress = %q, want the registered address", facts.ResidenceAddress)
	}
	if facts.HukouAddress != request.Child.Hukou.Address {
		t.Errorf("HukouAddress = %q, want %q", facts.HukouAddress, request.Child.Hukou.Address)
	}
}

// TestReceiptNamesPrintLayout expects registration receipts to name the
// print layout that Redis keeps once, the layout to live at least as long
// as the newest receipt, and a registration after the layout was lost to
// store it again.
func TestReceiptNamesPrintLayout(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	client := h.redis.Client
	first := h.register(t, "parent-1", h.fixture.Registration(t))

	fields, err := client.Do(ctx, client.B().Hgetall().Key(h.keys.Receipt(first.Number)).Build()).AsStrMap()
	if err != nil {
		t.Fatalf("HGETALL receipt: %v", err)
	}
	id := fields["print_layout_id"]
	if id == "" || fields["print_layout"] != "" {
		t.Fatalf("receipt has print_layout_id %q and print_layout %q, want only an ID", id, fields["print_layout"])
	}
	layoutTTL := func() int64 {
		ttl, err := client.Do(ctx, client.B().Ttl().Key(h.keys.PrintLayout(id)).Build()).AsInt64()
		if err != nil {
			t.Fatalf("TTL layout: %v", err)
		}
		return ttl
	}
	receiptTTL, err := client.Do(ctx, client.B().Ttl().Key(h.keys.Receipt(first.Number)).Build()).AsInt64()
	if err != nil {
		t.Fatalf("TTL receipt: %v", err)
	}
	if got := layoutTTL(); got < receiptTTL {
		t.Errorf("layout TTL %d s is shorter than the receipt's %d s", got, receiptTTL)
	}

	// A receipt made under a shorter TTL must not shorten the layout's
	// life, which older receipts rely on.
	longer := receiptTTL * 10
	if err := client.Do(ctx, client.B().Expire().Key(h.keys.PrintLayout(id)).Seconds(longer).Build()).Error(); err != nil {
		t.Fatalf("EXPIRE layout: %v", err)
	}
	h.register(t, "parent-3", h.fixture.Registration(t))
	if got := layoutTTL(); got < longer-60 {
		t.Errorf("layout TTL after another registration = %d s, want it kept near %d s", got, longer)
	}

	if err := client.Do(ctx, client.B().Del().Key(h.keys.PrintLayout(id)).Build()).Error(); err != nil {
		t.Fatalf("DEL layout: %v", err)
	}
	second := h.register(t, "parent-2", h.fixture.Registration(t))
	if got := layoutTTL(); got <= 0 {
		t.Fatalf("layout TTL after a registration without it = %d, want the layout stored again", got)
	}
	if h.streamLength(t) != 3 {
		t.Errorf("stream holds %d entries, want 3: the retried script must add one entry", h.streamLength(t))
	}
	for _, number := range []string{first.Number, second.Number} {
		subject := map[string]string{first.Number: "parent-1", second.Number: "parent-2"}[number]
		document, err := h.service.PrintableForm(ctx, subject, number)
		if err != nil {
			t.Fatalf("PrintableForm(%s) returned %v", number, err)
		}
		if document.Title == "" {
			t.Errorf("PrintableForm(%s) has no title", number)
		}
	}
}

// TestPrintableFormReadsInlineLayout keeps the PDF of a receipt written
// before layouts had IDs, which carries the layout itself.
func TestPrintableFormReadsInlineLayout(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	client := h.redis.Client
	receipt := h.register(t, "parent-1", h.fixture.Registration(t))
	key := h.keys.Receipt(receipt.Number)
	layout := `{"title":"旧版入园登记"}`
	if err := client.Do(ctx, client.B().Hset().Key(key).FieldValue().FieldValue("print_layout", layout).Build()).Error(); err != nil {
		t.Fatalf("HSET: %v", err)
	}
	if err := client.Do(ctx, client.B().Hdel().Key(key).Field("print_layout_id").Build()).Error(); err != nil {
		t.Fatalf("HDEL: %v", err)
	}
	document, err := h.service.PrintableForm(ctx, "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("PrintableForm returned %v", err)
	}
	if document.Title != "旧版入园登记表" {
		t.Errorf("Title = %q, want the inline layout's 旧版入园登记表", document.Title)
	}
}

// TestPrintableFormWithoutStoredLayout deletes the stored print layout. The
// PDF of a receipt of the current version stores it again, and the PDF of
// an older version prints with the current labels and keeps every value.
func TestPrintableFormWithoutStoredLayout(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	client := h.redis.Client
	version := func(number int, label string) snapshot.Form {
		body := `{"title": "入园登记", "sections": [{"key": "extra", "title": "补充信息", "fields": [
		  {"key": "extra.note", "label": "` + label + `", "type": "textarea", "maxLength": 20}]}]}`
		return snapshot.Form{Kind: enrolment.KindRegistration, Version: number, Body: json.RawMessage(body)}
	}
	store := catalogue.NewStore(client, h.keys)
	store.Set(h.fixture.CatalogueWith(t, func(s *snapshot.Snapshot) { s.Forms = append(s.Forms, version(2, "备注")) }))
	h.service.Catalogue = store
	request := h.fixture.Registration(t)
	request.SchemaVersion = 2
	request.Extra = map[string]any{"note": "对花生过敏"}
	receipt := h.register(t, "parent-1", request)
	id, err := client.Do(ctx, client.B().Hget().Key(h.keys.Receipt(receipt.Number)).Field("print_layout_id").Build()).ToString()
	if err != nil {
		t.Fatalf("HGET print_layout_id: %v", err)
	}
	deleteLayout := func() {
		if err := client.Do(ctx, client.B().Del().Key(h.keys.PrintLayout(id)).Build()).Error(); err != nil {
			t.Fatalf("DEL layout: %v", err)
		}
	}
	lastRows := func(document formpdf.Document) []formpdf.Row {
		return document.Sections[len(document.Sections)-1].Rows
	}

	deleteLayout()
	document, err := h.service.PrintableForm(ctx, "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("PrintableForm without the stored layout returned %v", err)
	}
	if diff := cmp.Diff([]formpdf.Row{{Label: "备注", Value: "对花生过敏"}}, lastRows(document)); diff != "" {
		t.Errorf("rows without the stored layout (-want +got):\n%s", diff)
	}
	if exists, err := client.Do(ctx, client.B().Exists().Key(h.keys.PrintLayout(id)).Build()).AsInt64(); err != nil || exists != 1 {
		t.Errorf("EXISTS layout after the PDF = %d, %v; want the current version's layout stored again", exists, err)
	}

	deleteLayout()
	store.Set(h.fixture.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Forms = append(s.Forms, snapshot.Form{Kind: enrolment.KindRegistration, Version: 3, Body: json.RawMessage(
			`{"title": "入园登记", "sections": [{"key": "extra", "title": "补充信息", "fields": [
			  {"key": "extra.phone2", "label": "备用电话", "type": "text", "maxLength": 20}]}]}`)})
	}))
	document, err = h.service.PrintableForm(ctx, "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("PrintableForm after version 3 without the stored layout returned %v", err)
	}
	if diff := cmp.Diff([]formpdf.Row{{Label: "其他填报项（note）", Value: "对花生过敏"}}, lastRows(document)); diff != "" {
		t.Errorf("rows under version 3's layout (-want +got):\n%s", diff)
	}
}

// TestPrintableFormNotStored checks that a registration the drainer did
// not store, as a duplicate or a failure, has no form to print.
func TestPrintableFormNotStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, status := range []string{enrolment.StatusRejectedDuplicate, enrolment.StatusFailed} {
		receipt := h.register(t, "parent-1", h.fixture.Registration(t))
		client := h.redis.Client
		err := client.Do(context.Background(), client.B().Hset().Key(h.keys.Receipt(receipt.Number)).FieldValue().
			FieldValue(enrolment.FieldStatus, status).Build()).Error()
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.service.PrintableForm(context.Background(), "parent-1", receipt.Number)
		edgetest.CheckError(t, err, http.StatusConflict, "registration_not_stored", "")
	}
}
