package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// streetsPerDistrict bounds the streets a district's children live in, so
// that loading the catalogue takes a few dozen requests.
const streetsPerDistrict = 3

// maxCatalogueAttempts bounds the attempts of one catalogue request, which
// the edge may throttle because anonymous requests share one per-address
// bucket (5 per second with a burst of 30 in deploy/limits.toml).
const maxCatalogueAttempts = 10

type catalogueBody struct {
	Year struct {
		Year             int    `json:"year"`
		BirthFrom        string `json:"birthFrom"`
		BirthTo          string `json:"birthTo"`
		RegistrationOpen bool   `json:"registrationOpen"`
	} `json:"year"`
	Districts []struct {
		Code string `json:"code"`
	} `json:"districts"`
	Forms struct {
		Registration struct {
			Version int `json:"version"`
		} `json:"registration"`
	} `json:"forms"`
}

type codeBody struct {
	Code string `json:"code"`
}

// loadPopulation reads the enrolment year, the districts and a few streets
// and committees of each from the edge's public catalogue API.
func loadPopulation(ctx context.Context, baseURL string) (*population, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	var catalogue catalogueBody
	if err := getJSON(ctx, client, baseURL+"/api/v1/catalogue", &catalogue); err != nil {
		return nil, err
	}
	if !catalogue.Year.RegistrationOpen {
		return nil, fmt.Errorf("registration for %d is not open on %s: seed the database with `backoffice seed -demo` to open it now", catalogue.Year.Year, baseURL)
	}
	birthFrom, err := time.Parse(time.DateOnly, catalogue.Year.BirthFrom)
	if err != nil {
		return nil, fmt.Errorf("catalogue: invalid birthFrom %q: %w", catalogue.Year.BirthFrom, err)
	}
	birthTo, err := time.Parse(time.DateOnly, catalogue.Year.BirthTo)
	if err != nil || birthTo.Before(birthFrom) {
		return nil, fmt.Errorf("catalogue: invalid birthTo %q", catalogue.Year.BirthTo)
	}

	p := &population{
		year:          catalogue.Year.Year,
		schemaVersion: catalogue.Forms.Registration.Version,
		birthFrom:     birthFrom,
		days:          int(birthTo.Sub(birthFrom)/(24*time.Hour)) + 1,
	}
	for _, district := range catalogue.Districts {
		if !strings.HasPrefix(district.Code, "31") || len(district.Code) != 6 {
			continue // not usable as the region of a Shanghai resident ID
		}
		places, err := loadPlaces(ctx, client, baseURL, district.Code)
		if err != nil {
			return nil, err
		}
		if len(places) > 0 {
			p.places = append(p.places, places)
		}
	}
	if len(p.places) == 0 {
		return nil, fmt.Errorf("catalogue at %s has no Shanghai district with streets", baseURL)
	}
	return p, nil
}

func loadPlaces(ctx context.Context, client *http.Client, baseURL, district string) ([]place, error) {
	var streets []codeBody
	if err := getJSON(ctx, client, baseURL+"/api/v1/districts/"+district+"/streets", &streets); err != nil {
		return nil, err
	}
	places := make([]place, 0, streetsPerDistrict)
	for _, street := range streets[:min(len(streets), streetsPerDistrict)] {
		var committees []codeBody
		if err := getJSON(ctx, client, baseURL+"/api/v1/streets/"+street.Code+"/committees", &committees); err != nil {
			return nil, err
		}
		committee := ""
		if len(committees) > 0 {
			committee = committees[0].Code
		}
		places = append(places, place{district: district, street: street.Code, committee: committee})
	}
	return places, nil
}

// getJSON decodes the JSON response to GET url into v. When the edge
// throttles the request (429), it waits for the Retry-After time and retries.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	for attempt := 1; ; attempt++ {
		status, body, retryAfter, err := get(ctx, client, url)
		if err != nil {
			return err
		}
		if status == http.StatusTooManyRequests && attempt < maxCatalogueAttempts {
			time.Sleep(retryAfter)
			continue
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: status %d: %.200s", url, status, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("GET %s: invalid JSON: %w", url, err)
		}
		return nil
	}
}

func get(ctx context.Context, client *http.Client, url string) (status int, body []byte, retryAfter time.Duration, err error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, 0, err
	}
	response, err := client.Do(request)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	defer response.Body.Close()
	body, err = io.ReadAll(io.LimitReader(response.Body, 8<<20))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	retryAfter = time.Second
	if seconds, err := strconv.Atoi(response.Header.Get("Retry-After")); err == nil && seconds > 0 {
		retryAfter = time.Duration(seconds) * time.Second
	}
	return response.StatusCode, body, retryAfter, nil
}

// fixedPopulation is the population of the bare mode, which has no
// catalogue: the 16 district codes with made-up street and committee codes.
// The bare server does not validate, so only the request size matters.
func fixedPopulation() *population {
	codes := []string{"310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112",
		"310113", "310114", "310115", "310116", "310117", "310118", "310120", "310151"}
	p := &population{
		year:          2027,
		schemaVersion: 1,
		birthFrom:     time.Date(2023, time.September, 1, 0, 0, 0, 0, time.UTC),
		days:          366,
	}
	for _, code := range codes {
		var places []place
		for street := 1; street <= streetsPerDistrict; street++ {
			streetCode := fmt.Sprintf("%s%03d", code, street)
			places = append(places, place{district: code, street: streetCode, committee: streetCode + "001"})
		}
		p.places = append(p.places, places)
	}
	return p
}
