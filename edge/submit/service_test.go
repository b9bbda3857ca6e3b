package submit_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/testenv"
)

func TestMain(m *testing.M) { os.Exit(edgetest.Run(m)) }

// harness is a submit.Service on the test Redis under a fresh prefix.
type harness struct {
	service *submit.Service
	redis   *testenv.Redis
	keys    enrolment.Keys
	fixture *edgetest.Fixture
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	f := edgetest.Shared(t)
	redis := testenv.NewRedis(t)
	return &harness{
		service: newService(f, redis.Client, redis.Prefix),
		redis:   redis,
		keys:    edgetest.Keys(redis.Prefix),
		fixture: f,
	}
}

func newService(f *edgetest.Fixture, client rueidis.Client, prefix string) *submit.Service {
	keys := edgetest.Keys(prefix)
	store := catalogue.NewStore(client, keys)
	store.Set(f.Catalogue)
	return &submit.Service{
		Redis:      client,
		Keys:       keys,
		Keyring:    f.Keyring,
		Catalogue:  store,
		Now:        time.Now,
		ReceiptTTL: 24 * time.Hour,
		Timeout:    5 * time.Second,
	}
}

// streamLength returns the number of entries in the submissions stream.
func (h *harness) streamLength(t *testing.T) int64 {
	t.Helper()
	return edgetest.StreamLength(t, h.redis, h.keys)
}

// stream returns the entries of the submissions stream.
func (h *harness) stream(t *testing.T) []rueidis.XRangeEntry {
	t.Helper()
	client := h.redis.Client
	entries, err := client.Do(context.Background(), client.B().Xrange().Key(h.keys.Stream()).Start("-").End("+").Build()).AsXRange()
	if err != nil {
		t.Fatalf("XRANGE: %v", err)
	}
	return entries
}

// register registers request as subject and fails the test on an error.
func (h *harness) register(t *testing.T, subject string, request *precheck.RegistrationRequest) submit.Receipt {
	t.Helper()
	receipt, err := h.service.Register(context.Background(), subject, request)
	if err != nil {
		t.Fatalf("Register returned %v", err)
	}
	return receipt
}

func TestRegisterAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	receipt := h.register(t, "parent-1", h.fixture.Registration(t))

	if kind := enrolment.NumberKind(receipt.Number); kind != enrolment.KindRegistration {
		t.Errorf("receipt number %q is not a registration number", receipt.Number)
	}
	if year := enrolment.NumberYear(receipt.Number); year != h.fixture.Year.Year {
		t.Errorf("receipt number %q is of year %d, want %d", receipt.Number, year, h.fixture.Year.Year)
	}
	if receipt.Duplicate {
		t.Error("a first registration is marked duplicate")
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
	entries := h.stream(t)
	if got := entries[0].FieldValues[enrolment.StreamFieldNumber]; got != receipt.Number {
		t.Errorf("stream entry number = %q, want %q", got, receipt.Number)
	}
	if got := entries[0].FieldValues[enrolment.StreamFieldKind]; got != enrolment.KindRegistration {
		t.Errorf("stream entry kind = %q, want registration", got)
	}

	status, err := h.service.ReceiptStatus(context.Background(), "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("ReceiptStatus returned %v", err)
	}
	if status.Status != enrolment.StatusAccepted || status.StatusLabel != "已受理" || status.Kind != enrolment.KindRegistration {
		t.Errorf("status = %+v, want an accepted registration labelled 已受理", status)
	}
	if _, err := time.Parse(time.RFC3339Nano, status.AcceptedAt); err != nil {
		t.Errorf("acceptedAt %q is not an RFC 3339 time: %v", status.AcceptedAt, err)
	}
}

// TestReceiptStatusNumberTaken: a receipt the drainer marked, because its
// number was stored for another child, is labelled with a request to
// submit again.
func TestReceiptStatusNumberTaken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	receipt := h.register(t, "parent-1", h.fixture.Registration(t))
	client := h.redis.Client
	err := client.Do(context.Background(), client.B().Hset().Key(h.keys.Receipt(receipt.Number)).FieldValue().
		FieldValue(enrolment.FieldStatus, enrolment.StatusFailed).FieldValue(enrolment.FieldNumberTaken, "1").Build()).Error()
	if err != nil {
		t.Fatal(err)
	}

	status, err := h.service.ReceiptStatus(context.Background(), "parent-1", receipt.Number)
	if err != nil {
		t.Fatalf("ReceiptStatus returned %v", err)
	}
	if status.Status != enrolment.StatusFailed || status.StatusLabel != enrolment.NumberTakenLabel {
		t.Errorf("status = %s %q, want failed %q", status.Status, status.StatusLabel, enrolment.NumberTakenLabel)
	}
}

func TestRegisterDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	first := h.register(t, "parent-1", request)

	again := h.register(t, "parent-1", request)

	if again.Number != first.Number {
		t.Errorf("second receipt = %q, want the first %q", again.Number, first.Number)
	}
	if !again.Duplicate {
		t.Error("second receipt is not marked duplicate")
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
}

// TestRegisterDuplicateNormalised resubmits the same registration typed
// differently: full-width digits, spaces and a look-alike middle dot.
func TestRegisterDuplicateNormalised(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Name = "阿依古丽·买买提"
	first := h.register(t, "parent-1", request)

	retyped := *request
	retyped.Child.Name = " 阿依古丽•买买提 "
	retyped.Child.Document.Number = toFullWidth(request.Child.Document.Number)
	retyped.Guardians = []precheck.GuardianRequest{request.Guardians[0]}
	retyped.Guardians[0].Phone = "139 0000 0000"
	again := h.register(t, "parent-1", &retyped)

	if again.Number != first.Number || !again.Duplicate {
		t.Errorf("retyped receipt = %+v, want duplicate of %s", again, first.Number)
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
}

func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r + 0xFF01 - '!'
		}
		return r
	}, s)
}

func TestRegisterAlreadyRegistered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	first := h.register(t, "parent-1", request)

	changed := *request
	changed.Residence.Address = "漕溪北路100弄3号601室"
	_, err := h.service.Register(context.Background(), "parent-1", &changed)

	edgetest.CheckError(t, err, http.StatusConflict, "already_registered", "")
	if got := apierror.As(err).Detail["registrationNumber"]; got != first.Number {
		t.Errorf("detail.registrationNumber = %q, want %q", got, first.Number)
	}
	if !strings.Contains(apierror.As(err).Message, first.Number) {
		t.Errorf("message %q does not name the first number %s", apierror.As(err).Message, first.Number)
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
}

// TestRegisterSameChildOtherParent registers one child, with the same
// details, from two parents' accounts: the second is a conflict, not a
// duplicate, because a receipt belongs to the parent who made it, and it
// does not learn the first family's number.
func TestRegisterSameChildOtherParent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	first := h.register(t, "mother", request)

	_, err := h.service.Register(context.Background(), "father", request)

	edgetest.CheckError(t, err, http.StatusConflict, "already_registered_elsewhere", "")
	if got := apierror.As(err).Detail["registrationNumber"]; got != "" {
		t.Errorf("detail.registrationNumber = %q, want none for another account", got)
	}
	if strings.Contains(apierror.As(err).Message, first.Number) {
		t.Errorf("message %q names the first family's number", apierror.As(err).Message)
	}
	if _, err := h.service.ReceiptStatus(context.Background(), "father", first.Number); apierror.As(err) == nil || apierror.As(err).Status != http.StatusNotFound {
		t.Errorf("the other parent's ReceiptStatus returned %v, want 404", err)
	}
}

func TestRegisterConcurrentIdentical(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	const submissions = 50

	receipts := make([]submit.Receipt, submissions)
	errs := make([]error, submissions)
	var wait sync.WaitGroup
	for i := range submissions {
		wait.Go(func() {
			copied := *request
			receipts[i], errs[i] = h.service.Register(context.Background(), "parent-1", &copied)
		})
	}
	wait.Wait()

	created := 0
	for i, receipt := range receipts {
		if errs[i] != nil {
			t.Errorf("submission %d returned %v", i, errs[i])
			continue
		}
		if receipt.Number != receipts[0].Number {
			t.Errorf("submission %d got number %q, want %q like the first", i, receipt.Number, receipts[0].Number)
		}
		if !receipt.Duplicate {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d submissions were not duplicates, want exactly 1", created)
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
}

func TestRegisterConcurrentDifferent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	const submissions = 50

	receipts := make([]submit.Receipt, submissions)
	errs := make([]error, submissions)
	var wait sync.WaitGroup
	for i := range submissions {
		wait.Go(func() {
			variant := *request
			variant.Guardians = []precheck.GuardianRequest{request.Guardians[0]}
			variant.Guardians[0].Phone = fmt.Sprintf("139000000%02d", i)
			receipts[i], errs[i] = h.service.Register(context.Background(), "parent-1", &variant)
		})
	}
	wait.Wait()

	var accepted []string
	conflicts := 0
	for i, err := range errs {
		if err == nil {
			accepted = append(accepted, receipts[i].Number)
			continue
		}
		apiErr := apierror.As(err)
		if apiErr == nil || apiErr.Code != "already_registered" {
			t.Errorf("submission %d returned %v, want already_registered", i, err)
			continue
		}
		conflicts++
	}
	if len(accepted) != 1 {
		t.Fatalf("%d submissions were accepted, want 1: %v", len(accepted), accepted)
	}
	if conflicts != submissions-1 {
		t.Errorf("%d conflicts, want %d", conflicts, submissions-1)
	}
	for i, err := range errs {
		if apiErr := apierror.As(err); apiErr != nil && apiErr.Detail["registrationNumber"] != accepted[0] {
			t.Errorf("conflict %d names %q, want the accepted %q", i, apiErr.Detail["registrationNumber"], accepted[0])
		}
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
}

func TestRegisterInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Name = "<b>张</b>"

	receipt, err := h.service.Register(context.Background(), "parent-1", request)

	edgetest.CheckError(t, err, http.StatusBadRequest, "invalid_name_markup", "child.name")
	if receipt.Number != "" {
		t.Errorf("receipt %q returned with an error", receipt.Number)
	}
	if got := h.streamLength(t); got != 0 {
		t.Errorf("stream length = %d, want 0", got)
	}
}

func TestRegisterWithoutCatalogue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.service.Catalogue = catalogue.NewStore(h.redis.Client, h.keys)

	_, err := h.service.Register(context.Background(), "parent-1", h.fixture.Registration(t))

	edgetest.CheckError(t, err, http.StatusServiceUnavailable, "not_ready", "")
}

func TestRegisterNumbersAscend(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var numbers []string
	for range 3 {
		numbers = append(numbers, h.register(t, "parent-1", h.fixture.Registration(t)).Number)
	}
	for i := 1; i < len(numbers); i++ {
		if numbers[i] <= numbers[i-1] {
			t.Errorf("number %d %q is not after %q", i, numbers[i], numbers[i-1])
		}
	}

	receipts, err := h.service.OwnerReceipts(context.Background(), "parent-1")
	if err != nil {
		t.Fatalf("OwnerReceipts returned %v", err)
	}
	if len(receipts) != 3 {
		t.Fatalf("OwnerReceipts returned %d receipts, want 3", len(receipts))
	}
	if receipts[0].ReceiptNumber != numbers[2] {
		t.Errorf("first receipt = %q, want the newest %q", receipts[0].ReceiptNumber, numbers[2])
	}
	others, err := h.service.OwnerReceipts(context.Background(), "parent-2")
	if err != nil {
		t.Fatalf("OwnerReceipts of another parent returned %v", err)
	}
	if len(others) != 0 {
		t.Errorf("another parent sees %d receipts, want 0", len(others))
	}
}

func TestReceiptStatusNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	number := h.register(t, "parent-1", h.fixture.Registration(t)).Number
	tests := []struct {
		name    string
		subject string
		number  string
	}{
		{"another parent", "parent-2", number},
		{"malformed number", "parent-1", "12345"},
		{"wrong check digit", "parent-1", number[:11] + string('0'+(number[11]-'0'+1)%10)},
		{"unknown number", "parent-1", enrolment.FormatRegistrationNumber(h.fixture.Year.Year, 9999999)},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := h.service.ReceiptStatus(context.Background(), test.subject, test.number)
			edgetest.CheckError(t, err, http.StatusNotFound, "receipt_not_found", "")
		})
	}
}

// TestReceiptOwnerIsBlindIndex checks that Redis holds the parent's blind
// index, never the identity service's subject.
func TestReceiptOwnerIsBlindIndex(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	subject := "subject-7f3e2a"
	number := h.register(t, subject, h.fixture.Registration(t)).Number

	client := h.redis.Client
	fields, err := client.Do(context.Background(), client.B().Hgetall().Key(h.keys.Receipt(number)).Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fields[enrolment.FieldOwner], hex.EncodeToString(h.service.OwnerIndex(subject)); got != want {
		t.Errorf("receipt owner = %q, want the blind index %q", got, want)
	}
	for name, value := range fields {
		if strings.Contains(value, subject) {
			t.Errorf("receipt field %s = %q contains the subject", name, value)
		}
	}
}

// TestRegisterNoDocument registers children without a document, whom the
// edge identifies by name, birth date and first guardian.
func TestRegisterNoDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Document = precheck.DocumentRequest{Type: "none"}
	request.Child.Hukou = precheck.HukouRequest{}
	request.Residence.AtHukouAddress = false
	first := h.register(t, "parent-1", request)

	again := h.register(t, "parent-1", request)
	if again.Number != first.Number || !again.Duplicate {
		t.Errorf("the same registration again = %+v, want duplicate of %s", again, first.Number)
	}

	changed := *request
	changed.Residence.Address = "漕溪北路100弄3号601室"
	_, err := h.service.Register(context.Background(), "parent-1", &changed)
	edgetest.CheckError(t, err, http.StatusConflict, "already_registered", "")

	twin := *request
	twin.Child.Name = "张小亮"
	if receipt := h.register(t, "parent-1", &twin); receipt.Number == first.Number || receipt.Duplicate {
		t.Errorf("a twin with another name = %+v, want a new registration", receipt)
	}
	if got := h.streamLength(t); got != 2 {
		t.Errorf("stream length = %d, want 2", got)
	}
}

// TestRegisterPassportsOfTwoCountries registers two children whose
// passports of different countries share a number: they are two children.
func TestRegisterPassportsOfTwoCountries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Document = precheck.DocumentRequest{Type: "passport", Number: "TK1234567", Nationality: "JPN"}
	request.Child.Hukou = precheck.HukouRequest{}
	request.Residence.AtHukouAddress = false
	first := h.register(t, "parent-1", request)

	changed := *request
	changed.Residence.Address = "漕溪北路100弄3号601室"
	_, err := h.service.Register(context.Background(), "parent-1", &changed)
	edgetest.CheckError(t, err, http.StatusConflict, "already_registered", "")

	other := *request
	other.Child.Name = "金小贤"
	other.Child.Document.Nationality = "KOR"
	if receipt := h.register(t, "parent-2", &other); receipt.Number == first.Number || receipt.Duplicate {
		t.Errorf("a Korean passport with the Japanese one's number = %+v, want a new registration", receipt)
	}
}

// TestRegisterNoDocumentGuardianOrder registers a child without a document
// twice, the second time with the guardians listed the other way round.
// It is the same child, so the second registration must be a conflict.
func TestRegisterNoDocumentGuardianOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	request := h.fixture.Registration(t)
	request.Child.Document = precheck.DocumentRequest{Type: "none"}
	request.Child.Hukou = precheck.HukouRequest{}
	request.Residence.AtHukouAddress = false
	request.Guardians = append(request.Guardians, precheck.GuardianRequest{
		Relation: "father", Name: "张伟", Phone: "13800000001",
		Document: precheck.DocumentRequest{Type: "resident_id", Number: edgetest.GuardianID(8, 'M')},
	})
	first := h.register(t, "parent-1", request)

	swapped := *request
	swapped.Guardians = []precheck.GuardianRequest{request.Guardians[1], request.Guardians[0]}
	receipt, err := h.service.Register(context.Background(), "parent-1", &swapped)

	if err == nil {
		t.Fatalf("the same child was registered again as %s (first %s)", receipt.Number, first.Number)
	}
	edgetest.CheckError(t, err, http.StatusConflict, "already_registered", "")
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want 1", got)
	}
}

// TestOwnerReceiptsSameSecond lists two receipts accepted within one
// second, at .5 and .55 seconds, whose times format with different numbers
// of fraction digits.
func TestOwnerReceiptsSameSecond(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	second := time.Now().Truncate(time.Second)
	clock := second.Add(500 * time.Millisecond)
	h.service.Now = func() time.Time { return clock }
	older := h.register(t, "parent-1", h.fixture.Registration(t))
	clock = second.Add(550 * time.Millisecond)
	newer := h.register(t, "parent-1", h.fixture.Registration(t))

	receipts, err := h.service.OwnerReceipts(context.Background(), "parent-1")
	if err != nil {
		t.Fatalf("OwnerReceipts returned %v", err)
	}

	if len(receipts) != 2 {
		t.Fatalf("got %d receipts, want 2", len(receipts))
	}
	if receipts[0].ReceiptNumber != newer.Number {
		t.Errorf("first receipt = %s accepted at %s, want the newer %s", receipts[0].ReceiptNumber, receipts[0].AcceptedAt, newer.Number)
	}
	if receipts[1].ReceiptNumber != older.Number {
		t.Errorf("second receipt = %s, want the older %s", receipts[1].ReceiptNumber, older.Number)
	}
}
