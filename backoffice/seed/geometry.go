package seed

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/sh-preschool/preschool/migrations"
)

// point is a WGS 84 position in degrees.
type point struct {
	lon, lat float64
}

// polygon is a GeoJSON polygon: the outer ring followed by its holes.
type polygon [][]point

// districtShape is the boundary of one district from districts.geojson, with
// its bounding box.
type districtShape struct {
	code, name                     string
	polygons                       []polygon
	minLon, minLat, maxLon, maxLat float64
}

const districtsGeoJSON = "seed/shanghai/districts.geojson"

// readDistrictShapes parses districts.geojson and returns the shape of every
// district, keyed by district code. It fails when a district has no feature.
func readDistrictShapes(districts []district) (map[string]*districtShape, error) {
	body, err := migrations.Seed.ReadFile(districtsGeoJSON)
	if err != nil {
		return nil, fmt.Errorf("seed: read %s: %w", districtsGeoJSON, err)
	}
	var collection struct {
		Features []struct {
			Properties struct {
				Name string `json:"name"`
				Code string `json:"code"`
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &collection); err != nil {
		return nil, fmt.Errorf("seed: parse %s: %w", districtsGeoJSON, err)
	}

	shapes := map[string]*districtShape{}
	for _, feature := range collection.Features {
		code := feature.Properties.Code
		var rawPolygons [][][][]float64
		switch feature.Geometry.Type {
		case "Polygon":
			var rings [][][]float64
			if err := json.Unmarshal(feature.Geometry.Coordinates, &rings); err != nil {
				return nil, fmt.Errorf("seed: %s: district %s: invalid Polygon: %w", districtsGeoJSON, code, err)
			}
			rawPolygons = [][][][]float64{rings}
		case "MultiPolygon":
			if err := json.Unmarshal(feature.Geometry.Coordinates, &rawPolygons); err != nil {
				return nil, fmt.Errorf("seed: %s: district %s: invalid MultiPolygon: %w", districtsGeoJSON, code, err)
			}
		default:
			return nil, fmt.Errorf("seed: %s: district %s has geometry type %q, expected Polygon or MultiPolygon",
				districtsGeoJSON, code, feature.Geometry.Type)
		}
		shape, err := newDistrictShape(code, feature.Properties.Name, rawPolygons)
		if err != nil {
			return nil, fmt.Errorf("seed: %s: %w", districtsGeoJSON, err)
		}
		shapes[code] = shape
	}

	for _, d := range districts {
		if shapes[d.code] == nil {
			return nil, fmt.Errorf("seed: %s has no feature for district %s %s", districtsGeoJSON, d.code, d.name)
		}
	}
	return shapes, nil
}

func newDistrictShape(code, name string, rawPolygons [][][][]float64) (*districtShape, error) {
	shape := &districtShape{
		code: code, name: name,
		minLon: math.Inf(1), minLat: math.Inf(1), maxLon: math.Inf(-1), maxLat: math.Inf(-1),
	}
	for _, rawRings := range rawPolygons {
		var rings polygon
		for _, rawRing := range rawRings {
			if len(rawRing) < 4 {
				return nil, fmt.Errorf("district %s has a ring of %d positions, expected at least 4", code, len(rawRing))
			}
			ring := make([]point, 0, len(rawRing))
			for _, position := range rawRing {
				if len(position) < 2 {
					return nil, fmt.Errorf("district %s has a position with %d numbers, expected 2", code, len(position))
				}
				p := point{lon: position[0], lat: position[1]}
				ring = append(ring, p)
				shape.minLon = math.Min(shape.minLon, p.lon)
				shape.maxLon = math.Max(shape.maxLon, p.lon)
				shape.minLat = math.Min(shape.minLat, p.lat)
				shape.maxLat = math.Max(shape.maxLat, p.lat)
			}
			rings = append(rings, ring)
		}
		if len(rings) > 0 {
			shape.polygons = append(shape.polygons, rings)
		}
	}
	if len(shape.polygons) == 0 {
		return nil, fmt.Errorf("district %s has no polygon", code)
	}
	return shape, nil
}

// contains reports whether p lies inside one of the shape's polygons and
// outside that polygon's holes.
func (s *districtShape) contains(p point) bool {
	if p.lon < s.minLon || p.lon > s.maxLon || p.lat < s.minLat || p.lat > s.maxLat {
		return false
	}
	for _, rings := range s.polygons {
		if polygonContains(rings, p) {
			return true
		}
	}
	return false
}

// polygonContains casts a ray from p towards +longitude and counts the edges
// it crosses over every ring. With the even-odd rule, a point inside a hole
// crosses the hole's ring too and counts as outside.
func polygonContains(rings polygon, p point) bool {
	inside := false
	for _, ring := range rings {
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			a, b := ring[i], ring[j]
			if (a.lat > p.lat) == (b.lat > p.lat) {
				continue
			}
			crossingLon := a.lon + (p.lat-a.lat)*(b.lon-a.lon)/(b.lat-a.lat)
			if p.lon < crossingLon {
				inside = !inside
			}
		}
	}
	return inside
}

// districtAt returns the code of the district whose shape contains p, trying
// the codes in ascending order, or "" when p lies in no district.
func districtAt(shapes map[string]*districtShape, p point) string {
	codes := make([]string, 0, len(shapes))
	for code := range shapes {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if shapes[code].contains(p) {
			return code
		}
	}
	return ""
}

// maxSamplingAttempts bounds rejection sampling. Every district in
// districts.geojson fills more than 30 % of its bounding box (崇明区 is the
// lowest at 31 %), so this many misses in a row never happen in practice.
const maxSamplingAttempts = 10_000

// randomPoint draws points uniformly from the bounding box until one falls
// inside the shape. Coordinates are rounded to the 6 decimals that the campus
// columns store before the check, so the stored point is inside too.
func (s *districtShape) randomPoint(rng *rand.Rand) (point, error) {
	for range maxSamplingAttempts {
		p := roundPoint(point{
			lon: s.minLon + rng.Float64()*(s.maxLon-s.minLon),
			lat: s.minLat + rng.Float64()*(s.maxLat-s.minLat),
		})
		if s.contains(p) {
			return p, nil
		}
	}
	return point{}, fmt.Errorf("seed: no point inside district %s after %d attempts", s.code, maxSamplingAttempts)
}

// pointNear draws a point around centre with a normal spread of about
// spreadMetres, inside the shape. After a few misses, which happen near the
// coast or a border, it falls back to randomPoint.
func (s *districtShape) pointNear(rng *rand.Rand, centre point, spreadMetres float64) (point, error) {
	const metresPerDegree = 111_320
	latSpread := spreadMetres / metresPerDegree
	lonSpread := latSpread / math.Cos(centre.lat*math.Pi/180)
	for range 50 {
		p := roundPoint(point{
			lon: centre.lon + rng.NormFloat64()*lonSpread,
			lat: centre.lat + rng.NormFloat64()*latSpread,
		})
		if s.contains(p) {
			return p, nil
		}
	}
	return s.randomPoint(rng)
}

func roundPoint(p point) point {
	return point{lon: math.Round(p.lon*1e6) / 1e6, lat: math.Round(p.lat*1e6) / 1e6}
}

// squaredDistance is proportional to the squared distance between a and b
// over the few kilometres of a district, with longitude scaled to the
// latitude.
func squaredDistance(a, b point) float64 {
	dLon := (a.lon - b.lon) * math.Cos((a.lat+b.lat)/2*math.Pi/180)
	dLat := a.lat - b.lat
	return dLon*dLon + dLat*dLat
}
