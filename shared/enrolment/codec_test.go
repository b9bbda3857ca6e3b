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
		SealedFormValues: []byte("f"),
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

// canonical reports whether body could have come from the encoder: varints
// in their shortest form. Only such bodies must re-encode to themselves.
func canonical(body []byte) bool {
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
