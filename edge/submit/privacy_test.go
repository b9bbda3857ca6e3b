package submit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// TestStreamHidesPersonalData registers a child with distinctive personal
// data and searches every field of the stream entry for it in plain text.
// The same values must open from the sealed fields, which proves that they
// travel in the entry at all.
func TestStreamHidesPersonalData(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Name = "欧阳𠮷祥"
	request.Child.Hukou.Address = "漕溪北路777弄9号"
	request.Residence.Address = "天钥桥路888号1203室"
	request.Guardians = append(request.Guardians, precheck.GuardianRequest{
		Relation: "father", Name: "欧阳振华", Phone: "+852 6123 4567",
		Document: precheck.DocumentRequest{Type: "hk_macau_permit", Number: "H87654321"},
	})
	token := prefill.SealToken(h.fixture.Keyring, h.fixture.Keyring.Index("owner", []byte("parent-1")), prefill.Fetched{
		Type: "birth_certificate", Number: "SHBC20231234",
		Holder:    request.Child.Document.Type + ":" + request.Child.Document.Number,
		ExpiresAt: time.Now().Add(time.Hour),
	})
	request.Certificates = []precheck.CertificateRequest{{Type: "birth_certificate", Source: "prefill", PrefillToken: token}}
	number := h.register(t, "parent-1", request).Number

	entries := h.stream(t)
	if len(entries) != 1 {
		t.Fatalf("stream has %d entries, want 1", len(entries))
	}
	var raw strings.Builder
	for name, value := range entries[0].FieldValues {
		raw.WriteString(name + "=" + value + "\n")
	}
	text := raw.String()
	secrets := map[string]string{
		"child name":                request.Child.Name,
		"child ID number":           request.Child.Document.Number,
		"hukou address":             request.Child.Hukou.Address,
		"residence address":         request.Residence.Address,
		"mother name":               request.Guardians[0].Name,
		"mother ID number":          request.Guardians[0].Document.Number,
		"mother phone":              request.Guardians[0].Phone,
		"father name":               request.Guardians[1].Name,
		"father permit number":      "H87654321",
		"father phone":              "61234567",
		"certificate number":        "SHBC20231234",
		"parent's identity subject": "parent-1",
	}
	for what, secret := range secrets {
		if strings.Contains(text, secret) {
			t.Errorf("the stream entry contains the %s %q in plain text", what, secret)
		}
	}

	record, err := enrolment.DecodeRegistration(number, []byte(entries[0].FieldValues[enrolment.StreamFieldBody]))
	if err != nil {
		t.Fatalf("the stream entry does not decode: %v", err)
	}
	opened := map[string]struct {
		sealed  []byte
		context string
		want    string
	}{
		"child name":        {record.SealedChildName, enrolment.ContextChildName, request.Child.Name},
		"child ID number":   {record.SealedChildDocumentNumber, enrolment.ContextChildDocumentNumber, request.Child.Document.Number},
		"hukou address":     {record.SealedHukouAddress, enrolment.ContextHukouAddress, request.Child.Hukou.Address},
		"residence address": {record.SealedResidenceAddr, enrolment.ContextResidenceAddress, request.Residence.Address},
	}
	for what, field := range opened {
		plaintext, err := h.fixture.Keyring.Open(field.sealed, field.context)
		if err != nil {
			t.Errorf("the sealed %s does not open: %v", what, err)
			continue
		}
		if string(plaintext) != field.want {
			t.Errorf("the sealed %s opens to %q, want %q", what, plaintext, field.want)
		}
	}

	guardians, err := h.fixture.Keyring.Open(record.SealedGuardians, enrolment.ContextGuardians)
	if err != nil {
		t.Fatalf("the sealed guardians do not open: %v", err)
	}
	var decoded []precheck.Guardian
	if err := json.Unmarshal(guardians, &decoded); err != nil {
		t.Fatalf("the sealed guardians are not JSON: %v", err)
	}
	if len(decoded) != 2 || decoded[1].Phone != "+85261234567" || decoded[0].DocumentNumber != request.Guardians[0].Document.Number {
		t.Errorf("the sealed guardians are %+v, want the mother and the father with phone +85261234567", decoded)
	}
	if len(record.GuardianIndexes) != 2 {
		t.Errorf("the record has %d guardian indexes, want 2", len(record.GuardianIndexes))
	}
}

// TestReceiptHidesPersonalData checks the receipt hash and owner set, which
// the edge keeps in Redis for status queries and applications.
func TestReceiptHidesPersonalData(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	number := h.register(t, "parent-1", request).Number

	client := h.redis.Client
	ctx := context.Background()
	var keys []string
	var cursor uint64
	for {
		entry, err := client.Do(ctx, client.B().Scan().Cursor(cursor).Match(h.keys.Prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, entry.Elements...)
		if cursor = entry.Cursor; cursor == 0 {
			break
		}
	}
	var dump strings.Builder
	for _, key := range keys {
		dump.WriteString(key + "\n")
		kind, err := client.Do(ctx, client.B().Type().Key(key).Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "hash":
			fields, err := client.Do(ctx, client.B().Hgetall().Key(key).Build()).AsStrMap()
			if err != nil {
				t.Fatal(err)
			}
			for name, value := range fields {
				dump.WriteString(name + "=" + value + "\n")
			}
		case "set":
			members, err := client.Do(ctx, client.B().Smembers().Key(key).Build()).AsStrSlice()
			if err != nil {
				t.Fatal(err)
			}
			dump.WriteString(strings.Join(members, "\n"))
		case "string":
			value, err := client.Do(ctx, client.B().Get().Key(key).Build()).ToString()
			if err != nil {
				t.Fatal(err)
			}
			dump.WriteString(value + "\n")
		}
	}
	text := dump.String()
	if !strings.Contains(text, number) {
		t.Fatalf("the dump of %d keys does not contain the receipt number %s", len(keys), number)
	}
	for _, secret := range []string{request.Child.Name, request.Child.Document.Number, request.Guardians[0].Phone,
		request.Guardians[0].Document.Number, request.Residence.Address, request.Child.Hukou.Address, "parent-1"} {
		if strings.Contains(text, secret) {
			t.Errorf("Redis holds %q in plain text", secret)
		}
	}
}

func TestPrefillTokenMisuse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	keyring := h.fixture.Keyring
	request := h.fixture.Registration(t)
	childHolder := request.Child.Document.Type + ":" + request.Child.Document.Number
	tokenFor := func(parent, certificateType, holder string, expires time.Time) string {
		return prefill.SealToken(keyring, keyring.Index("owner", []byte(parent)), prefill.Fetched{
			Type: certificateType, Number: "SHBC1", Holder: holder, ExpiresAt: expires,
		})
	}
	cases := map[string]struct {
		token           string
		code            string
		certificateType string
	}{
		"fetched by another parent": {tokenFor("parent-2", "birth_certificate", childHolder, time.Now().Add(time.Hour)), "invalid_prefill_token", "birth_certificate"},
		"expired":                   {tokenFor("parent-1", "birth_certificate", childHolder, time.Now().Add(-time.Minute)), "invalid_prefill_token", "birth_certificate"},
		"other certificate type":    {tokenFor("parent-1", "household_register", childHolder, time.Now().Add(time.Hour)), "invalid_prefill_token", "birth_certificate"},
		"someone else's document":   {tokenFor("parent-1", "birth_certificate", "resident_id:110105194912310021", time.Now().Add(time.Hour)), "certificate_holder_mismatch", "birth_certificate"},
		"birth certificate of a guardian": {tokenFor("parent-1", "birth_certificate",
			request.Guardians[0].Document.Type+":"+request.Guardians[0].Document.Number, time.Now().Add(time.Hour)), "certificate_holder_mismatch", "birth_certificate"},
		"not a token": {"bm90IGEgdG9rZW4", "invalid_prefill_token", "birth_certificate"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			attempt := *request
			attempt.Certificates = []precheck.CertificateRequest{{Type: c.certificateType, Source: "prefill", PrefillToken: c.token}}
			_, err := h.service.Register(context.Background(), "parent-1", &attempt)
			edgetest.CheckError(t, err, http.StatusBadRequest, c.code, "certificates[0].prefillToken")
		})
	}
	t.Run("property certificate of the child", func(t *testing.T) {
		attempt := *request
		attempt.Certificates = []precheck.CertificateRequest{{Type: "property_certificate", Source: "prefill",
			PrefillToken: tokenFor("parent-1", "property_certificate", childHolder, time.Now().Add(time.Hour))}}
		_, err := h.service.Register(context.Background(), "parent-1", &attempt)
		edgetest.CheckError(t, err, http.StatusBadRequest, "certificate_holder_mismatch", "certificates[0].prefillToken")
	})
	if entries := h.stream(t); len(entries) != 0 {
		t.Errorf("stream has %d entries after rejected registrations, want 0", len(entries))
	}
}
