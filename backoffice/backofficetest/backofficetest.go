// Package backofficetest sets up what the back office's tests share. Env
// holds a fresh seeded database, a Redis key prefix, a keyring and the
// edge's submission service on a catalogue built from the published
// snapshot. Helpers read the stream, the receipts and the tables.
// Submissions made through Env are the stream entries the edge writes in
// production.
package backofficetest

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dictionary"
	"github.com/sh-preschool/preschool/backoffice/drain"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/forms"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/backoffice/server"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// Kindergartens is how many kindergartens New seeds: enough for every
// district to have campuses, few enough to seed in a few seconds.
const Kindergartens = 200

// SigningKeyID names the SM2 key of Env.SigningKeyPath.
const SigningKeyID = "test-signing"

// Districts used by the tests.
const (
	Xuhui     = "310104" // 徐汇区
	Changning = "310105" // 长宁区
	Pudong    = "310115" // 浦东新区
)

// Env is one test's back-office environment.
type Env struct {
	DB          *testenv.Database
	Redis       *testenv.Redis
	Keys        enrol.Keys
	Keyring     *crypto.Keyring
	KeyringPath string
	// SigningKeyPath is the SM2 key that signs access-control rows and
	// audit checkpoints, under SigningKeyID.
	SigningKeyPath string
	// Integrity signs and verifies access-control rows with that key.
	Integrity *access.Integrity
	Snapshot  *snapshot.Snapshot
	Catalogue *catalogue.Catalogue
	Service   *submit.Service
	Year      snapshot.Year

	addressesMu sync.Mutex
	addresses   map[string]Address
}

// New seeds a fresh database (demo windows open now), publishes the
// snapshot under a fresh Redis prefix and builds the edge's Service on it.
func New(t testing.TB) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	database := testenv.NewDatabase(t)
	if _, err := seed.Run(ctx, database.DB, seed.Options{Now: time.Now(), Demo: true, Kindergartens: Kindergartens}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if err := dictionary.Seed(ctx, database.DB); err != nil {
		t.Fatalf("seed dictionaries: %v", err)
	}
	if err := forms.Seed(ctx, database.DB); err != nil {
		t.Fatalf("seed form library: %v", err)
	}

	redis := testenv.NewRedis(t)
	keys := enrol.Keys{Prefix: redis.Prefix}

	keyringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath, "k1"); err != nil {
		t.Fatalf("write keyring: %v", err)
	}
	keyring, err := crypto.LoadKeyringFile(keyringPath)
	if err != nil {
		t.Fatalf("load keyring: %v", err)
	}

	signingKeyPath := filepath.Join(t.TempDir(), "signing-key.pem")
	signingKey, err := crypto.GenerateSM2Key()
	if err != nil {
		t.Fatalf("generate signing key: %v", err)
	}
	if err := crypto.WriteSM2PrivateKeyFile(signingKeyPath, signingKey); err != nil {
		t.Fatalf("write signing key: %v", err)
	}
	providerConfig := crypto.ProviderConfig{KeyringFile: keyringPath, SigningKeyFile: signingKeyPath, SigningKeyID: SigningKeyID}
	integrity, err := server.NewIntegrity(ctx, providerConfig, database.DB, &audit.Trail{DB: database.DB, Now: time.Now})
	if err != nil {
		t.Fatalf("signing of access-control rows: %v", err)
	}

	env := &Env{DB: database, Redis: redis, Keys: keys, Keyring: keyring, KeyringPath: keyringPath,
		SigningKeyPath: signingKeyPath, Integrity: integrity}
	env.Republish(t)
	return env
}

// Republish publishes a snapshot of the database to Redis and points the
// Service at a catalogue built from it.
func (e *Env) Republish(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	publisher := &publish.Publisher{DB: e.DB.DB, Redis: e.Redis.Client, Keys: e.Keys, Now: time.Now}
	published, err := publisher.Publish(ctx)
	if err != nil {
		t.Fatalf("publish snapshot: %v", err)
	}
	current, err := catalogue.New(published)
	if err != nil {
		t.Fatalf("build catalogue: %v", err)
	}
	year, ok := current.CurrentYear()
	if !ok {
		t.Fatal("the published snapshot has no enrolment year")
	}
	store := catalogue.NewStore(e.Redis.Client, e.Keys)
	store.Set(current)
	e.Snapshot, e.Catalogue, e.Year = published, current, year
	e.addressesMu.Lock()
	e.addresses = nil
	e.addressesMu.Unlock()
	e.Service = &submit.Service{
		Redis: e.Redis.Client, Keys: e.Keys, Keyring: e.Keyring, Catalogue: store,
		Now: time.Now, ReceiptTTL: 24 * time.Hour, Timeout: 10 * time.Second,
	}
	return published
}

// Address is a street and committee of one district, taken from the
// catalogue.
type Address struct {
	District, Street, Committee string
}

// AddressIn returns the first street of district (by code) that has
// committees, with its first committee.
func (e *Env) AddressIn(t testing.TB, district string) Address {
	t.Helper()
	e.addressesMu.Lock()
	defer e.addressesMu.Unlock()
	if address, ok := e.addresses[district]; ok {
		return address
	}
	committees := map[string][]string{}
	for _, committee := range e.Snapshot.Committees {
		committees[committee.StreetCode] = append(committees[committee.StreetCode], committee.Code)
	}
	var streets []string
	for _, street := range e.Snapshot.Streets {
		if street.DistrictCode == district && len(committees[street.Code]) > 0 {
			streets = append(streets, street.Code)
		}
	}
	if len(streets) == 0 {
		t.Fatalf("district %s has no street with committees in the snapshot", district)
	}
	sort.Strings(streets)
	chosen := committees[streets[0]]
	sort.Strings(chosen)
	if e.addresses == nil {
		e.addresses = map[string]Address{}
	}
	e.addresses[district] = Address{District: district, Street: streets[0], Committee: chosen[0]}
	return e.addresses[district]
}

// childBirth returns a birth date inside the year's window. With the
// sequence code baseRequest derives from i, it makes the resident ID of
// child i unique for i below 150,000.
func (e *Env) childBirth(t testing.TB, i int) time.Time {
	t.Helper()
	from, err := time.Parse(time.DateOnly, e.Year.BirthFrom)
	if err != nil {
		t.Fatalf("invalid birthFrom %q: %v", e.Year.BirthFrom, err)
	}
	return from.AddDate(0, 0, i%300)
}

// ShanghaiChild returns a valid registration of child i, a girl or boy with
// a resident ID, Shanghai hukou in hukouDistrict and home in
// residenceDistrict.
func (e *Env) ShanghaiChild(t testing.TB, i int, hukouDistrict, residenceDistrict string) *precheck.RegistrationRequest {
	t.Helper()
	request := e.baseRequest(t, i, residenceDistrict)
	hukou := e.AddressIn(t, hukouDistrict)
	request.Child.Hukou = precheck.HukouRequest{
		InShanghai: true, DistrictCode: hukou.District, StreetCode: hukou.Street, CommitteeCode: hukou.Committee,
		Address: "户籍路" + strconv.Itoa(i+1) + "号",
	}
	request.Residence.AtHukouAddress = hukouDistrict == residenceDistrict
	return request
}

// OtherProvinceChild returns a valid registration of child i with a
// resident ID, hukou in 江苏省 and home in residenceDistrict; its
// hukou_district_code is NULL once stored.
func (e *Env) OtherProvinceChild(t testing.TB, i int, residenceDistrict string) *precheck.RegistrationRequest {
	t.Helper()
	request := e.baseRequest(t, i, residenceDistrict)
	request.Child.Hukou = precheck.HukouRequest{InShanghai: false, Province: "江苏省"}
	request.Guardians[0].HukouInShanghai = false
	request.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: enrol.ResidencePermit, Number: "SH" + strconv.Itoa(100000+i)}
	return request
}

// NoDocumentChild returns a valid registration of child i, who has no
// identity document, living in residenceDistrict.
func (e *Env) NoDocumentChild(t testing.TB, i int, residenceDistrict string) *precheck.RegistrationRequest {
	t.Helper()
	request := e.OtherProvinceChild(t, i, residenceDistrict)
	request.Child.Document = precheck.DocumentRequest{Type: string(document.None)}
	request.Child.Hukou.Province = ""
	return request
}

func (e *Env) baseRequest(t testing.TB, i int, residenceDistrict string) *precheck.RegistrationRequest {
	t.Helper()
	birth := e.childBirth(t, i)
	sex := byte('F')
	if i%2 == 0 {
		sex = 'M'
	}
	childID := document.ValidResidentIDForTest("310104", birth, (i/300)%500, sex)
	guardianBirth := time.Date(1985, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%3000)
	guardianID := document.ValidResidentIDForTest("310105", guardianBirth, (i/3000)%500, 'F')
	residence := e.AddressIn(t, residenceDistrict)
	return &precheck.RegistrationRequest{
		EnrolmentYear: e.Year.Year,
		Child: precheck.ChildRequest{
			Name: ChildName(i), Sex: string(sex), BirthDate: birth.Format(time.DateOnly),
			Document: precheck.DocumentRequest{Type: string(document.ResidentID), Number: childID},
		},
		Residence: precheck.ResidenceRequest{
			DistrictCode: residence.District, StreetCode: residence.Street, CommitteeCode: residence.Committee,
			Address: "居住路" + strconv.Itoa(i+1) + "号",
		},
		Guardians: []precheck.GuardianRequest{{
			Relation: "mother", Name: "李芳", Phone: "13800138000",
			Document:        precheck.DocumentRequest{Type: string(document.ResidentID), Number: guardianID},
			HukouInShanghai: true,
		}},
	}
}

var givenNames = []rune("明华伟芳娜静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英")

// ChildName returns a Han name that differs for each i below 576.
func ChildName(i int) string {
	return "张" + string(givenNames[i%len(givenNames)]) + string(givenNames[(i/len(givenNames))%len(givenNames)])
}

// Subject returns the identity subject of parent i.
func Subject(i int) string { return "parent-" + strconv.Itoa(i) }

// Register submits request through the edge's Service as parent subject
// and returns the receipt number.
func (e *Env) Register(t testing.TB, subject string, request *precheck.RegistrationRequest) string {
	t.Helper()
	receipt, err := e.Service.Register(context.Background(), subject, request)
	if err != nil {
		t.Fatalf("Register(%s, %s): %v", subject, request.Child.Name, err)
	}
	return receipt.Number
}

// ApplicationRequest returns an application of registration number to
// district with the entry the pre-check offers and its first matched
// campus.
func (e *Env) ApplicationRequest(t testing.TB, subject, registrationNumber, district string) *precheck.ApplicationRequest {
	t.Helper()
	facts, err := e.Service.RegistrationFacts(context.Background(), e.Service.OwnerIndex(subject), registrationNumber)
	if err != nil {
		t.Fatalf("registration facts of %s: %v", registrationNumber, err)
	}
	options, err := precheck.ApplicationOptions(facts, district, e.Catalogue, time.Now())
	if err != nil {
		t.Fatalf("application options of %s in %s: %v", registrationNumber, district, err)
	}
	if len(options.Campuses) == 0 {
		t.Fatalf("no campus matches registration %s in %s", registrationNumber, district)
	}
	return &precheck.ApplicationRequest{
		RegistrationNumber: registrationNumber, DistrictCode: district,
		CategoryCode: options.Entry.CategoryCode, CampusChoices: options.Campuses[:1],
	}
}

// SubmitApplication submits request through the edge's Service as parent
// subject and returns the receipt number.
func (e *Env) SubmitApplication(t testing.TB, subject string, request *precheck.ApplicationRequest) string {
	t.Helper()
	receipt, err := e.Service.Apply(context.Background(), subject, request)
	if err != nil {
		t.Fatalf("Apply(%s, %s, %s): %v", subject, request.RegistrationNumber, request.DistrictCode, err)
	}
	return receipt.Number
}

// Apply submits the application ApplicationRequest returns and returns the
// receipt number.
func (e *Env) Apply(t testing.TB, subject, registrationNumber, district string) string {
	t.Helper()
	return e.SubmitApplication(t, subject, e.ApplicationRequest(t, subject, registrationNumber, district))
}

// DrainConfig is a drainer configuration for tests: small batches, a short
// block, and reclaim and trim that never run on their own (an hour apart).
func DrainConfig(consumer string) drain.Config {
	return drain.Config{
		Consumer: consumer, BatchSize: 100, Block: 50 * time.Millisecond,
		ClaimIdle: time.Hour, ClaimInterval: time.Hour, MaxDeliveries: 3,
		TrimInterval: time.Hour, ReceiptTTL: 24 * time.Hour,
	}
}

// Drainer returns a drainer on the environment's stream and database.
func (e *Env) Drainer(config drain.Config) *drain.Drainer {
	return drain.New(e.Redis.Client, e.Keys, &enrolment.Store{DB: e.DB.DB}, config, nil)
}

// Running is a drainer running in the background.
type Running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start creates the consumer group, so the stream can be inspected at
// once, and runs d until Stop or the end of the test.
func Start(t testing.TB, d *drain.Drainer) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.EnsureGroup(ctx); err != nil {
		cancel()
		t.Fatalf("EnsureGroup: %v", err)
	}
	running := &Running{cancel: cancel, done: make(chan struct{})}
	go func() {
		running.err = d.Run(ctx)
		close(running.done)
	}()
	t.Cleanup(func() { running.Stop(t) })
	return running
}

// Stop cancels the drainer and returns what Run returned. It fails the test
// when Run has not returned 30 seconds after the cancellation.
func (r *Running) Stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(30 * time.Second):
		t.Errorf("drainer Run did not return within 30s of its context being cancelled")
		return nil
	}
}

// Done is closed when Run returns; Err then returns its result.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err returns what Run returned, once Done is closed.
func (r *Running) Err() error { return r.err }

// WaitFor polls condition every 20 ms until it returns true, and fails the
// test with what when it has not within timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, condition func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		done, err := condition()
		if err == nil && done {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Count runs a count query.
func (e *Env) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.DB.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// WaitForRows waits until query counts want rows.
func (e *Env) WaitForRows(t testing.TB, timeout time.Duration, want int, query string, args ...any) {
	t.Helper()
	WaitFor(t, timeout, fmt.Sprintf("%d rows from %s", want, query), func() (bool, error) {
		var n int
		if err := e.DB.DB.Get(&n, query, args...); err != nil {
			return false, err
		}
		return n == want, nil
	})
}

// Receipt returns the fields of a receipt hash, with "status" the status a
// parent sees (the stored status, or "recorded" once the entry is below the
// drainer's watermark; see enrolment.EffectiveStatus). A hash Redis does not
// hold comes back empty.
func (e *Env) Receipt(t testing.TB, number string) map[string]string {
	t.Helper()
	fields, err := e.do(e.Redis.Client.B().Hgetall().Key(e.Keys.Receipt(number)).Build()).AsStrMap()
	if err != nil {
		t.Fatalf("HGETALL receipt %s: %v", number, err)
	}
	watermark, err := e.do(e.Redis.Client.B().Get().Key(e.Keys.Watermark()).Build()).ToString()
	if err != nil && !rueidis.IsRedisNil(err) {
		t.Fatalf("GET watermark: %v", err)
	}
	if len(fields) > 0 {
		fields[enrol.FieldStatus] = enrol.EffectiveStatus(fields, watermark)
	}
	return fields
}

// WaitForDrained waits until no entry is pending and the watermark has
// passed the stream's last entry, so that every stored entry reads as
// recorded. A drainer raises the watermark just after it acknowledges a
// batch. A test that stopped it in between would read the last batch as
// accepted.
func (e *Env) WaitForDrained(t testing.TB, timeout time.Duration) {
	t.Helper()
	WaitFor(t, timeout, "no pending entries and the watermark past the last entry", func() (bool, error) {
		if e.Pending(t) != 0 {
			return false, nil
		}
		last, err := e.do(e.Redis.Client.B().Xrevrange().Key(e.Keys.Stream()).End("+").Start("-").Count(1).Build()).AsXRange()
		if err != nil {
			return false, err
		}
		if len(last) == 0 {
			return true, nil
		}
		watermark, err := e.do(e.Redis.Client.B().Get().Key(e.Keys.Watermark()).Build()).ToString()
		if rueidis.IsRedisNil(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return enrol.LessStreamID(last[0].ID, watermark), nil
	})
}

// Pending returns the number of entries pending in the consumer group.
func (e *Env) Pending(t testing.TB) int64 {
	t.Helper()
	summary, err := e.do(e.Redis.Client.B().Xpending().Key(e.Keys.Stream()).Group(e.Keys.ConsumerGroup()).Build()).ToArray()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	if len(summary) == 0 {
		return 0
	}
	count, err := summary[0].AsInt64()
	if err != nil {
		t.Fatalf("XPENDING count: %v", err)
	}
	return count
}

// PendingOf returns the IDs pending for one consumer.
func (e *Env) PendingOf(t testing.TB, consumer string) []string {
	t.Helper()
	client := e.Redis.Client
	reply, err := e.do(client.B().Xpending().Key(e.Keys.Stream()).Group(e.Keys.ConsumerGroup()).
		Start("-").End("+").Count(1_000_000).Consumer(consumer).Build()).ToArray()
	if err != nil {
		t.Fatalf("XPENDING %s: %v", consumer, err)
	}
	ids := make([]string, 0, len(reply))
	for _, item := range reply {
		fields, err := item.ToArray()
		if err != nil || len(fields) == 0 {
			t.Fatalf("XPENDING %s: malformed reply: %v", consumer, err)
		}
		id, _ := fields[0].ToString()
		ids = append(ids, id)
	}
	return ids
}

// StreamEntries returns every entry of the submissions stream.
func (e *Env) StreamEntries(t testing.TB) []rueidis.XRangeEntry {
	t.Helper()
	return e.xrange(t, e.Keys.Stream())
}

// DeadLetters returns every entry of the dead-letter stream.
func (e *Env) DeadLetters(t testing.TB) []rueidis.XRangeEntry {
	t.Helper()
	return e.xrange(t, e.Keys.DeadLetter())
}

func (e *Env) xrange(t testing.TB, key string) []rueidis.XRangeEntry {
	t.Helper()
	entries, err := e.do(e.Redis.Client.B().Xrange().Key(key).Start("-").End("+").Build()).AsXRange()
	if err != nil && !rueidis.IsRedisNil(err) {
		t.Fatalf("XRANGE %s: %v", key, err)
	}
	return entries
}

// StreamLength returns XLEN of the submissions stream.
func (e *Env) StreamLength(t testing.TB) int64 {
	t.Helper()
	n, err := e.do(e.Redis.Client.B().Xlen().Key(e.Keys.Stream()).Build()).AsInt64()
	if err != nil {
		t.Fatalf("XLEN: %v", err)
	}
	return n
}

// AddEntry appends an entry with the given field/value pairs to the
// submissions stream and returns its ID.
func (e *Env) AddEntry(t testing.TB, fieldValues ...string) string {
	t.Helper()
	if len(fieldValues)%2 != 0 {
		t.Fatalf("AddEntry needs field/value pairs, got %d strings", len(fieldValues))
	}
	command := e.Redis.Client.B().Xadd().Key(e.Keys.Stream()).Id("*").FieldValue()
	for i := 0; i < len(fieldValues); i += 2 {
		command = command.FieldValue(fieldValues[i], fieldValues[i+1])
	}
	id, err := e.do(command.Build()).ToString()
	if err != nil {
		t.Fatalf("XADD: %v", err)
	}
	return id
}

// AddRecord appends a record as the edge would, with its kind and number.
func (e *Env) AddRecord(t testing.TB, kind, number string, record any) string {
	t.Helper()
	body, err := enrol.EncodeRecord(record)
	if err != nil {
		t.Fatalf("encode %s %s: %v", kind, number, err)
	}
	return e.AddEntry(t, enrol.StreamFieldKind, kind, enrol.StreamFieldNumber, number, enrol.StreamFieldBody, string(body))
}

// EntryOf returns the stream entry that carries number.
func (e *Env) EntryOf(t testing.TB, number string) rueidis.XRangeEntry {
	t.Helper()
	for _, entry := range e.StreamEntries(t) {
		if entry.FieldValues[enrol.StreamFieldNumber] == number {
			return entry
		}
	}
	t.Fatalf("no stream entry carries number %s", number)
	return rueidis.XRangeEntry{}
}

// RegistrationOf decodes the stream entry of a registration number.
func (e *Env) RegistrationOf(t testing.TB, number string) enrol.RegistrationRecord {
	t.Helper()
	entry := e.EntryOf(t, number)
	record, err := enrol.DecodeRegistration(number, []byte(entry.FieldValues[enrol.StreamFieldBody]))
	if err != nil {
		t.Fatalf("decode registration %s: %v", number, err)
	}
	return record
}

// ApplicationOf decodes the stream entry of an application number.
func (e *Env) ApplicationOf(t testing.TB, number string) enrol.ApplicationRecord {
	t.Helper()
	entry := e.EntryOf(t, number)
	record, err := enrol.DecodeApplication(number, []byte(entry.FieldValues[enrol.StreamFieldBody]))
	if err != nil {
		t.Fatalf("decode application %s: %v", number, err)
	}
	return record
}

// Open opens a sealed value with the keyring and fails the test when it
// does not open.
func (e *Env) Open(t testing.TB, sealed []byte, context string) string {
	t.Helper()
	plain, err := e.Keyring.Open(sealed, context)
	if err != nil {
		t.Fatalf("open %s: %v", context, err)
	}
	return string(plain)
}

func (e *Env) do(command rueidis.Completed) rueidis.RedisResult {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Redis.Client.Do(ctx, command)
}

// Do runs one Redis command with a 10-second timeout.
func (e *Env) Do(command rueidis.Completed) rueidis.RedisResult { return e.do(command) }

// ServerSettings returns the environment variables that point a back office
// at this environment's database, Redis prefix and keyring, listening on
// listen.
func (e *Env) ServerSettings(listen string) map[string]string {
	return map[string]string{
		"BACKOFFICE_LISTEN":       listen,
		"DATABASE_URL":            e.DB.URL,
		"DATABASE_MAX_CONNS":      "5",
		"REDIS_ADDR":              e.Redis.Address,
		"REDIS_PREFIX":            e.Redis.Prefix,
		"CRYPTO_KEYRING_FILE":     e.KeyringPath,
		"CRYPTO_SIGNING_KEY_FILE": e.SigningKeyPath,
		"CRYPTO_SIGNING_KEY_ID":   SigningKeyID,
	}
}

// StartServer starts a back office in this process on a free loopback port,
// with ServerSettings overridden by settings, and closes it when the test
// ends.
func (e *Env) StartServer(t testing.TB, settings map[string]string) *server.BackOffice {
	t.Helper()
	values := e.ServerSettings("127.0.0.1:0")
	maps.Copy(values, settings)
	cfg, err := server.LoadConfig(config.FromMap(values))
	if err != nil {
		t.Fatalf("back-office configuration: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	backOffice, err := server.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start back office: %v", err)
	}
	t.Cleanup(func() {
		if err := backOffice.Close(); err != nil {
			t.Errorf("close back office: %v", err)
		}
	})
	return backOffice
}
