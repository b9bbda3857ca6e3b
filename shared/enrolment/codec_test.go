package enrolment

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleRegistration() RegistrationRecord {
	return RegistrationRecord{
		Number: "202700000013", Year: 2027, AcceptedAt: time.Date(2027, 4, 23, 4, 0, 0, 123456789, time.UTC),
		Supplementary: true, SchemaVersion: 3, KeyID: "k1", PayloadHash: []byte{1, 2, 3}, OwnerIndex: []byte{4, 5},
		ChildIndex: []byte{6}, ChildDocumentType: "resident_id", SealedChildDocumentNumber: []byte("sealed number"),
		SealedChildName: []byte("sealed name"), ChildSex: "F", ChildBirthDate: "2023-10-01", ChildNationality: "CHN",
		CategoryGroup: GroupShanghaiHukou, HukouInShanghai: true, HukouDistrict: "310104", HukouStreet: "310104003",
		HukouCommittee: "310104003001", SealedHukouAddress: []byte("h"), ResidenceDistrict: "310104",
		ResidenceStreet: "310104003", ResidenceCommittee: "310104003001", SealedResidenceAddr: []byte("r"),
		HukouAtResidence: true, SealedGuardians: []byte("g"), GuardianIndexes: [][]byte{{7}, {8, 9}},
		GuardianShanghaiHukou: true, GuardianResidenceDoc: ResidencePermit, GuardianPoints: true,
		SealedFormValues:   []byte("f"),
		CertificateSources: &CertificateSources{Fetched: []string{"birth_certificate"}, Uploaded: []string{"household_register", "residence_permit"}},
	}
}

func TestRegistrationRoundTrip(t *testing.T) {
	want := sampleRegistration()
	body, err := EncodeRecord(&want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRegistration(want.Number, body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestApplicationRoundTrip(t *testing.T) {
	want := ApplicationRecord{
		Number: "20270400000019", RegistrationNumber: "202700000013", Year: 2027,
		AcceptedAt: time.Date(2027, 5, 8, 1, 2, 3, 4, time.UTC), SchemaVersion: 1, KeyID: "k1",
		PayloadHash: []byte{1}, OwnerIndex: []byte{2}, ChildIndex: []byte{3}, DistrictCode: "310104", EntryID: 397,
		CategoryCode: CategoryDistrictHukouResident, CampusChoices: []int64{89, 95, 1 << 40},
		CertificateSources: &CertificateSources{Uploaded: []string{"household_register"}},
	}
	body, err := EncodeRecord(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeApplication(want.Number, body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestRecordWithoutSourcesRoundTrip(t *testing.T) {
	want := sampleRegistration()
	want.CertificateSources = nil
	body, _ := EncodeRecord(&want)
	got, err := DecodeRegistration(want.Number, body)
	if err != nil {
		t.Fatal(err)
	}
	if got.CertificateSources != nil {
		t.Errorf("CertificateSources = %+v, want nil", got.CertificateSources)
	}
}

func TestDecodeVersion1Body(t *testing.T) {
	want := sampleRegistration()
	want.CertificateSources = nil
	body, _ := EncodeRecord(&want)
	// A version 1 body is a version 2 body without the trailing sources
	// flag, which is one zero byte for unknown sources.
	version1 := append([]byte{codecRegistration, codecVersion1}, body[2:len(body)-1]...)
	got, err := DecodeRegistration(want.Number, version1)
	if err != nil {
		t.Fatalf("decode version 1: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("version 1:\n got %+v\nwant %+v", got, want)
	}

	application := ApplicationRecord{Number: "20270400000019", RegistrationNumber: "202700000013", Year: 2027,
		AcceptedAt: time.Date(2027, 5, 8, 1, 2, 3, 4, time.UTC), OwnerIndex: []byte{2}, ChildIndex: []byte{3}, CampusChoices: []int64{89}}
	body, _ = EncodeRecord(application)
	version1 = append([]byte{codecApplication, codecVersion1}, body[2:len(body)-1]...)
	if _, err := DecodeApplication(application.Number, version1); err != nil {
		t.Errorf("decode version 1 application: %v", err)
	}
}

func TestCertificateSourcesSortedOnce(t *testing.T) {
	type attached struct{ certificateType, source string }
	got := NewCertificateSources([]attached{
		{"residence_permit", "upload"}, {"birth_certificate", "prefill"}, {"household_register", "upload"},
		{"residence_permit", "upload"}, {"household_register", "prefill"},
	}, func(a attached) (string, string) { return a.certificateType, a.source })
	want := &CertificateSources{Fetched: []string{"birth_certificate", "household_register"}, Uploaded: []string{"household_register", "residence_permit"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NewCertificateSources = %+v, want %+v", got, want)
	}
}

func TestDecodeRejectsMalformedBodies(t *testing.T) {
	valid := sampleRegistration()
	body, _ := EncodeRecord(&valid)
	cases := map[string][]byte{
		"empty":          nil,
		"JSON":           []byte(`{"year": 2027}`),
		"application":    append([]byte{codecApplication}, body[1:]...),
		"future version": append([]byte{codecRegistration, 9}, body[2:]...),
		"truncated":      body[:len(body)/2],
		"trailing bytes": append(append([]byte{}, body...), 0),
		"huge length":    {codecRegistration, codecVersion, 0x80, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, body := range cases {
		if _, err := DecodeRegistration(valid.Number, body); !errors.Is(err, ErrMalformedBody) {
			t.Errorf("%s: err = %v, want ErrMalformedBody", name, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	registration := sampleRegistration()
	body, _ := EncodeRecord(&registration)
	f.Add(body)
	application, _ := EncodeRecord(ApplicationRecord{RegistrationNumber: "202700000013", CampusChoices: []int64{1}})
	f.Add(application)
	f.Add([]byte{codecRegistration, codecVersion})
	f.Fuzz(func(t *testing.T, body []byte) {
		// Any input decodes or fails with ErrMalformedBody, never a panic;
		// a decoded record encodes back to the same body.
		if record, err := decodeRegistrationBody(body); err == nil {
			if again := encodeRegistration(&record); string(again) != string(body) && canonical(body) {
				t.Fatalf("registration %x re-encodes as %x", body, again)
			}
		} else if !errors.Is(err, ErrMalformedBody) {
			t.Fatalf("error %v is not ErrMalformedBody", err)
		}
		if _, err := decodeApplicationBody(body); err != nil && !errors.Is(err, ErrMalformedBody) {
			t.Fatalf("error %v is not ErrMalformedBody", err)
		}
	})
}

// canonical reports whether body could have come from the current encoder:
// version 2, varints in their shortest form. Only such bodies must
// re-encode to themselves.
func canonical(body []byte) bool {
	// A version 1 body re-encodes as version 2.
	if len(body) > 1 && body[1] == codecVersion1 {
		return false
	}
	for i := 1; i < len(body); i++ {
		if body[i] == 0 && body[i-1]&0x80 != 0 {
			return false
		}
	}
	return true
}

func BenchmarkDecodeRegistration(b *testing.B) {
	record := sampleRegistration()
	record.SealedGuardians = make([]byte, 400)
	body, _ := EncodeRecord(&record)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRegistration(record.Number, body); err != nil {
			b.Fatal(err)
		}
	}
}
