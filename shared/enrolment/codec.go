package enrolment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Stream bodies are a compact binary encoding, not JSON. A record is mostly
// ciphertexts and indexes, which JSON would carry in base64, and decoding
// JSON was the largest cost of the drainer. A body starts with a kind byte
// and a format version. Every field follows in a fixed order: byte strings
// and text with a uvarint length, numbers as varints, flags as one byte.
const (
	codecRegistration byte = 'R'
	codecApplication  byte = 'A'
	// codecVersion is the format the encoder writes. Version 2 appends the
	// certificate sources. The decoder still reads version 1 bodies, which
	// leave CertificateSources nil.
	codecVersion  byte = 2
	codecVersion1 byte = 1
	// maxFieldBytes bounds one field, so a corrupt length cannot make the
	// decoder allocate without limit.
	maxFieldBytes = 1 << 20
	maxListItems  = 64
)

// ErrMalformedBody is wrapped by the decoders for a body that is not a
// record of the expected kind and version.
var ErrMalformedBody = errors.New("malformed record body")

// EncodeRecord returns the stream body of a *RegistrationRecord or an
// *ApplicationRecord.
func EncodeRecord(record any) ([]byte, error) {
	switch r := record.(type) {
	case *RegistrationRecord:
		return encodeRegistration(r), nil
	case *ApplicationRecord:
		return encodeApplication(r), nil
	case RegistrationRecord:
		return encodeRegistration(&r), nil
	case ApplicationRecord:
		return encodeApplication(&r), nil
	}
	return nil, fmt.Errorf("encode record: unsupported type %T", record)
}

func encodeRegistration(r *RegistrationRecord) []byte {
	e := encoder(make([]byte, 0, 1024))
	e = append(e, codecRegistration, codecVersion)
	e.varint(int64(r.Year))
	e.time(r.AcceptedAt)
	e.flag(r.Supplementary)
	e.varint(int64(r.SchemaVersion))
	e.text(r.KeyID)
	e.bytes(r.PayloadHash)
	e.bytes(r.OwnerIndex)
	e.bytes(r.ChildIndex)
	e.text(r.ChildDocumentType)
	e.bytes(r.SealedChildDocumentNumber)
	e.bytes(r.SealedChildName)
	e.text(r.ChildSex)
	e.text(r.ChildBirthDate)
	e.text(r.ChildNationality)
	e.text(r.CategoryGroup)
	e.flag(r.HukouInShanghai)
	e.text(r.HukouProvince)
	e.text(r.HukouDistrict)
	e.text(r.HukouStreet)
	e.text(r.HukouCommittee)
	e.bytes(r.SealedHukouAddress)
	e.text(r.ResidenceDistrict)
	e.text(r.ResidenceStreet)
	e.text(r.ResidenceCommittee)
	e.bytes(r.SealedResidenceAddr)
	e.flag(r.HukouAtResidence)
	e.bytes(r.SealedGuardians)
	e.uvarint(uint64(len(r.GuardianIndexes)))
	for _, index := range r.GuardianIndexes {
		e.bytes(index)
	}
	e.flag(r.GuardianShanghaiHukou)
	e.text(r.GuardianResidenceDoc)
	e.flag(r.GuardianPoints)
	e.bytes(r.SealedFormValues)
	e.sources(r.CertificateSources)
	return e
}

func encodeApplication(a *ApplicationRecord) []byte {
	e := encoder(make([]byte, 0, 256))
	e = append(e, codecApplication, codecVersion)
	e.text(a.RegistrationNumber)
	e.varint(int64(a.Year))
	e.time(a.AcceptedAt)
	e.flag(a.Supplementary)
	e.varint(int64(a.SchemaVersion))
	e.text(a.KeyID)
	e.bytes(a.PayloadHash)
	e.bytes(a.OwnerIndex)
	e.bytes(a.ChildIndex)
	e.text(a.DistrictCode)
	e.varint(a.EntryID)
	e.text(a.CategoryCode)
	e.uvarint(uint64(len(a.CampusChoices)))
	for _, campus := range a.CampusChoices {
		e.varint(campus)
	}
	e.bytes(a.SealedFormValues)
	e.sources(a.CertificateSources)
	return e
}

type encoder []byte

func (e *encoder) uvarint(v uint64) { *e = binary.AppendUvarint(*e, v) }
func (e *encoder) varint(v int64)   { *e = binary.AppendVarint(*e, v) }
func (e *encoder) bytes(b []byte)   { e.uvarint(uint64(len(b))); *e = append(*e, b...) }
func (e *encoder) text(s string)    { e.uvarint(uint64(len(s))); *e = append(*e, s...) }

func (e *encoder) flag(v bool) {
	if v {
		*e = append(*e, 1)
	} else {
		*e = append(*e, 0)
	}
}

func (e *encoder) texts(values []string) {
	e.uvarint(uint64(len(values)))
	for _, value := range values {
		e.text(value)
	}
}

// sources writes whether the sources are known, then the fetched and the
// uploaded types.
func (e *encoder) sources(sources *CertificateSources) {
	e.flag(sources != nil)
	if sources != nil {
		e.texts(sources.Fetched)
		e.texts(sources.Uploaded)
	}
}

// time keeps the instant to the nanosecond, in UTC. The zero time encodes
// as 0 and decodes as the zero time.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.varint(0)
		return
	}
	e.varint(t.UnixNano())
}

// decoder reads fields in order and remembers the first error, so a record
// decodes with straight-line code and one check at the end.
type decoder struct {
	body []byte
	err  error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformedBody, what)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.body)
	if n <= 0 {
		d.fail("bad length or number")
		return 0
	}
	d.body = d.body[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.body)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.body = d.body[n:]
	return v
}

func (d *decoder) bytes() []byte {
	length := d.uvarint()
	if d.err != nil {
		return nil
	}
	if length > maxFieldBytes || length > uint64(len(d.body)) {
		d.fail("field longer than the body")
		return nil
	}
	if length == 0 {
		return nil
	}
	field := d.body[:length:length]
	d.body = d.body[length:]
	return field
}

func (d *decoder) text() string { return string(d.bytes()) }

func (d *decoder) flag() bool {
	if d.err != nil {
		return false
	}
	if len(d.body) == 0 || d.body[0] > 1 {
		d.fail("bad flag")
		return false
	}
	v := d.body[0] == 1
	d.body = d.body[1:]
	return v
}

func (d *decoder) time() time.Time {
	nanos := d.varint()
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos).UTC()
}

func (d *decoder) count() int {
	n := d.uvarint()
	if n > maxListItems {
		d.fail("list too long")
		return 0
	}
	return int(n)
}

func (d *decoder) texts() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	values := make([]string, n)
	for i := range values {
		values[i] = d.text()
	}
	return values
}

// sources reads the certificate sources of a version 2 body. It returns
// nil for a version 1 body, which has none, and for unknown sources.
func (d *decoder) sources(version byte) *CertificateSources {
	if version < 2 || !d.flag() {
		return nil
	}
	return &CertificateSources{Fetched: d.texts(), Uploaded: d.texts()}
}

// header checks the kind and returns the format version, 1 or 2.
func (d *decoder) header(kind byte) byte {
	if len(d.body) < 2 || d.body[0] != kind || (d.body[1] != codecVersion && d.body[1] != codecVersion1) {
		d.fail(fmt.Sprintf("not a version %d or %d %q record", codecVersion1, codecVersion, kind))
		return 0
	}
	version := d.body[1]
	d.body = d.body[2:]
	return version
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.body) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

func decodeRegistrationBody(body []byte) (RegistrationRecord, error) {
	d := decoder{body: body}
	var r RegistrationRecord
	version := d.header(codecRegistration)
	r.Year = int(d.varint())
	r.AcceptedAt = d.time()
	r.Supplementary = d.flag()
	r.SchemaVersion = int(d.varint())
	r.KeyID = d.text()
	r.PayloadHash = d.bytes()
	r.OwnerIndex = d.bytes()
	r.ChildIndex = d.bytes()
	r.ChildDocumentType = d.text()
	r.SealedChildDocumentNumber = d.bytes()
	r.SealedChildName = d.bytes()
	r.ChildSex = d.text()
	r.ChildBirthDate = d.text()
	r.ChildNationality = d.text()
	r.CategoryGroup = d.text()
	r.HukouInShanghai = d.flag()
	r.HukouProvince = d.text()
	r.HukouDistrict = d.text()
	r.HukouStreet = d.text()
	r.HukouCommittee = d.text()
	r.SealedHukouAddress = d.bytes()
	r.ResidenceDistrict = d.text()
	r.ResidenceStreet = d.text()
	r.ResidenceCommittee = d.text()
	r.SealedResidenceAddr = d.bytes()
	r.HukouAtResidence = d.flag()
	r.SealedGuardians = d.bytes()
	if n := d.count(); n > 0 {
		r.GuardianIndexes = make([][]byte, n)
		for i := range r.GuardianIndexes {
			r.GuardianIndexes[i] = d.bytes()
		}
	}
	r.GuardianShanghaiHukou = d.flag()
	r.GuardianResidenceDoc = d.text()
	r.GuardianPoints = d.flag()
	r.SealedFormValues = d.bytes()
	r.CertificateSources = d.sources(version)
	return r, d.finish()
}

func decodeApplicationBody(body []byte) (ApplicationRecord, error) {
	d := decoder{body: body}
	var a ApplicationRecord
	version := d.header(codecApplication)
	a.RegistrationNumber = d.text()
	a.Year = int(d.varint())
	a.AcceptedAt = d.time()
	a.Supplementary = d.flag()
	a.SchemaVersion = int(d.varint())
	a.KeyID = d.text()
	a.PayloadHash = d.bytes()
	a.OwnerIndex = d.bytes()
	a.ChildIndex = d.bytes()
	a.DistrictCode = d.text()
	a.EntryID = d.varint()
	a.CategoryCode = d.text()
	if n := d.count(); n > 0 {
		a.CampusChoices = make([]int64, n)
		for i := range a.CampusChoices {
			a.CampusChoices[i] = d.varint()
		}
	}
	a.SealedFormValues = d.bytes()
	a.CertificateSources = d.sources(version)
	return a, d.finish()
}
