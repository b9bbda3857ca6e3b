package admission

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Priority criteria a district may order. Registration time, then the
// application number, break the ties that remain after them.
const (
	// CriterionCategory ranks by the application's household category in
	// the rule's category order.
	CriterionCategory = "category"
	// CriterionHukouInDistrict puts children with a hukou in the district
	// first.
	CriterionHukouInDistrict = "hukou_in_district"
	// CriterionHukouAtResidence puts children who live at their hukou
	// address in the district (人户一致) first.
	CriterionHukouAtResidence = "hukou_at_residence"
	// CriterionResidenceDuration puts the earliest move-in date (the form
	// field moveInDate) first, and children without one last.
	CriterionResidenceDuration = "residence_duration"
	// CriterionChoiceOrder puts children who chose the campus as an earlier
	// choice first (志愿优先).
	CriterionChoiceOrder = "choice_order"
)

// criterionNames are the Chinese names of the criteria, in the order the
// rule page offers them.
var criterionNames = []struct{ Code, Name string }{
	{CriterionCategory, "户籍类别顺序"},
	{CriterionHukouInDistrict, "本区户籍优先"},
	{CriterionHukouAtResidence, "本区人户一致优先"},
	{CriterionResidenceDuration, "居住时间长优先"},
	{CriterionChoiceOrder, "志愿顺序优先"},
}

func criterionName(code string) (string, bool) {
	for _, criterion := range criterionNames {
		if criterion.Code == code {
			return criterion.Name, true
		}
	}
	return "", false
}

// Candidate is one application as the proposal ranks it.
type Candidate struct {
	ApplicationNumber string
	CategoryCode      string
	// Choices are the campus IDs in the family's order of preference.
	Choices          []int64
	HukouInDistrict  bool
	HukouAtResidence bool
	// MovedInOn is the move-in date at the current address; the zero time
	// means the family did not give one.
	MovedInOn    time.Time
	RegisteredAt time.Time
	// Ineligible, when not empty, is the Chinese reason the application
	// takes no part in the ranking.
	Ineligible string
}

// Placement is the proposal's outcome for one candidate. CampusID is 0
// when the child is not admitted. ChoiceRank and CampusRank count from 1.
type Placement struct {
	ApplicationNumber string
	CampusID          int64
	ChoiceRank        int
	CampusRank        int
	Reason            string
}

// Ranking orders candidates by a rule's criteria.
type Ranking struct {
	CategoryOrder []string
	Criteria      []string
}

// key returns a candidate's priority key at the campus it chose as choice
// number choiceRank. A smaller key is a higher priority.
func (r Ranking) key(candidate Candidate, choiceRank int) []int64 {
	key := make([]int64, 0, len(r.Criteria)+1)
	for _, criterion := range r.Criteria {
		switch criterion {
		case CriterionCategory:
			position := slices.Index(r.CategoryOrder, candidate.CategoryCode)
			if position < 0 {
				position = len(r.CategoryOrder)
			}
			key = append(key, int64(position))
		case CriterionHukouInDistrict:
			key = append(key, boolRank(candidate.HukouInDistrict))
		case CriterionHukouAtResidence:
			key = append(key, boolRank(candidate.HukouAtResidence))
		case CriterionResidenceDuration:
			if candidate.MovedInOn.IsZero() {
				key = append(key, 1<<62)
			} else {
				key = append(key, candidate.MovedInOn.Unix())
			}
		case CriterionChoiceOrder:
			key = append(key, int64(choiceRank))
		}
	}
	return append(key, candidate.RegisteredAt.UnixMicro())
}

func boolRank(first bool) int64 {
	if first {
		return 0
	}
	return 1
}

// compare orders two candidates at one campus, the number breaking a tie
// of equal keys.
func (r Ranking) compare(a Candidate, aRank int, b Candidate, bRank int) int {
	if order := slices.Compare(r.key(a, aRank), r.key(b, bRank)); order != 0 {
		return order
	}
	return cmp.Compare(a.ApplicationNumber, b.ApplicationNumber)
}

// Propose places candidates into campuses by child-proposing deferred
// acceptance: each child asks the next campus of their choices, and each
// campus keeps the seats[campus] children of highest priority among those
// who asked and turns away the rest. It stops when every child turned away
// has no choice left. The result does not depend on the order of candidates. No
// campus takes more than its seats, and a child who is not placed at a
// campus they prefer to their placement ranks below every child that
// campus took. Placements come back in the order of candidates.
func Propose(ranking Ranking, candidates []Candidate, seats map[int64]int) []Placement {
	placements := make([]Placement, len(candidates))
	next := make([]int, len(candidates))
	tentative := map[int64][]int{}
	var waiting []int
	for i, candidate := range candidates {
		placements[i].ApplicationNumber = candidate.ApplicationNumber
		if candidate.Ineligible == "" {
			waiting = append(waiting, i)
		}
	}

	for len(waiting) > 0 {
		i := waiting[len(waiting)-1]
		waiting = waiting[:len(waiting)-1]
		candidate := candidates[i]
		if next[i] >= len(candidate.Choices) {
			continue
		}
		campus := candidate.Choices[next[i]]
		next[i]++
		capacity := seats[campus]
		if capacity <= 0 {
			waiting = append(waiting, i)
			continue
		}
		// Insert i into the campus's list, which stays sorted by priority.
		list := tentative[campus]
		position, _ := slices.BinarySearchFunc(list, i, func(j, target int) int {
			return ranking.compare(candidates[j], next[j], candidates[target], next[target])
		})
		list = slices.Insert(list, position, i)
		if len(list) > capacity {
			waiting = append(waiting, list[capacity])
			list = list[:capacity]
		}
		tentative[campus] = list
	}

	for campus, list := range tentative {
		for rank, i := range list {
			placements[i].CampusID = campus
			placements[i].ChoiceRank = next[i]
			placements[i].CampusRank = rank + 1
			placements[i].Reason = "第" + strconv.Itoa(next[i]) + "志愿录取，本园第 " + strconv.Itoa(rank+1) + " 名（计划 " +
				strconv.Itoa(seats[campus]) + " 个学位）"
		}
	}
	for i, candidate := range candidates {
		switch {
		case candidate.Ineligible != "":
			placements[i].Reason = candidate.Ineligible
		case placements[i].CampusID == 0 && len(candidate.Choices) == 0:
			placements[i].Reason = "未填报志愿"
		case placements[i].CampusID == 0:
			placements[i].Reason = "所填志愿均已录满，或所填办园点无招生计划"
		}
	}
	return placements
}
