package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// account is a bench.* staff account with its data scope.
type account struct {
	Username     string         `db:"username"`
	Role         string         `db:"role_code"`
	District     sql.NullString `db:"district_code"`
	Street       sql.NullString `db:"street_code"`
	Kindergarten sql.NullInt64  `db:"kindergarten_id"`
}

// user is a signed-in bench account.
type user struct {
	account
	cookie string
}

// sample is one request's page and latency.
type sample struct {
	page    string
	latency time.Duration
	failed  bool
}

func runLoad(ctx context.Context, db *sqlx.DB, args []string) error {
	flags := flag.NewFlagSet("staffbench run", flag.ContinueOnError)
	baseURL := flags.String("url", "http://127.0.0.1:8081", "back office base URL (a loopback address)")
	staffCount := flags.Int("staff", 120, "concurrent staff members, each a bench.* account")
	duration := flags.Duration("duration", 60*time.Second, "how long the staff browse after all have signed in")
	think := flags.Duration("think", time.Second, "mean pause between one staff member's requests (uniform from 0 to twice this), as a person reads a page")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*baseURL); err != nil {
		return err
	}
	var accounts []account
	err := db.SelectContext(ctx, &accounts, `SELECT username, role_code, district_code, street_code, kindergarten_id
		FROM staff_user WHERE username LIKE 'bench.%' ORDER BY username LIMIT $1`, *staffCount)
	if err != nil {
		return err
	}
	if len(accounts) < *staffCount {
		return fmt.Errorf("found %d bench.* accounts, want %d: run staffbench prepare -staff %d first", len(accounts), *staffCount, *staffCount)
	}
	var dictionaries, districts []string
	if err := db.SelectContext(ctx, &dictionaries, `SELECT code FROM dictionary ORDER BY code`); err != nil {
		return err
	}
	if err := db.SelectContext(ctx, &districts, `SELECT code FROM district ORDER BY sort_order`); err != nil {
		return err
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *staffCount + 10}}
	users, err := signInAll(ctx, client, *baseURL, accounts)
	if err != nil {
		return err
	}
	fmt.Printf("signed in %d staff members\n", len(users))
	roles := map[string]int{}
	for _, u := range users {
		roles[u.Role]++
	}
	fmt.Printf("roles: %v\n", roles)

	loadCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	started := time.Now()
	samples := make([][]sample, len(users))
	var failures atomic.Int64
	var wait sync.WaitGroup
	for i, u := range users {
		wait.Add(1)
		go func() {
			defer wait.Done()
			random := mathrand.New(mathrand.NewPCG(uint64(i), 7))
			// Staff do not all start in the same millisecond.
			pause(loadCtx, time.Duration(random.Int64N(int64(*think)+1)))
			for loadCtx.Err() == nil {
				page, path := u.nextPage(random, dictionaries, districts)
				begun := time.Now()
				status, body, err := get(loadCtx, client, *baseURL+path, u.cookie)
				if loadCtx.Err() != nil {
					return // a request cut by the end of the run is not counted
				}
				failed := err != nil || status != http.StatusOK
				if failed && failures.Add(1) <= 5 {
					fmt.Printf("error: %s GET %s: status %d %v %.200s\n", u.Username, path, status, err, body)
				}
				samples[i] = append(samples[i], sample{page: page, latency: time.Since(begun), failed: failed})
				pause(loadCtx, time.Duration(random.Int64N(2*int64(*think)+1)))
			}
		}()
	}
	wait.Wait()
	elapsed := time.Since(started)
	report(slices.Concat(samples...), len(users), elapsed)
	return nil
}

func checkLoopback(base string) error {
	parsed, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("invalid -url %q: %w", base, err)
	}
	switch parsed.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return nil
	}
	return fmt.Errorf("invalid -url %q: the bench sends load only to a back office on this machine (127.0.0.1 or ::1)", base)
}

func pause(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// nextPage picks the list page a staff member of this role opens next: the
// pages the role's menu offers, with a random page number (mostly the
// first pages) and, now and then, a filter.
func (u *user) nextPage(random *mathrand.Rand, dictionaries, districts []string) (string, string) {
	pageNumber := strconv.Itoa(1 + random.IntN(5))
	if random.IntN(2) == 0 {
		pageNumber = "1"
	}
	paging := "page=" + pageNumber + "&size=20"
	statusFilter := ""
	if random.IntN(3) == 0 {
		statusFilter = "&status=recorded"
	}
	districtFilter := ""
	switch {
	case u.Role == "city_admin" && random.IntN(3) == 0:
		districtFilter = "&district=" + districts[random.IntN(len(districts))]
	case u.Role == "district_admin" && random.IntN(3) == 0:
		districtFilter = "&district=" + u.District.String
	}
	dictionary := dictionaries[random.IntN(len(dictionaries))]
	orgTree := "/api/v1/org/tree"
	if u.District.Valid && random.IntN(2) == 0 {
		orgTree += "?parent=district:" + u.District.String
	}

	type choice struct{ page, path string }
	var choices []choice
	switch u.Role {
	case "city_admin", "district_admin":
		choices = []choice{
			{"registrations", "/api/v1/registrations?" + paging + statusFilter + districtFilter},
			{"registrations", "/api/v1/registrations?" + paging + statusFilter + districtFilter},
			{"applications", "/api/v1/applications?" + paging + statusFilter + districtFilter},
			{"applications", "/api/v1/applications?" + paging + statusFilter + districtFilter},
			{"dictionaries", "/api/v1/dictionaries"},
			{"dictionary-items", "/api/v1/dictionaries/" + dictionary + "/items"},
			{"org-tree", orgTree},
		}
	case "street_officer", "kindergarten_admin":
		choices = []choice{
			{"registrations", "/api/v1/registrations?" + paging + statusFilter},
			{"registrations", "/api/v1/registrations?" + paging + statusFilter},
			{"applications", "/api/v1/applications?" + paging + statusFilter},
			{"dictionary-items", "/api/v1/dictionaries/" + dictionary + "/items"},
			{"org-tree", "/api/v1/org/tree"},
		}
	case "auditor":
		choices = []choice{
			{"audit-events", "/api/v1/audit-events?" + paging},
			{"audit-events", "/api/v1/audit-events?" + paging + "&outcome=success&action=dictionary"},
			{"login-log", "/api/v1/login-log?" + paging},
		}
	case "security_admin":
		choices = []choice{
			{"staff", "/api/v1/staff?" + paging},
			{"staff", "/api/v1/staff?" + paging + "&role=district_admin"},
			{"org-tree", "/api/v1/org/tree"},
		}
	default:
		choices = []choice{{"org-tree", "/api/v1/org/tree"}}
	}
	picked := choices[random.IntN(len(choices))]
	return picked.page, picked.path
}

func get(ctx context.Context, client *http.Client, target, cookie string) (int, []byte, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, err
	}
	request.Header.Set("Cookie", "bo_session="+cookie)
	response, err := client.Do(request)
	if err != nil {
		return 0, nil, err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	return response.StatusCode, body, err
}

// signInAll signs every account in with the password and a TOTP code,
// enrolling TOTP on the first sign-in, four at a time because each
// sign-in costs the back office one PBKDF2 verification.
func signInAll(ctx context.Context, client *http.Client, base string, accounts []account) ([]*user, error) {
	users := make([]*user, len(accounts))
	errs := make([]error, len(accounts))
	var next atomic.Int64
	var wait sync.WaitGroup
	for range 4 {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(accounts) || ctx.Err() != nil {
					return
				}
				users[i], errs[i] = signIn(ctx, client, base, accounts[i])
			}
		}()
	}
	wait.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return users, ctx.Err()
}

func signIn(ctx context.Context, client *http.Client, base string, a account) (*user, error) {
	var login struct {
		Next      string `json:"next"`
		Challenge string `json:"challenge"`
		Enrolment *struct {
			Secret string `json:"secret"`
		} `json:"enrolment"`
	}
	if _, err := post(ctx, client, base+"/api/v1/auth/login", map[string]string{"username": a.Username, "password": password}, &login); err != nil {
		return nil, fmt.Errorf("sign in %s: %w", a.Username, err)
	}
	if login.Enrolment == nil {
		return nil, fmt.Errorf("sign in %s: TOTP is already enrolled, so the bench cannot compute codes: prepare a fresh database", a.Username)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(login.Enrolment.Secret)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: invalid TOTP secret: %w", a.Username, err)
	}
	code := totpCode(secret, time.Now().Unix()/30)
	cookie, err := post(ctx, client, base+"/api/v1/auth/totp", map[string]string{"challenge": login.Challenge, "code": code}, nil)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", a.Username, err)
	}
	if cookie == "" {
		return nil, fmt.Errorf("sign in %s: no session cookie", a.Username)
	}
	return &user{account: a, cookie: cookie}, nil
}

// post sends a JSON body, decodes a 200 response into into when it is not
// nil, and returns the session cookie the response set.
func post(ctx context.Context, client *http.Client, target string, body any, into any) (string, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := client.Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	answer, err := io.ReadAll(response.Body)
	if err != nil {
		return "", err
	}
	if response.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: status %d %s", target, response.StatusCode, answer)
	}
	if into != nil {
		if err := json.Unmarshal(answer, into); err != nil {
			return "", fmt.Errorf("POST %s: invalid body %s: %w", target, answer, err)
		}
	}
	for _, cookie := range response.Cookies() {
		if cookie.Name == "bo_session" {
			return cookie.Value, nil
		}
	}
	return "", nil
}

// totpCode is RFC 6238's six-digit HMAC-SHA1 code of a 30-second step.
func totpCode(secret []byte, step int64) string {
	mac := hmac.New(sha1.New, secret)
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(step))
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", value%1_000_000)
}

// report prints a line per page and the result line.
func report(samples []sample, staff int, elapsed time.Duration) {
	byPage := map[string][]time.Duration{}
	var all []time.Duration
	failed := 0
	for _, s := range samples {
		byPage[s.page] = append(byPage[s.page], s.latency)
		all = append(all, s.latency)
		if s.failed {
			failed++
		}
	}
	pages := make([]string, 0, len(byPage))
	for page := range byPage {
		pages = append(pages, page)
	}
	sort.Strings(pages)
	for _, page := range pages {
		latencies := byPage[page]
		fmt.Printf("page=%s requests=%d p50_ms=%s p95_ms=%s p99_ms=%s\n", page, len(latencies),
			percentile(latencies, 0.50), percentile(latencies, 0.95), percentile(latencies, 0.99))
	}
	fmt.Println(strings.Join([]string{
		"staff=" + strconv.Itoa(staff),
		"requests=" + strconv.Itoa(len(all)),
		fmt.Sprintf("requests_per_s=%.1f", float64(len(all))/elapsed.Seconds()),
		"p50_ms=" + percentile(all, 0.50),
		"p95_ms=" + percentile(all, 0.95),
		"p99_ms=" + percentile(all, 0.99),
		"max_ms=" + percentile(all, 1),
		"errors=" + strconv.Itoa(failed),
	}, " "))
}

// percentile returns the nearest-rank percentile in milliseconds.
func percentile(latencies []time.Duration, p float64) string {
	if len(latencies) == 0 {
		return "0"
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	rank := int(p*float64(len(sorted))+0.999999) - 1
	rank = min(max(rank, 0), len(sorted)-1)
	return fmt.Sprintf("%.1f", float64(sorted[rank].Microseconds())/1000)
}
