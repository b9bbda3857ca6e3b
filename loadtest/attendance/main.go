// Command attendance loads the attendance dashboard panels of a running
// back office with concurrent staff sessions and prints each panel's
// latency percentiles and one final line of name=value figures.
//
// It signs staff in through the development sign-in, so the back office
// must run with BACKOFFICE_DEV_SIGN_IN=true. A third of the users are city
// admins and the rest district admins of random districts. Each user sends
// one request after another, drawn from the panel mix below, and drills
// down to streets and kindergartens the way a person clicking through the
// pages does. loadtest/attendance.sh starts the stack and runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// panel is one kind of request, with the class the targets use: a simple
// panel shows one figure, list or one-dimension chart (p95 target 200 ms),
// a complex statistic crosses dimensions or periods (500 ms).
type panel struct {
	name    string
	complex bool
	path    func(u *user, rng *rand.Rand) string
}

var panels = []panel{
	{"today", false, func(u *user, rng *rand.Rand) string { return "today" }},
	{"today_drill", false, func(u *user, rng *rand.Rand) string { return "today?" + u.drill(rng) }},
	{"ranking_kindergarten", false, func(u *user, rng *rand.Rand) string {
		return "ranking?by=kindergarten&metric=attendance&limit=20"
	}},
	{"ranking_not_checked", false, func(u *user, rng *rand.Rand) string { return "ranking?by=unit&metric=not_checked" }},
	{"morning_check", false, func(u *user, rng *rand.Rand) string { return "morning-check" }},
	{"abnormal_details", false, func(u *user, rng *rand.Rand) string {
		return "morning-check/abnormal?range=week&kindergarten=" + u.kindergartens[rng.IntN(len(u.kindergartens))]
	}},
	{"trend_week", true, func(u *user, rng *rand.Rand) string { return "trend?range=week&by=unit" }},
	{"trend_year_months", true, func(u *user, rng *rand.Rand) string { return "trend?range=year&granularity=month&by=unit" }},
	{"trend_year_grades", true, func(u *user, rng *rand.Rand) string {
		return "trend?range=year&granularity=day&by=grade&" + u.drill(rng)
	}},
	{"leave_reasons_quarter", true, func(u *user, rng *rand.Rand) string { return "leave-reasons?range=quarter" }},
	{"leave_reasons_year", true, func(u *user, rng *rand.Rand) string { return "leave-reasons?range=year&" + u.drill(rng) }},
	{"arrivals_weather", true, func(u *user, rng *rand.Rand) string { return "arrivals?range=month&by=weather" }},
	{"arrivals_seasons", true, func(u *user, rng *rand.Rand) string { return "arrivals?range=year&by=season&" + u.drill(rng) }},
	{"report_month", true, func(u *user, rng *rand.Rand) string { return "report?range=month&granularity=day" }},
}

// user is one signed-in staff member with the units it may drill into.
type user struct {
	client        *http.Client
	base          string
	district      string   // empty for a city admin
	units         []string // drill-down parameters one level down
	kindergartens []string
}

func (u *user) drill(rng *rand.Rand) string {
	if len(u.units) == 0 {
		return ""
	}
	return u.units[rng.IntN(len(u.units))]
}

// transport keeps one idle connection per user, where Go's default keeps
// two per host, so connections are reused instead of reopened.
var transport = &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000, IdleConnTimeout: time.Minute}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "attendance bench:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("url", "http://127.0.0.1:8081", "back office base URL")
	users := flag.Int("users", 120, "concurrent staff users")
	duration := flag.Duration("duration", 60*time.Second, "how long to send requests after the warm-up")
	warmup := flag.Duration("warmup", 5*time.Second, "how long to send requests before measuring")
	seed := flag.Uint64("seed", 1, "seed of the request mix")
	flag.Parse()

	var districts []string
	{
		probe, err := signIn(*base, "")
		if err != nil {
			return err
		}
		var today struct {
			Units []struct{ Key string }
		}
		if err := probe.getJSON("today", &today); err != nil {
			return err
		}
		for _, unit := range today.Units {
			districts = append(districts, unit.Key)
		}
		if len(districts) == 0 {
			return errors.New("the today panel lists no district: generate data first (backoffice monitoring generate)")
		}
	}

	population := make([]*user, *users)
	var setup sync.WaitGroup
	setupErrors := make(chan error, *users)
	for i := range population {
		setup.Add(1)
		go func() {
			defer setup.Done()
			district := ""
			if i%3 != 0 {
				district = districts[i%len(districts)]
			}
			u, err := signIn(*base, district)
			if err == nil {
				err = u.loadUnits()
			}
			population[i] = u
			setupErrors <- err
		}()
	}
	setup.Wait()
	close(setupErrors)
	for err := range setupErrors {
		if err != nil {
			return err
		}
	}

	var mu sync.Mutex
	latencies := map[string][]time.Duration{}
	failures := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration)
	defer cancel()
	measureFrom := time.Now().Add(*warmup)
	var workers sync.WaitGroup
	for i, u := range population {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(*seed, uint64(i)))
			for ctx.Err() == nil {
				p := panels[rng.IntN(len(panels))]
				started := time.Now()
				err := u.get(ctx, p.path(u, rng))
				elapsed := time.Since(started)
				if ctx.Err() != nil || started.Before(measureFrom) {
					continue
				}
				mu.Lock()
				if err != nil {
					failures[p.name]++
					if failures[p.name] <= 3 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", p.name, err)
					}
				} else {
					latencies[p.name] = append(latencies[p.name], elapsed)
				}
				mu.Unlock()
			}
		}()
	}
	workers.Wait()

	fields := []string{"users=" + strconv.Itoa(*users), "duration_s=" + strconv.Itoa(int(duration.Seconds()))}
	total, failed := 0, 0
	worstSimple, worstComplex := time.Duration(0), time.Duration(0)
	fmt.Printf("%-24s %8s %8s %8s %8s %8s %s\n", "panel", "requests", "errors", "p50_ms", "p95_ms", "p99_ms", "class")
	for _, p := range panels {
		samples := latencies[p.name]
		slices.Sort(samples)
		class := "simple"
		if p.complex {
			class = "complex"
		}
		p95 := percentile(samples, 0.95)
		fmt.Printf("%-24s %8d %8d %8.1f %8.1f %8.1f %s\n", p.name, len(samples), failures[p.name],
			ms(percentile(samples, 0.50)), ms(p95), ms(percentile(samples, 0.99)), class)
		fields = append(fields, p.name+"_p95_ms="+strconv.FormatFloat(ms(p95), 'f', 1, 64))
		total += len(samples)
		failed += failures[p.name]
		if p.complex {
			worstComplex = max(worstComplex, p95)
		} else {
			worstSimple = max(worstSimple, p95)
		}
	}
	fields = append(fields, "requests="+strconv.Itoa(total), "errors="+strconv.Itoa(failed),
		"requests_per_s="+strconv.FormatFloat(float64(total)/duration.Seconds(), 'f', 1, 64),
		"simple_p95_max_ms="+strconv.FormatFloat(ms(worstSimple), 'f', 1, 64),
		"complex_p95_max_ms="+strconv.FormatFloat(ms(worstComplex), 'f', 1, 64))
	fmt.Println("attendance_bench " + strings.Join(fields, " "))
	return nil
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// signIn signs a city admin (district "") or a district admin in through
// the development sign-in.
func signIn(base, district string) (*user, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	u := &user{client: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: transport}, base: base, district: district}
	body := map[string]string{"level": "city"}
	if district != "" {
		body = map[string]string{"level": "district", "districtCode": district}
	}
	data, _ := json.Marshal(body)
	response, err := u.client.Post(base+"/api/v1/dev/sign-in", "application/json", bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		message, _ := io.ReadAll(response.Body)
		return nil, fmt.Errorf("sign in: status %d: %s (is BACKOFFICE_DEV_SIGN_IN=true?)", response.StatusCode, message)
	}
	return u, nil
}

// loadUnits reads the units one level down and the kindergartens with the
// most abnormal morning checks, for the drill-down requests.
func (u *user) loadUnits() error {
	var today struct {
		Units []struct{ Key string }
	}
	if err := u.getJSON("today", &today); err != nil {
		return err
	}
	parameter := "district="
	if u.district != "" {
		parameter = "street="
	}
	for _, unit := range today.Units {
		u.units = append(u.units, parameter+unit.Key)
	}
	var ranking struct {
		Items []struct{ Key string }
	}
	if err := u.getJSON("ranking?by=kindergarten&limit=200", &ranking); err != nil {
		return err
	}
	for _, item := range ranking.Items {
		u.kindergartens = append(u.kindergartens, item.Key)
	}
	if len(u.kindergartens) == 0 {
		return errors.New("the ranking lists no kindergarten")
	}
	sort.Strings(u.kindergartens)
	return nil
}

func (u *user) getJSON(path string, v any) error {
	response, err := u.client.Get(u.base + "/api/v1/dashboard/attendance/" + path)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, response.StatusCode)
	}
	return json.NewDecoder(response.Body).Decode(v)
}

func (u *user) get(ctx context.Context, path string) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/api/v1/dashboard/attendance/"+path, nil)
	if err != nil {
		return err
	}
	response, err := u.client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if _, err := io.Copy(io.Discard, response.Body); err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, response.StatusCode)
	}
	return nil
}
