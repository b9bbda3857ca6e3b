// Command dashboards loads the back office's dashboard APIs the way staff
// use them. Each simulated user signs in through the development sign-in,
// a third as city admins and the rest as district admins of the 16
// districts. Then it requests enrolment and development panels in turn,
// with no pause, until the duration ends. It prints each panel's p95 and
// then one line of name=value figures.
//
// The back office must run with BACKOFFICE_DEV_SIGN_IN=true and hold
// generated data (backoffice dashboard generate-enrolment, and the figures
// that backoffice seed generates).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// panel is one dashboard API call. Complex panels cross several
// dimensions or periods: trends with drill-down, report queries and the
// alert evaluation. Simple ones show one figure, list or chart over one
// dimension.
type panel struct {
	name    string
	path    string
	complex bool
	// districtLevel panels take the user's district as the drill-down.
	districtLevel bool
}

var panels = []panel{
	{name: "registration_summary", path: "/api/v1/dashboard/enrolment/registration/summary"},
	{name: "application_summary", path: "/api/v1/dashboard/enrolment/application/summary"},
	{name: "admission_summary", path: "/api/v1/dashboard/enrolment/admission/summary"},
	{name: "registration_history", path: "/api/v1/dashboard/enrolment/registration/history"},
	{name: "nursery", path: "/api/v1/dashboard/enrolment/nursery"},
	{name: "kindergartens", path: "/api/v1/dashboard/development/kindergartens"},
	{name: "children", path: "/api/v1/dashboard/development/children"},
	{name: "class_sizes", path: "/api/v1/dashboard/development/class-sizes"},
	{name: "street_registrations", path: "/api/v1/dashboard/enrolment/registration/summary", districtLevel: true},
	{name: "registration_trend", path: "/api/v1/dashboard/enrolment/registration/trend", complex: true},
	{name: "month_trend_district", path: "/api/v1/dashboard/enrolment/application/trend?period=month", complex: true, districtLevel: true},
	{name: "overview", path: "/api/v1/dashboard/enrolment/overview", complex: true},
	{name: "report", path: "/api/v1/dashboard/enrolment/report?kind=application&group=other_province,hmt_foreign&status=admitted,recorded", complex: true},
	{name: "coverage", path: "/api/v1/dashboard/development/coverage", complex: true},
	{name: "workforce", path: "/api/v1/dashboard/development/workforce", complex: true},
	{name: "alerts", path: "/api/v1/dashboard/alerts", complex: true},
	{name: "state", path: "/api/v1/dashboard/enrolment/state"},
	{name: "system", path: "/api/v1/dashboard/system"},
	{name: "visits", path: "/api/v1/dashboard/system/visits"},
	{name: "opinion", path: "/api/v1/dashboard/enrolment/opinion", complex: true},
	{name: "certificates", path: "/api/v1/dashboard/enrolment/certificates", complex: true},
}

var districts = []string{
	"310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112",
	"310113", "310114", "310115", "310116", "310117", "310118", "310120", "310151",
}

// maxReportedFailures bounds the failed requests printed; the summary
// counts them all.
const maxReportedFailures = 10

var reportedFailures atomic.Int64

type sample struct {
	panel    int
	duration time.Duration
	failed   bool
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("base", "http://127.0.0.1:8081", "back-office base URL")
	users := flag.Int("users", 120, "concurrent staff users")
	duration := flag.Duration("duration", 60*time.Second, "how long the load runs")
	warmup := flag.Duration("warmup", 5*time.Second, "load before measuring, not counted")
	flag.Parse()
	if *users < 1 {
		return errors.New("-users must be at least 1")
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *users}}
	cookies := make([]string, *users)
	userDistricts := make([]string, *users)
	for i := range cookies {
		body := `{"level":"city"}`
		userDistricts[i] = districts[i%len(districts)]
		if i%3 != 0 {
			body = `{"level":"district","districtCode":"` + userDistricts[i] + `"}`
		}
		cookie, err := signIn(client, *base, body)
		if err != nil {
			return fmt.Errorf("sign in user %d: %w", i, err)
		}
		cookies[i] = cookie
	}

	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration)
	defer cancel()
	measureFrom := time.Now().Add(*warmup)
	results := make(chan []sample, *users)
	var wg sync.WaitGroup
	for i := range *users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- loop(ctx, client, *base, cookies[i], userDistricts[i], i%3 == 0, measureFrom, uint64(i))
		}()
	}
	wg.Wait()
	close(results)

	byPanel := make([][]time.Duration, len(panels))
	var simple, complexDurations []time.Duration
	failures := 0
	total := 0
	for samples := range results {
		for _, s := range samples {
			total++
			if s.failed {
				failures++
				continue
			}
			byPanel[s.panel] = append(byPanel[s.panel], s.duration)
			if panels[s.panel].complex {
				complexDurations = append(complexDurations, s.duration)
			} else {
				simple = append(simple, s.duration)
			}
		}
	}

	worstSimple, worstComplex := time.Duration(0), time.Duration(0)
	for i, p := range panels {
		p95 := percentile(byPanel[i], 0.95)
		kind := "simple"
		if p.complex {
			kind = "complex"
			worstComplex = max(worstComplex, p95)
		} else {
			worstSimple = max(worstSimple, p95)
		}
		fmt.Fprintf(os.Stderr, "%-22s %-7s requests=%-6d p50_ms=%-7.1f p95_ms=%.1f\n", p.name, kind, len(byPanel[i]),
			milliseconds(percentile(byPanel[i], 0.5)), milliseconds(p95))
	}
	fmt.Printf("dashboards users=%d seconds=%.0f requests=%d errors=%d per_second=%.0f simple_p95_ms=%.1f complex_p95_ms=%.1f worst_simple_panel_p95_ms=%.1f worst_complex_panel_p95_ms=%.1f\n",
		*users, duration.Seconds(), total, failures, float64(total)/duration.Seconds(),
		milliseconds(percentile(simple, 0.95)), milliseconds(percentile(complexDurations, 0.95)),
		milliseconds(worstSimple), milliseconds(worstComplex))
	if failures > 0 {
		return fmt.Errorf("%d of %d requests failed", failures, total)
	}
	return nil
}

// loop requests panels in a shuffled order per round until ctx ends, and
// returns the samples taken after measureFrom.
func loop(ctx context.Context, client *http.Client, base, cookie, district string, city bool, measureFrom time.Time, seed uint64) []sample {
	random := rand.New(rand.NewPCG(seed, 7))
	order := make([]int, len(panels))
	for i := range order {
		order[i] = i
	}
	var samples []sample
	for ctx.Err() == nil {
		random.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, index := range order {
			p := panels[index]
			url := base + p.path
			if p.districtLevel && city {
				separator := "?"
				if strings.Contains(url, "?") {
					separator = "&"
				}
				url += separator + "district=" + district
			}
			started := time.Now()
			failed := get(ctx, client, url, cookie) != nil
			if ctx.Err() != nil {
				return samples
			}
			if started.After(measureFrom) {
				samples = append(samples, sample{panel: index, duration: time.Since(started), failed: failed})
			}
		}
	}
	return samples
}

func get(ctx context.Context, client *http.Client, url, cookie string) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	request.Header.Set("Cookie", cookie)
	response, err := client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if _, err := io.Copy(io.Discard, response.Body); err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK {
		if ctx.Err() == nil && reportedFailures.Add(1) <= maxReportedFailures {
			fmt.Fprintf(os.Stderr, "GET %s: HTTP %d\n", url, response.StatusCode)
		}
		return fmt.Errorf("HTTP %d", response.StatusCode)
	}
	return nil
}

func signIn(client *http.Client, base, body string) (string, error) {
	response, err := client.Post(base+"/api/v1/dev/sign-in", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(response.Body)
		return "", fmt.Errorf("HTTP %d: %s (is BACKOFFICE_DEV_SIGN_IN=true?)", response.StatusCode, data)
	}
	for _, cookie := range response.Cookies() {
		if cookie.Value != "" {
			return cookie.Name + "=" + cookie.Value, nil
		}
	}
	return "", errors.New("the sign-in set no cookie")
}

func percentile(durations []time.Duration, p float64) time.Duration {
	if len(durations) == 0 {
		return 0
	}
	sorted := slices.Clone(durations)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	index := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(index, 0), len(sorted)-1)]
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
