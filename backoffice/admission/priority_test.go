package admission

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

var registrationStart = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// child returns a candidate registered minutes after registrationStart.
func child(number string, minutes int, category string, choices ...int64) Candidate {
	return Candidate{
		ApplicationNumber: number, CategoryCode: category, Choices: choices,
		RegisteredAt: registrationStart.Add(time.Duration(minutes) * time.Minute),
	}
}

func withHukou(candidate Candidate, inDistrict, atResidence bool) Candidate {
	candidate.HukouInDistrict, candidate.HukouAtResidence = inDistrict, atResidence
	return candidate
}

func movedIn(candidate Candidate, date string) Candidate {
	candidate.MovedInOn, _ = time.Parse(time.DateOnly, date)
	return candidate
}

func ineligible(candidate Candidate, reason string) Candidate {
	candidate.Ineligible = reason
	return candidate
}

const (
	campusA int64 = 101
	campusB int64 = 102
	campusC int64 = 103
)

var localFirst = []string{"district_hukou_resident", "district_resident_hukou_elsewhere", "residence_permit"}

func TestProposeTable(t *testing.T) {
	cases := []struct {
		name       string
		ranking    Ranking
		seats      map[int64]int
		candidates []Candidate
		// want maps each application to its campus; a missing entry means
		// not admitted.
		want map[string]int64
	}{
		{
			name:    "registration time breaks ties",
			ranking: Ranking{Criteria: []string{}},
			seats:   map[int64]int{campusA: 2},
			candidates: []Candidate{
				child("3", 30, "residence_permit", campusA),
				child("1", 10, "residence_permit", campusA),
				child("2", 20, "residence_permit", campusA),
			},
			want: map[string]int64{"1": campusA, "2": campusA},
		},
		{
			name:    "category order before registration time",
			ranking: Ranking{CategoryOrder: localFirst, Criteria: []string{CriterionCategory}},
			seats:   map[int64]int{campusA: 2},
			candidates: []Candidate{
				child("early-permit", 1, "residence_permit", campusA),
				child("late-local", 50, "district_hukou_resident", campusA),
				child("mid-elsewhere", 20, "district_resident_hukou_elsewhere", campusA),
			},
			want: map[string]int64{"late-local": campusA, "mid-elsewhere": campusA},
		},
		{
			name:    "hukou in district then at residence",
			ranking: Ranking{Criteria: []string{CriterionHukouInDistrict, CriterionHukouAtResidence}},
			seats:   map[int64]int{campusA: 2},
			candidates: []Candidate{
				withHukou(child("outside", 1, "x", campusA), false, false),
				withHukou(child("in-apart", 2, "x", campusA), true, false),
				withHukou(child("in-at-home", 3, "x", campusA), true, true),
			},
			want: map[string]int64{"in-apart": campusA, "in-at-home": campusA},
		},
		{
			name:    "earlier move-in first and missing date last",
			ranking: Ranking{Criteria: []string{CriterionResidenceDuration}},
			seats:   map[int64]int{campusA: 2},
			candidates: []Candidate{
				child("no-date", 1, "x", campusA),
				movedIn(child("2020", 2, "x", campusA), "2020-05-01"),
				movedIn(child("2018", 3, "x", campusA), "2018-01-15"),
			},
			want: map[string]int64{"2020": campusA, "2018": campusA},
		},
		{
			name:    "first choice before second choice",
			ranking: Ranking{Criteria: []string{CriterionChoiceOrder}},
			seats:   map[int64]int{campusA: 1, campusB: 1},
			candidates: []Candidate{
				// early-b prefers B but loses it to b-first, then applies to A,
				// where late-a chose A first and keeps it.
				child("early-b", 1, "x", campusB, campusA),
				child("b-first", 2, "x", campusB),
				child("late-a", 3, "x", campusA),
			},
			want: map[string]int64{"early-b": campusB, "late-a": campusA},
		},
		{
			name:    "displaced child moves to the next choice",
			ranking: Ranking{Criteria: []string{}},
			seats:   map[int64]int{campusA: 1, campusB: 1},
			candidates: []Candidate{
				child("late", 9, "x", campusA, campusB),
				child("early", 1, "x", campusB, campusA),
				child("middle", 5, "x", campusB),
			},
			// early takes B, so middle has nothing left, and late keeps A.
			want: map[string]int64{"early": campusB, "late": campusA},
		},
		{
			name:    "higher priority displaces a held child",
			ranking: Ranking{Criteria: []string{}},
			seats:   map[int64]int{campusA: 1, campusB: 1},
			candidates: []Candidate{
				child("low", 9, "x", campusA, campusB),
				child("high", 1, "x", campusA),
			},
			want: map[string]int64{"high": campusA, "low": campusB},
		},
		{
			name:    "ineligible and campus without seats",
			ranking: Ranking{Criteria: []string{}},
			seats:   map[int64]int{campusA: 5, campusC: 0},
			candidates: []Candidate{
				ineligible(child("not-verified", 1, "x", campusA), "报名材料尚未验证通过"),
				child("no-plan", 2, "x", campusB, campusC),
				child("no-choice", 3, "x"),
				child("ok", 4, "x", campusC, campusA),
			},
			want: map[string]int64{"ok": campusA},
		},
		{
			name:    "seats exactly filled",
			ranking: Ranking{Criteria: []string{}},
			seats:   map[int64]int{campusA: 3},
			candidates: []Candidate{
				child("1", 1, "x", campusA), child("2", 2, "x", campusA), child("3", 3, "x", campusA),
				child("4", 4, "x", campusA), child("5", 5, "x", campusA),
			},
			want: map[string]int64{"1": campusA, "2": campusA, "3": campusA},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			placements := Propose(tc.ranking, tc.candidates, tc.seats)
			if len(placements) != len(tc.candidates) {
				t.Fatalf("placements = %d, want one per candidate (%d)", len(placements), len(tc.candidates))
			}
			for i, placement := range placements {
				number := tc.candidates[i].ApplicationNumber
				if placement.ApplicationNumber != number {
					t.Errorf("placement %d is for %s, want %s", i, placement.ApplicationNumber, number)
				}
				if placement.CampusID != tc.want[number] {
					t.Errorf("%s placed at %d, want %d", number, placement.CampusID, tc.want[number])
				}
				if placement.Reason == "" {
					t.Errorf("%s has no reason", number)
				}
			}
			checkProposal(t, tc.ranking, tc.candidates, tc.seats, placements)
		})
	}
}

// checkProposal checks the properties every proposal must have. Placed
// children sit at one of their choices with matching ranks, and no campus
// takes more than its seats. A child never loses a campus they prefer to a
// child of lower priority there.
func checkProposal(t *testing.T, ranking Ranking, candidates []Candidate, seats map[int64]int, placements []Placement) {
	t.Helper()
	admitted := map[int64][]int{}
	for i, placement := range placements {
		if placement.CampusID == 0 {
			continue
		}
		choice := slices.Index(candidates[i].Choices, placement.CampusID)
		if choice < 0 {
			t.Errorf("%s placed at %d, which is not among the choices %v", placement.ApplicationNumber, placement.CampusID, candidates[i].Choices)
			continue
		}
		if candidates[i].Ineligible != "" {
			t.Errorf("ineligible %s placed at %d", placement.ApplicationNumber, placement.CampusID)
		}
		if placement.ChoiceRank != choice+1 {
			t.Errorf("%s choice rank = %d, want %d", placement.ApplicationNumber, placement.ChoiceRank, choice+1)
		}
		admitted[placement.CampusID] = append(admitted[placement.CampusID], i)
	}
	for campus, children := range admitted {
		if len(children) > seats[campus] {
			t.Errorf("campus %d took %d children, over its %d seats", campus, len(children), seats[campus])
		}
		ranks := map[int]bool{}
		for _, i := range children {
			ranks[placements[i].CampusRank] = true
		}
		for rank := 1; rank <= len(children); rank++ {
			if !ranks[rank] {
				t.Errorf("campus %d ranks miss %d among %d children", campus, rank, len(children))
			}
		}
	}
	for i, candidate := range candidates {
		if candidate.Ineligible != "" {
			continue
		}
		placedAt := len(candidate.Choices)
		if placements[i].CampusID != 0 {
			placedAt = placements[i].ChoiceRank - 1
		}
		for choice, campus := range candidate.Choices[:placedAt] {
			children := admitted[campus]
			if len(children) < seats[campus] {
				t.Errorf("%s left out of campus %d (choice %d), which has %d of %d seats taken",
					candidate.ApplicationNumber, campus, choice+1, len(children), seats[campus])
			}
			for _, j := range children {
				if ranking.compare(candidate, choice+1, candidates[j], placements[j].ChoiceRank) < 0 {
					t.Errorf("%s left out of campus %d for %s, who ranks lower there",
						candidate.ApplicationNumber, campus, candidates[j].ApplicationNumber)
				}
			}
		}
	}
}

func TestProposeRandomInstances(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2026))
	categories := []string{"district_hukou_resident", "district_resident_hukou_elsewhere", "residence_permit", "foreign"}
	for instance := range 200 {
		campuses := 1 + rng.IntN(6)
		seats := map[int64]int{}
		for c := range campuses {
			seats[int64(c+1)] = rng.IntN(5)
		}
		candidates := make([]Candidate, 1+rng.IntN(40))
		for i := range candidates {
			choices := rng.Perm(campuses + 1)
			choices = choices[:1+rng.IntN(len(choices))]
			candidate := child(strconv.Itoa(i), rng.IntN(60), categories[rng.IntN(len(categories))])
			for _, c := range choices {
				// Campus campuses+1 has no seat plan.
				candidate.Choices = append(candidate.Choices, int64(c+1))
			}
			candidate = withHukou(candidate, rng.IntN(2) == 0, rng.IntN(2) == 0)
			if rng.IntN(3) > 0 {
				candidate.MovedInOn = time.Date(2015+rng.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC)
			}
			if rng.IntN(10) == 0 {
				candidate.Ineligible = "报名材料尚未验证通过"
			}
			candidates[i] = candidate
		}
		criteria := slices.Clone(defaultCriteria)
		rng.Shuffle(len(criteria), func(i, j int) { criteria[i], criteria[j] = criteria[j], criteria[i] })
		ranking := Ranking{CategoryOrder: categories[:3], Criteria: criteria[:rng.IntN(len(criteria)+1)]}

		placements := Propose(ranking, candidates, seats)
		checkProposal(t, ranking, candidates, seats, placements)

		// The outcome does not depend on the order the candidates come in.
		order := rng.Perm(len(candidates))
		shuffled := make([]Candidate, len(candidates))
		for to, from := range order {
			shuffled[to] = candidates[from]
		}
		again := Propose(ranking, shuffled, seats)
		for to, from := range order {
			if again[to].CampusID != placements[from].CampusID {
				t.Errorf("instance %d: %s placed at %d, and at %d with the candidates shuffled",
					instance, candidates[from].ApplicationNumber, placements[from].CampusID, again[to].CampusID)
			}
		}
		if t.Failed() {
			t.Fatalf("instance %d failed: ranking %+v, seats %v", instance, ranking, seats)
		}
	}
}

// BenchmarkPropose places 20,000 candidates, each with three choices, into
// 150 campuses of 100 seats under all five criteria. It measures the
// placement alone, without the database.
func BenchmarkPropose(b *testing.B) {
	rng := rand.New(rand.NewPCG(14, 1))
	seats := map[int64]int{}
	for c := range 150 {
		seats[int64(c+1)] = 100
	}
	categories := []string{"district_hukou_resident", "district_resident_hukou_elsewhere", "residence_permit"}
	candidates := make([]Candidate, 20_000)
	for i := range candidates {
		candidate := child(strconv.Itoa(i), rng.IntN(60*24*30), categories[rng.IntN(len(categories))],
			int64(1+rng.IntN(150)), int64(1+rng.IntN(150)), int64(1+rng.IntN(150)))
		candidate = withHukou(candidate, rng.IntN(2) == 0, rng.IntN(2) == 0)
		candidate.MovedInOn = time.Date(2015+rng.IntN(10), time.Month(1+rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
		candidates[i] = candidate
	}
	ranking := Ranking{CategoryOrder: categories, Criteria: defaultCriteria}
	for b.Loop() {
		Propose(ranking, candidates, seats)
	}
}
