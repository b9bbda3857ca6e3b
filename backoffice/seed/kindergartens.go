package seed

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// districtPopulation is each district's resident population in units of
// 10,000 from the 2020 census, rounded. Kindergartens are spread over the
// districts in proportion to it. The published regional totals are 668 for
// the seven central districts, 568 for 浦东新区 and 1,251 for the suburbs.
// NOTE: the single district figures are recalled, not copied from the
// bulletin. They only weight the spread, so an error of a few percent changes
// little.
var districtPopulation = map[string]int{
	"310101": 66,  // 黄浦区
	"310104": 111, // 徐汇区
	"310105": 69,  // 长宁区
	"310106": 98,  // 静安区
	"310107": 124, // 普陀区
	"310109": 76,  // 虹口区
	"310110": 124, // 杨浦区
	"310112": 265, // 闵行区
	"310113": 224, // 宝山区
	"310114": 183, // 嘉定区
	"310115": 568, // 浦东新区
	"310116": 82,  // 金山区
	"310117": 191, // 松江区
	"310118": 127, // 青浦区
	"310120": 114, // 奉贤区
	"310151": 64,  // 崇明区
}

// publicShare is the chance that a kindergarten is public.
const publicShare = 0.65

var levels = []string{"model", "level1", "level2", "level3", "unrated"}

// Level weights in per mille, in the order of levels. Private kindergartens
// are more often unrated, and at 65 % public the two mixes give about model
// 6 %, level1 25 %, level2 45 %, level3 9 % and unrated 15 % overall.
var (
	publicLevelWeights  = []int{87, 331, 477, 63, 42}
	privateLevelWeights = []int{10, 100, 400, 140, 350}
	// campusCountWeights are the chances of 1, 2 and 3 campuses, in percent,
	// for a mean of 1.44 campuses per kindergarten.
	campusCountWeights = []int{62, 32, 6}
)

// Seat ranges per grade, in seats, all in steps of 5.
const (
	minGradeSeats       = 40
	maxGradeSeats       = 200
	maxBranchGradeSeats = 120
	minNurserySeats     = 15
	maxNurserySeats     = 40
	minMixedSeats       = 10
	maxMixedSeats       = 30
	nurseryShare        = 0.40
	mixedShare          = 0.03
)

type kindergartenRow struct {
	id           int64
	orgCode      string
	name         string
	districtCode string
	streetCode   string
	ownership    string
	inclusive    bool
	level        string
}

type campusRow struct {
	id             int64
	kindergartenID int64
	name           string
	isMain         bool
	districtCode   string
	streetCode     string
	address        string
	location       point
	// Seats per grade that the yearly seat plans vary around. Zero nursery or
	// mixed seats means the campus has no such class.
	gradeSeats, nurserySeats, mixedSeats int
}

type generatedKindergartens struct {
	kindergartens []kindergartenRow
	campuses      []campusRow
}

// streetPlan is a street with the point its campuses cluster around, the
// roads they lie on and its committee count, which weights the choice of
// street.
type streetPlan struct {
	street
	stem       string // "" when the street lends its name to no kindergarten
	roads      []string
	anchor     point
	committees int
}

type kindergartenGenerator struct {
	rng      *rand.Rand
	names    nameGenerator
	orgCodes map[string]bool
	result   generatedKindergartens
}

// generateKindergartens builds options.Kindergartens kindergartens with ids
// 1..N and their campuses with ids 1..M. The first kindergarten of every
// district is public, so that every district has a campus for its matching
// rules.
func generateKindergartens(loaded *divisions, shapes map[string]*districtShape, options Options) (*generatedKindergartens, error) {
	if options.Kindergartens < len(loaded.districts) {
		return nil, fmt.Errorf("seed: invalid Kindergartens %d: it must be at least %d, one per district",
			options.Kindergartens, len(loaded.districts))
	}
	rng := newRand(options.RandomSeed, streamKindergartens)
	generator := &kindergartenGenerator{
		rng:      rng,
		names:    nameGenerator{rng: rng, used: map[string]bool{}},
		orgCodes: map[string]bool{},
	}

	streetsByDistrict, err := planStreets(rng, loaded, shapes)
	if err != nil {
		return nil, err
	}
	counts, err := apportionKindergartens(loaded.districts, options.Kindergartens)
	if err != nil {
		return nil, err
	}

	for i, d := range loaded.districts {
		var eligible []*streetPlan
		for _, plan := range streetsByDistrict[d.code] {
			if plan.committees > 0 {
				eligible = append(eligible, plan)
			}
		}
		if len(eligible) == 0 {
			return nil, fmt.Errorf("seed: district %s %s has no street with committees", d.code, d.name)
		}
		spread := campusSpreadMetres(shapes[d.code], len(streetsByDistrict[d.code]))
		for n := range counts[i] {
			if err := generator.addKindergarten(d, shapes[d.code], eligible, spread, n == 0); err != nil {
				return nil, err
			}
		}
	}
	return &generator.result, nil
}

// planStreets gives every street an anchor point inside its district and a
// few roads, in CSV order so that the draws are deterministic.
func planStreets(rng *rand.Rand, loaded *divisions, shapes map[string]*districtShape) (map[string][]*streetPlan, error) {
	committees := map[string]int{}
	for _, c := range loaded.committees {
		committees[c.streetCode]++
	}
	plans := map[string][]*streetPlan{}
	for _, s := range loaded.streets {
		anchor, err := shapes[s.districtCode].randomPoint(rng)
		if err != nil {
			return nil, err
		}
		plan := &streetPlan{street: s, anchor: anchor, committees: committees[s.code]}
		if stem, ok := streetStem(s.name); ok {
			plan.stem = stem
			plan.roads = append(plan.roads, roadFromStem(stem))
		}
		for range 3 {
			plan.roads = append(plan.roads, randomRoad(rng))
		}
		plans[s.districtCode] = append(plans[s.districtCode], plan)
	}
	return plans, nil
}

// apportionKindergartens gives every district one kindergarten and spreads
// the rest by population with the largest-remainder method, breaking ties in
// CSV order.
func apportionKindergartens(districts []district, total int) ([]int, error) {
	weightSum := 0
	for _, d := range districts {
		weight, ok := districtPopulation[d.code]
		if !ok {
			return nil, fmt.Errorf("seed: district %s %s has no population weight", d.code, d.name)
		}
		weightSum += weight
	}
	rest := total - len(districts)
	counts := make([]int, len(districts))
	remainders := make([]int, len(districts))
	assigned := 0
	for i, d := range districts {
		share := rest * districtPopulation[d.code]
		counts[i] = 1 + share/weightSum
		remainders[i] = share % weightSum
		assigned += share / weightSum
	}
	for ; assigned < rest; assigned++ {
		largest := 0
		for i := range remainders {
			if remainders[i] > remainders[largest] {
				largest = i
			}
		}
		counts[largest]++
		remainders[largest] = -1
	}
	return counts, nil
}

// campusSpreadMetres is how far a campus typically lies from its street's
// anchor: 0.3 of the side of the square that one street would fill if the
// district covered half of its bounding box.
func campusSpreadMetres(shape *districtShape, streets int) float64 {
	const metresPerDegree = 111_320
	width := (shape.maxLon - shape.minLon) * metresPerDegree * math.Cos((shape.minLat+shape.maxLat)/2*math.Pi/180)
	height := (shape.maxLat - shape.minLat) * metresPerDegree
	return 0.3 * math.Sqrt(width*height/2/float64(streets))
}

func (g *kindergartenGenerator) addKindergarten(d district, shape *districtShape, streets []*streetPlan, spread float64, forcePublic bool) error {
	rng := g.rng
	home := pickStreet(rng, streets)
	public := rng.Float64() < publicShare || forcePublic
	inclusiveDraw := rng.IntN(2) == 0
	kindergarten := kindergartenRow{
		id:           int64(len(g.result.kindergartens) + 1),
		districtCode: d.code,
		streetCode:   home.code,
		ownership:    "private",
		inclusive:    public || inclusiveDraw,
	}
	levelWeights := privateLevelWeights
	if public {
		kindergarten.ownership = "public"
		levelWeights = publicLevelWeights
	}
	kindergarten.level = levels[pickWeighted(rng, levelWeights)]
	kindergarten.name = g.names.kindergartenName(d.name, home.stem, public)
	for {
		code := randomOrgCode(rng, d.code, public)
		if !g.orgCodes[code] {
			g.orgCodes[code] = true
			kindergarten.orgCode = code
			break
		}
	}
	g.result.kindergartens = append(g.result.kindergartens, kindergarten)

	campusCount := 1 + pickWeighted(rng, campusCountWeights)
	usedNames := map[string]bool{}
	for n := range campusCount {
		isMain := n == 0
		plan := home
		if !isMain && rng.IntN(4) == 0 {
			plan = pickStreet(rng, streets)
		}
		location, err := shape.pointNear(rng, plan.anchor, spread)
		if err != nil {
			return err
		}
		road := plan.roads[rng.IntN(len(plan.roads))]
		campus := campusRow{
			id:             int64(len(g.result.campuses) + 1),
			kindergartenID: kindergarten.id,
			name:           campusName(isMain, road, usedNames),
			isMain:         isMain,
			districtCode:   d.code,
			streetCode:     plan.code,
			address:        randomAddress(rng, road),
			location:       location,
		}
		maxSeats := maxGradeSeats
		if !isMain {
			maxSeats = maxBranchGradeSeats
		}
		campus.gradeSeats = randomSeats(rng, minGradeSeats, maxSeats)
		nurseryDraw, nurserySeats := rng.Float64(), randomSeats(rng, minNurserySeats, maxNurserySeats)
		if nurseryDraw < nurseryShare {
			campus.nurserySeats = nurserySeats
		}
		mixedDraw, mixedSeats := rng.Float64(), randomSeats(rng, minMixedSeats, maxMixedSeats)
		if mixedDraw < mixedShare {
			campus.mixedSeats = mixedSeats
		}
		g.result.campuses = append(g.result.campuses, campus)
	}
	return nil
}

// campusName returns "本部" for the main campus and "{road}部" for a branch,
// or "分部", "第二分部", … when the kindergarten already has a branch on
// that road.
func campusName(isMain bool, road string, used map[string]bool) string {
	candidates := []string{"本部"}
	if !isMain {
		candidates = []string{road + "部", "分部"}
	}
	for _, name := range candidates {
		if !used[name] {
			used[name] = true
			return name
		}
	}
	for n := 2; ; n++ {
		name := "第" + chineseNumeral(n) + "分部"
		if !used[name] {
			used[name] = true
			return name
		}
	}
}

// pickStreet draws a street with a chance proportional to its committees, a
// stand-in for its population.
func pickStreet(rng *rand.Rand, streets []*streetPlan) *streetPlan {
	weights := make([]int, len(streets))
	for i, plan := range streets {
		weights[i] = plan.committees
	}
	return streets[pickWeighted(rng, weights)]
}

// pickWeighted returns index i with a chance of weights[i] / sum(weights).
// The weights must not be negative and must not all be zero.
func pickWeighted(rng *rand.Rand, weights []int) int {
	total := 0
	for _, weight := range weights {
		total += weight
	}
	draw := rng.IntN(total)
	for i, weight := range weights {
		if draw < weight {
			return i
		}
		draw -= weight
	}
	panic("seed: pickWeighted: draw outside the weights") // unreachable: draw < total
}

// randomSeats returns a multiple of 5 between minSeats and maxSeats.
func randomSeats(rng *rand.Rand, minSeats, maxSeats int) int {
	return minSeats + 5*rng.IntN((maxSeats-minSeats)/5+1)
}

// insertKindergartens inserts the generated kindergartens and campuses with
// their fixed ids. Rows whose id or org_code exists are skipped, so a second
// run changes nothing. The identity sequences are then moved past the largest
// id, so rows added later through the back office do not collide.
//
// NOTE: rows are matched by id only. A run with another Kindergartens or
// RandomSeed than the first one keeps the old rows under the ids they share
// and adds campuses and seat plans that may point at kindergartens of the
// first run.
func insertKindergartens(ctx context.Context, tx *sqlx.Tx, generated *generatedKindergartens) error {
	var (
		ids                                                                 []int64
		orgCodes, names, districtCodes, streetCodes, ownerships, levelCodes []string
		inclusive                                                           []bool
	)
	for _, k := range generated.kindergartens {
		ids = append(ids, k.id)
		orgCodes = append(orgCodes, k.orgCode)
		names = append(names, k.name)
		districtCodes = append(districtCodes, k.districtCode)
		streetCodes = append(streetCodes, k.streetCode)
		ownerships = append(ownerships, k.ownership)
		inclusive = append(inclusive, k.inclusive)
		levelCodes = append(levelCodes, k.level)
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO kindergarten (id, org_code, name, district_code, street_code, ownership, inclusive, level)
		SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[])
		ON CONFLICT DO NOTHING`,
		ids, orgCodes, names, districtCodes, streetCodes, ownerships, inclusive, levelCodes)
	if err != nil {
		return fmt.Errorf("seed: insert kindergartens: %w", err)
	}

	var (
		campusIDs, kindergartenIDs                                         []int64
		campusNames, campusDistricts, campusStreets, addresses, lons, lats []string
		isMain                                                             []bool
	)
	for _, c := range generated.campuses {
		campusIDs = append(campusIDs, c.id)
		kindergartenIDs = append(kindergartenIDs, c.kindergartenID)
		campusNames = append(campusNames, c.name)
		isMain = append(isMain, c.isMain)
		campusDistricts = append(campusDistricts, c.districtCode)
		campusStreets = append(campusStreets, c.streetCode)
		addresses = append(addresses, c.address)
		// Decimal strings keep the exact 6-decimal values that were checked
		// against the district polygon.
		lons = append(lons, strconv.FormatFloat(c.location.lon, 'f', 6, 64))
		lats = append(lats, strconv.FormatFloat(c.location.lat, 'f', 6, 64))
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO campus (id, kindergarten_id, name, is_main, district_code, street_code, address, longitude, latitude)
		SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::bool[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::numeric[])
		ON CONFLICT DO NOTHING`,
		campusIDs, kindergartenIDs, campusNames, isMain, campusDistricts, campusStreets, addresses, lons, lats)
	if err != nil {
		return fmt.Errorf("seed: insert campuses: %w", err)
	}

	for _, table := range []string{"kindergarten", "campus"} {
		// The table names are the constants above, never input.
		_, err := tx.ExecContext(ctx, `
			SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), max_id)
			FROM (SELECT max(id) AS max_id FROM `+table+`) AS t
			WHERE max_id IS NOT NULL`)
		if err != nil {
			return fmt.Errorf("seed: move the %s id sequence past the seeded ids: %w", table, err)
		}
	}
	return nil
}
