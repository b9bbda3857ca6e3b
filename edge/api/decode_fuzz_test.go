package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"
)

// submission has the shapes of a real request body: nested objects, lists,
// pointers, numbers, flags and free-form extra values. (The real request
// types live in precheck, which imports this package.)
type submission struct {
	EnrolmentYear int `json:"enrolmentYear"`
	Child         struct {
		Name     string `json:"name"`
		Sex      string `json:"sex"`
		Document struct {
			Type   string `json:"type"`
			Number string `json:"number"`
		} `json:"document"`
	} `json:"child"`
	Residence struct {
		Address        string `json:"address"`
		AtHukouAddress bool   `json:"atHukouAddress"`
	} `json:"residence"`
	Guardians []struct {
		Name      string `json:"name"`
		Residence *struct {
			Type            string `json:"type"`
			PointsQualified bool   `json:"pointsQualified"`
		} `json:"shanghaiResidence"`
	} `json:"guardians"`
	CampusChoices []int64        `json:"campusChoices"`
	Extra         map[string]any `json:"extra"`
}

// FuzzDecodeAgreement checks that the fast decoder never accepts a body the
// standard decoder rejects, and that when both accept, they decode alike.
func FuzzDecodeAgreement(f *testing.F) {
	for _, seed := range []string{
		`{"enrolmentYear": 2027, "child": {"name": "张三", "sex": "M"}}`,
		`{"guardians": [{"name": "王芳", "document": {"type": "resident_id"}}], "extra": {"a": [1, {"b": null}]}}`,
		`{"enrolmentYear": 2027.5}`, `{"ENROLMENTYEAR": 1}`, `{"child": {"name": "\ud800"}}`,
		`{"child": {"name": "a"}} {}`, `{"extra": {"x": 1e400}}`, "{\"child\": {\"name\": \"\xff\"}}",
		`{"enrolmentYear": 1, "enrolmentYear": 2}`, `[]`, `null`, ``,
		`{"enrolmentYear": 9223372036854775808}`, `{"campusChoices": [18446744073709551615]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast submission
		fastErr := decodeFast(body, &fast)
		if fastErr != nil {
			return // the standard decoder decides these
		}
		var standard submission
		decoder := json.NewDecoder(bytes.NewReader(body))
		decoder.DisallowUnknownFields()
		standardErr := decoder.Decode(&standard)
		if standardErr == nil {
			if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
				standardErr = err
			}
		}
		if standardErr != nil {
			t.Fatalf("fast decoder accepted %q, standard rejected it: %v", body, standardErr)
		}
		if !reflect.DeepEqual(fast, standard) {
			t.Fatalf("decoders disagree on %q:\nfast     %+v\nstandard %+v", body, fast, standard)
		}
	})
}

func BenchmarkDecodeJSON(b *testing.B) {
	body, err := os.ReadFile("testdata/submission.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var request submission
			if err := decodeFast(body, &request); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("standard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var request submission
			decoder := json.NewDecoder(bytes.NewReader(body))
			decoder.DisallowUnknownFields()
			if err := decoder.Decode(&request); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestHasLongNumber(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{`{"enrolmentYear": 9223372036854775808}`, true},
		{`{"campusChoices": [1, 18446744073709551615]}`, true},
		{`{"enrolmentYear": 922337203685477580}`, false},
		{`{"number": "310104202301010011123"}`, false},
		{`{"name": "a\"b", "year": 1234567890123456789}`, true},
		{`{"name": "a\\", "year": 1234567890123456789}`, true},
		{`{"name": "a\\\"1234567890123456789"}`, false},
		{`{"name": "\\\\", "year": 2027}`, false},
		{`["", 1234567890123456789]`, true},
		{`{"year": 1234567890, "month": 123456789}`, false},
		{`{"unterminated": "1234567890123456789`, false},
	}
	for _, test := range cases {
		if got := hasLongNumber([]byte(test.body)); got != test.want {
			t.Errorf("hasLongNumber(%s) = %v, want %v", test.body, got, test.want)
		}
	}
}
